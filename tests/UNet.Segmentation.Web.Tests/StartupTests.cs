using UNet.Segmentation.Web.Tests.Support;

namespace UNet.Segmentation.Web.Tests;

/// <summary>The service as a process: it starts with a good model and an argument, and refuses to start, with one line, without one.</summary>
public sealed class StartupTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    private static Task<string> FailsToStartWithOneLine(params string[] args) => FailsToStartWithOneLineIn(Environment.CurrentDirectory, args);

    private static async Task<string> FailsToStartWithOneLineIn(string folder, params string[] args)
    {
        using var service = ServiceProcess.StartIn(folder, args);
        int? code = await service.ExitCodeAsync(Limit);
        Assert.True(code is not null, $"the service still runs after {Limit}; stdout: {service.Stdout}");
        Assert.Equal(1, code);
        var lines = service.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}: {service.Stderr}");
        Assert.StartsWith("UNet.Segmentation.Web cannot start: ", lines[0]);
        Assert.DoesNotContain("Now listening", service.Stdout);
        return lines[0];
    }

    [Fact]
    public async Task AMissingModel_StopsTheStart_WithOneLineNamingTheFile()
    {
        string missing = Path.Combine(TestModels.Folder, "no-such-model.onnx");
        string line = await FailsToStartWithOneLine($"--Segmentation:ModelPath={missing}");
        Assert.Contains(missing, line);
        Assert.Contains("does not exist", line);
    }

    [Fact]
    public async Task ACorruptModel_StopsTheStart_WithOneLineNamingTheFile()
    {
        string corrupt = Path.Combine(TestModels.Folder, "corrupt.onnx");
        await File.WriteAllBytesAsync(corrupt, File.ReadAllBytes(TestModels.OnnxPath)[..200], TestContext.Current.CancellationToken);
        string line = await FailsToStartWithOneLine($"--Segmentation:ModelPath={corrupt}");
        Assert.Contains(corrupt, line);
        Assert.Contains("cannot be loaded by engine Onnx", line);
    }

    [Fact]
    public async Task AnOnnxFileGivenToTheTorchSharpEngine_StopsTheStart()
    {
        string line = await FailsToStartWithOneLine($"--Segmentation:ModelPath={TestModels.OnnxPath}", "--Segmentation:Engine=TorchSharp");
        Assert.Contains("cannot be loaded by engine TorchSharp", line);
    }

    [Theory]
    [InlineData("--Segmentation:Engine=Tensorflow", "Tensorflow")]
    [InlineData("--Segmentation:MaxConcurrentPredictions=0", "Segmentation:MaxConcurrentPredictions must be at least 1")]
    [InlineData("--Segmentation:ModelPath=", "Segmentation:ModelPath is not set")]
    public async Task BadSettings_StopTheStart_NamingTheSetting(string arg, string expected)
    {
        var args = arg.StartsWith("--Segmentation:ModelPath", StringComparison.Ordinal)
            ? new[] { arg }
            : new[] { $"--Segmentation:ModelPath={TestModels.OnnxPath}", arg };
        string line = await FailsToStartWithOneLine(args);
        Assert.Contains(expected, line);
    }

    [Fact]
    public async Task WithAModelArgument_ItStarts_AndServesHealth()
    {
        using var service = ServiceProcess.Start($"--Segmentation:ModelPath={TestModels.OnnxPath}");
        var address = await service.ListeningAsync(Limit);
        Assert.True(address is not null, $"no 'Now listening' line; stdout: {service.Stdout} stderr: {service.Stderr}");
        using var client = new HttpClient { BaseAddress = address };
        var health = await Answers.Success(await client.GetAsync("/health", TestContext.Current.CancellationToken));
        Assert.Equal("onnx", health.GetProperty("engine").GetString());
        Assert.Equal("tiny.onnx", health.GetProperty("modelFile").GetString());
    }

    [Fact]
    public async Task AppsettingsJson_IsReadBesideTheAssembly_AndItsRelativeModelPathFromTheWorkingDirectory()
    {
        // No model argument: appsettings.json's artifacts/model/unet.onnx, taken from the working directory.
        string folder = Directory.CreateTempSubdirectory("unet-web-cwd-").FullName;
        try
        {
            string line = await FailsToStartWithOneLineIn(folder);
            Assert.Contains(Path.Combine(folder, "artifacts", "model", "unet.onnx"), line);
            Assert.Contains("does not exist", line);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task ARelativeModelPath_IsTakenFromTheWorkingDirectory()
    {
        using var service = ServiceProcess.StartIn(TestModels.Folder, "--Segmentation:ModelPath=tiny.onnx");
        var address = await service.ListeningAsync(Limit);
        Assert.True(address is not null, $"no 'Now listening' line; stdout: {service.Stdout} stderr: {service.Stderr}");
        using var client = new HttpClient { BaseAddress = address };
        var health = await Answers.Success(await client.GetAsync("/health", TestContext.Current.CancellationToken));
        Assert.Equal("tiny.onnx", health.GetProperty("modelFile").GetString());
    }
}
