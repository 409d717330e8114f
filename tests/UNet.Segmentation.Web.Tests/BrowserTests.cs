using UNet.Segmentation.Tests.Shared;
using Microsoft.Playwright;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>
/// End to end in a real headless Chromium (Debian's chromium package, driven by Playwright for
/// .NET): the service on Kestrel on a free port, the page opened, an image chosen in its file input,
/// and the mask and overlay the page shows read back from its pixels and compared with the
/// library predictor's for that image. Without /usr/bin/chromium the tests skip, or fail when
/// UNET_REQUIRE_BROWSER=1 (CI).
/// </summary>
public sealed class BrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    private static void RequireBrowser() =>
        Requirement.SkipWhen(!File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (scripts/setup.sh does)", Requirement.Browser);

    [Fact]
    public Task ASyntheticSlice_ChosenInThePage_ShowsThePredictorsMaskAndOverlay() =>
        UploadInThePage(TestImages.GreyPng(160, 200, seed: 4), "synthetic.png");

    [Fact]
    public Task AnIsbiSlice_ChosenInThePage_ShowsThePredictorsMaskAndOverlay()
    {
        RequireBrowser();
        string? folder = TestImages.IsbiFolder();
        if (folder is null) Requirement.Skip("ISBI2012_DIR is not set: the real ISBI 2012 slice was not uploaded in the browser (the synthetic one was)");
        return UploadInThePage(TestImages.IsbiSlicePng(folder, 3), "train-volume-page-4.png");
    }

    [Fact]
    public async Task ATextFileNamedPng_ShowsTheProblemsDetailInThePage()
    {
        RequireBrowser();
        await using var service = new ServiceFactory();
        await using var session = await BrowserSession.OpenAsync(service.StartOnKestrel());
        await session.Page.SetInputFilesAsync("#file", new FilePayload { Name = "notes.png", MimeType = "image/png", Buffer = "just text"u8.ToArray() });
        Assert.Equal("error", await session.FinishedStateAsync());
        string error = await session.Page.InnerTextAsync("#error");
        Assert.Contains("415", error);
        Assert.Contains("not a PNG, JPEG or TIFF", error);
        Assert.Contains("notes.png", error);
    }

    private static async Task UploadInThePage(byte[] png, string name)
    {
        RequireBrowser();
        await using var service = new ServiceFactory();
        await using var session = await BrowserSession.OpenAsync(service.StartOnKestrel());
        var expected = TestModels.PredictOnnx(png);

        await session.Page.SetInputFilesAsync("#file", new FilePayload { Name = name, MimeType = "image/png", Buffer = png });
        string state = await session.FinishedStateAsync();
        Assert.True(state == "done", $"the page ended in '{state}': {await session.Page.InnerTextAsync("#error")}");

        int classes = int.Parse(await session.Page.GetAttributeAsync("#mask", "data-classes") ?? "0");
        Assert.Equal(expected.Classes, classes);
        var shown = await session.Page.EvaluateAsync<int[]>(
            "() => { const c = document.getElementById('mask'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;" +
            " const out = new Array(c.width * c.height); for (let i = 0; i < out.length; i++) out[i] = d[4 * i]; return out; }");
        // The page shows class k as the grey level round(255 k / (K - 1)).
        var mask = shown.Select(v => (byte)Math.Round(v * (classes - 1) / 255.0)).ToArray();
        Assert.Equal(expected.Mask.Length, mask.Length);
        Assert.Equal(expected.Mask, mask);
        Assert.True(expected.Mask.Distinct().Count() > 1, "a mask of one class would not show that pixels are compared in place");

        var overlay = await session.Page.EvaluateAsync<int[]>(
            "() => { const img = document.getElementById('overlay'); const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;" +
            " const g = c.getContext('2d'); g.drawImage(img, 0, 0); const d = g.getImageData(0, 0, c.width, c.height).data;" +
            " const out = new Array(c.width * c.height * 3); for (let i = 0, o = 0; i < d.length; i += 4) { out[o++] = d[i]; out[o++] = d[i + 1]; out[o++] = d[i + 2]; } return out; }");
        using var stream = new MemoryStream(expected.OverlayPng!);
        var expectedOverlay = ImageFiles.Read(stream, "overlay");
        Assert.Equal(expectedOverlay.Samples.Select(s => (int)s).ToArray(), overlay);
    }

    /// <summary>Playwright, Chromium and one page opened on the service.</summary>
    private sealed class BrowserSession : IAsyncDisposable
    {
        private IPlaywright _playwright = null!;
        private IBrowser _browser = null!;

        public IPage Page { get; private set; } = null!;

        public static async Task<BrowserSession> OpenAsync(Uri address)
        {
            var session = new BrowserSession { _playwright = await Playwright.CreateAsync() };
            session._browser = await session._playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true });
            session.Page = await session._browser.NewPageAsync();
            var response = await session.Page.GotoAsync(address.ToString());
            Assert.Equal(200, response?.Status);
            return session;
        }

        /// <summary>Waits until the page says it is done or failed (body data-state), and gives which.</summary>
        public async Task<string> FinishedStateAsync()
        {
            await Page.WaitForFunctionAsync("() => ['done', 'error'].includes(document.body.dataset.state)", null, new() { Timeout = 120_000 });
            return await Page.EvaluateAsync<string>("() => document.body.dataset.state");
        }

        public async ValueTask DisposeAsync()
        {
            if (_browser is not null) await _browser.DisposeAsync();
            _playwright?.Dispose();
        }
    }
}
