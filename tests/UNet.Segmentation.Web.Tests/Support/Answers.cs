using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using UNet.Segmentation.Imaging;

namespace UNet.Segmentation.Web.Tests.Support;

/// <summary>Requests the tests send and what they check in the answers.</summary>
internal static class Answers
{
    /// <summary>A multipart/form-data body with one file part.</summary>
    public static MultipartFormDataContent Multipart(byte[] file, string field = "image", string fileName = "slice.png", string contentType = "image/png")
    {
        var part = new ByteArrayContent(file);
        part.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return new MultipartFormDataContent { { part, field, fileName } };
    }

    /// <summary>A raw body with a content type.</summary>
    public static ByteArrayContent Raw(byte[] file, string contentType = "application/octet-stream")
    {
        var content = new ByteArrayContent(file);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    /// <summary>Asserts a 200 JSON answer and parses it.</summary>
    public static async Task<JsonElement> Success(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"expected 200, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// Asserts an RFC 7807 answer: the status, application/problem+json, the problem type, a detail
    /// holding every one of <paramref name="detailHas"/>, and no stack trace anywhere in it.
    /// </summary>
    public static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode status, string kind, params string[] detailHas)
    {
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Equal("urn:unet-segmentation:problem:" + kind, problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        string detail = problem.GetProperty("detail").GetString() ?? "";
        foreach (string part in detailHas) Assert.Contains(part, detail);
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain(".cs:line", text);
        return problem;
    }

    /// <summary>The class mask of a /segment answer: its maskPng decoded (grey, value = class).</summary>
    public static byte[] Mask(JsonElement answer)
    {
        var png = answer.GetProperty("maskPng").GetBytesFromBase64();
        using var stream = new MemoryStream(png);
        var image = ImageFiles.Read(stream, "maskPng");
        Assert.Equal(1, image.Channels);
        Assert.Equal(answer.GetProperty("width").GetInt32(), image.Width);
        Assert.Equal(answer.GetProperty("height").GetInt32(), image.Height);
        return image.Samples.Select(s => (byte)s).ToArray();
    }
}
