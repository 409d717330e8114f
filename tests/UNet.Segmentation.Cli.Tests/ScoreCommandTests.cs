using System.Text.Json;
using UNet.Segmentation.Imaging;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Cli.Tests;

/// <summary><c>unet score</c>: one JSON line with the challenge's scores, or one error line naming the file.</summary>
public sealed class ScoreCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-score-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, TiffVolume volume)
    {
        string path = Path.Combine(_dir, name);
        Tiff.Write(path, volume);
        return path;
    }

    /// <summary>One page, one row: two true segments of 2 pixels with a membrane pixel between them.</summary>
    private string Labels() => Write("labels.tif", new TiffVolume(1, 1, 5, new byte[] { 255, 255, 0, 255, 255 }));

    private string Prediction(params float[] values) => Write("prediction.tif", new TiffVolume(1, 1, values.Length, values));

    [Fact]
    public void HandMadePair_PrintsItsKnownScores_AsOneJsonLine()
    {
        // True: two segments of 2 (N = 4). The pixel between them has P = 0.65, the others 0.9.
        // t ≤ 0.6 merges them: V_rand = 2·(4 + 4) / (16 + 8) = 2/3, V_info = 0 (one predicted segment: I = 0).
        // t = 0.7, 0.8 separate them exactly: 1 and 1 (first at 0.7). t = 0.9: four singletons, 2/3 and 2/3.
        // Thinned (t = 0.0, 0.1, …, 0.9999999999999999 in Java's doubles, P widened to double):
        // t ≤ 0.6 one segment: V_rand 2/3, V_info 0 (one predicted part). t = 0.7, 0.7999999999999999:
        // AA.BB, the dam on the uncounted middle: 1 and 1. From 0.8999999999999999 on, 0.9f
        // (0.8999999761…) is membrane too: no interior, the page is one segment: 2/3 and 0.
        string prediction = Prediction(0.9f, 0.9f, 0.65f, 0.9f, 0.9f);
        var (code, stdout, stderr) = CliProcess.RunSplit(
            new Dictionary<string, string?> { ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8" },
            "score", "--prediction", prediction, "--labels", Labels());
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        string line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        using var json = JsonDocument.Parse(line);
        var keys = json.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["v_rand", "v_info", "v_rand_at_0.5", "v_info_at_0.5", "v_rand_threshold", "v_info_threshold",
            "v_rand_thinned", "v_info_thinned", "v_rand_thinned_at_0.5", "v_info_thinned_at_0.5", "v_rand_thinned_threshold", "v_info_thinned_threshold"], keys);
        double Get(string key) => json.RootElement.GetProperty(key).GetDouble();
        Assert.Equal(1.0, Get("v_rand"), 1e-12);
        Assert.Equal(1.0, Get("v_info"), 1e-12);
        Assert.Equal(2.0 / 3, Get("v_rand_at_0.5"), 1e-12);
        Assert.Equal(0.0, Get("v_info_at_0.5"), 1e-12);
        Assert.Equal((0.7, 0.7), (Get("v_rand_threshold"), Get("v_info_threshold")));
        Assert.Equal((1.0, 1.0), (Get("v_rand_thinned"), Get("v_info_thinned")));
        Assert.Equal(2.0 / 3, Get("v_rand_thinned_at_0.5"), 1e-12);
        Assert.Equal(0.0, Get("v_info_thinned_at_0.5"));
        Assert.Equal((0.7, 0.7), (Get("v_rand_thinned_threshold"), Get("v_info_thinned_threshold")));
        // Round-trip doubles in the invariant culture, whatever the user's locale.
        Assert.Contains("\"v_rand_at_0.5\":0.6666666666666666,", line);
        Assert.Contains("\"v_rand_threshold\":0.7,", line);
    }

    [Fact]
    public void APageWithoutInterior_LeavesTheThinnedKeysNull()
    {
        // The pooled scores count page 0's pixels; the thinned ones are a mean over pages, and page 1 has none.
        string labels = Write("labels2.tif", new TiffVolume(2, 1, 5, new byte[] { 255, 255, 0, 255, 255, 0, 0, 0, 0, 0 }));
        string prediction = Write("prediction2.tif", new TiffVolume(2, 1, 5, new[] { 1f, 1, 0, 1, 1, 0, 0, 0, 0, 0 }));
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", prediction, "--labels", labels);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(1.0, json.RootElement.GetProperty("v_rand").GetDouble());
        foreach (string key in new[] { "v_rand_thinned", "v_info_thinned", "v_rand_thinned_at_0.5", "v_info_thinned_at_0.5", "v_rand_thinned_threshold", "v_info_thinned_threshold" })
            Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty(key).ValueKind);
    }

    private static void AssertOneErrorLine(int code, string stdout, string stderr, params string[] expected)
    {
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line);
        foreach (var e in expected) Assert.Contains(e, line);
        Assert.DoesNotContain("Exception", line);
    }

    [Fact]
    public void MissingFile_IsNamed()
    {
        string missing = Path.Combine(_dir, "no-such-prediction.tif");
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", missing, "--labels", Labels());
        AssertOneErrorLine(code, stdout, stderr, "--prediction", missing, "does not exist");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", Prediction(1, 1, 0, 1, 1), "--labels", _dir);
        AssertOneErrorLine(code, stdout, stderr, $"--labels {_dir} is a folder, not a TIFF file");
    }

    [Fact]
    public void MissingFlag_IsNamed()
    {
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", Prediction(1, 1, 0, 1, 1));
        AssertOneErrorLine(code, stdout, stderr, "--labels FILE is required");
    }

    [Fact]
    public void NotATiff_IsNamed()
    {
        string text = Path.Combine(_dir, "labels.txt");
        File.WriteAllText(text, "membrane, interior, membrane\n");
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", Prediction(1, 1, 0, 1, 1), "--labels", text);
        AssertOneErrorLine(code, stdout, stderr, text);
    }

    [Fact]
    public void PageCountOrSizeMismatch_NamesBothFiles()
    {
        string labels = Labels();
        string twoPages = Write("two-pages.tif", new TiffVolume(2, 1, 5, new float[10]));
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", twoPages, "--labels", labels);
        AssertOneErrorLine(code, stdout, stderr, $"--prediction {twoPages} has 2 page(s) of 5x1 but --labels {labels} has 1 of 5x1");

        string otherSize = Write("other-size.tif", new TiffVolume(1, 5, 1, new float[5]));
        (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", otherSize, "--labels", labels);
        AssertOneErrorLine(code, stdout, stderr, $"--prediction {otherSize} has 1 page(s) of 1x5 but --labels {labels} has 1 of 5x1");
    }

    [Fact]
    public void PredictionNotFloat32_IsNamed()
    {
        string labels = Labels();
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", labels, "--labels", labels);
        AssertOneErrorLine(code, stdout, stderr, $"--prediction {labels} holds UInt8 samples", "float32");
    }

    [Fact]
    public void LabelsNot8Bit_AreNamed()
    {
        string prediction = Prediction(1, 1, 0, 1, 1);
        string wide = Write("labels16.tif", new TiffVolume(1, 1, 5, new ushort[] { 65535, 65535, 0, 65535, 65535 }));
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", prediction, "--labels", wide);
        AssertOneErrorLine(code, stdout, stderr, $"--labels {wide} holds UInt16 samples", "8-bit");

        (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", prediction, "--labels", prediction);
        AssertOneErrorLine(code, stdout, stderr, $"--labels {prediction} holds Float32 samples");
    }

    [Fact]
    public void BadValues_NameTheFile()
    {
        string labels = Labels();
        string nan = Prediction(1, 1, float.NaN, 1, 1);
        var (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", nan, "--labels", labels);
        AssertOneErrorLine(code, stdout, stderr, $"--prediction {nan}: a probability is NaN at page 0, row 0, column 2");
        Assert.DoesNotContain("Parameter", stderr);

        string allMembrane = Write("membrane.tif", new TiffVolume(1, 1, 5, new byte[5]));
        (code, stdout, stderr) = CliProcess.RunSplit(null, "score", "--prediction", Prediction(1, 1, 0, 1, 1), "--labels", allMembrane);
        AssertOneErrorLine(code, stdout, stderr, $"--labels {allMembrane}: no label is above 127");
    }

    /// <summary>
    /// The shared libraries the dynamic loader opened for one run of unet (glibc's LD_DEBUG=files
    /// log, written to files beside the test's TIFFs), and the run's exit code and stderr.
    /// </summary>
    private (int Code, string Stderr, string LoaderLog) RunLogged(string name, params string[] args)
    {
        string prefix = Path.Combine(_dir, $"ld-{name}");
        var (code, _, stderr) = CliProcess.RunSplit(
            new Dictionary<string, string?> { ["LD_DEBUG"] = "files", ["LD_DEBUG_OUTPUT"] = prefix }, args);
        string log = string.Concat(Directory.GetFiles(_dir, $"ld-{name}.*").Select(File.ReadAllText));
        return (code, stderr, log);
    }

    [Fact]
    public void Score_UsesCoreOnly_AndNeverLoadsLibtorch()
    {
        Requirement.SkipWhen(!OperatingSystem.IsLinux(), "LD_DEBUG is glibc's loader: the libraries a process loads are read from its log on Linux only");
        var (code, stderr, log) = RunLogged("score", "score", "--prediction", Prediction(0.9f, 0.9f, 0.65f, 0.9f, 0.9f), "--labels", Labels());
        Assert.True(code == 0, stderr);
        Assert.Contains("libcoreclr.so", log); // the loader's log is live
        Assert.DoesNotContain("libtorch", log);
        Assert.DoesNotContain("libLibTorchSharp", log);

        // The same log does see libtorch when a command reaches the engine (parsing --device loads it).
        (code, stderr, log) = RunLogged("train", "--exec-mode", "train", "--device", "cpu", "--tf32");
        Assert.Equal(2, code);
        Assert.Contains("--tf32 needs --device cuda", stderr);
        Assert.Contains("libtorch_cpu.so", log);
    }
}
