using UNet.Segmentation.Web.Tests;
using UNet.Segmentation.Web.Tests.Support;

[assembly: AssemblyFixture(typeof(AspNetCoreTemp))]

namespace UNet.Segmentation.Web.Tests;

/// <summary>
/// Points ASP.NET Core's temporary folder (ASPNETCORE_TEMP, read once when first needed) at an empty
/// folder of these tests before any test runs, so that whatever would buffer to disk lands there.
/// </summary>
public sealed class AspNetCoreTemp : IDisposable
{
    public AspNetCoreTemp()
    {
        Folder = Directory.CreateTempSubdirectory("unet-web-aspnet-temp-").FullName;
        Environment.SetEnvironmentVariable("ASPNETCORE_TEMP", Folder);
    }

    public string Folder { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>
/// Uploads are never written to disk. ASP.NET Core's one place for request data on disk is its
/// temporary folder (form files over the buffer threshold, buffered bodies): it is pointed at an
/// empty folder of these tests' own, watched while large uploads are served.
/// </summary>
public sealed class NoDiskTests(AspNetCoreTemp temp)
{
    private string TempFolder => temp.Folder;

    [Fact]
    public async Task LargeUploads_MultipartAndRaw_LeaveNothingInAspNetCoresTemporaryFolder()
    {
        await using var service = new ServiceFactory();
        using var client = service.CreateClient();
        var created = new List<string>();
        using var watcher = new FileSystemWatcher(TempFolder) { IncludeSubdirectories = true, EnableRaisingEvents = true };
        watcher.Created += (_, e) => { lock (created) created.Add(e.FullPath); };
        var token = TestContext.Current.CancellationToken;

        var png = TestImages.GreyPng(700, 700, seed: 2); // well over the form feature's 64 KiB default memory threshold
        Assert.True(png.Length > 256 * 1024, $"the upload is {png.Length} bytes");
        var multipart = await Answers.Success(await client.PostAsync("/segment", Answers.Multipart(png), token));
        var raw = await Answers.Success(await client.PostAsync("/segment", Answers.Raw(png), token));

        Assert.Equal(700, multipart.GetProperty("width").GetInt32());
        Assert.Equal(700, raw.GetProperty("width").GetInt32());
        Assert.Empty(created);
        Assert.Empty(Directory.EnumerateFileSystemEntries(TempFolder));
    }
}
