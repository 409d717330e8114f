using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TorchSharp;
using UNet.Segmentation.Model;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Training;
using UNet.Segmentation.Training.Callbacks;
using UNet.Segmentation.Tests.Shared;

namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// The CLI's training loop as a user meets it: Ctrl+C and SIGTERM stop a run with the checkpoint
/// of its last step and a command that resumes it exactly, the live progress on a terminal, the
/// early-stopping flags, and evaluate without a trainer. Tiny runs: 4 filters, synthetic data.
/// </summary>
public sealed class TrainingLoopCliTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-loop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] Train(string modelDir, long steps) =>
        ["--exec-mode", "train", "--max-steps", steps.ToString(), "--log-every", "1", "--filters", "4", "--model-dir", Path.Combine(_dir, modelDir)];

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private const int SigInt = 2, SigTerm = 15;

    /// <summary>
    /// Starts unet.dll; once a line containing <paramref name="trigger"/> appears, sends
    /// <paramref name="signals"/> (<paramref name="gapMs"/> apart). Returns the exit code and the output.
    /// </summary>
    private (int ExitCode, string Output) RunAndSignal(string[] args, string trigger, int[] signals, int gapMs = 0, IReadOnlyDictionary<string, string>? environment = null)
    {
        string dll = CliProcess.DllPath();
        // A process started with SIGINT ignored (a background job of a non-interactive shell) passes that on,
        // and .NET then leaves SIGINT alone; perl puts the default back before it becomes unet.
        bool sigintIgnored = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:")) is { } line
            && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 2) != 0;
        var start = new ProcessStartInfo(sigintIgnored ? "perl" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (sigintIgnored) foreach (var a in (string[])["-e", "$SIG{INT} = 'DEFAULT'; exec @ARGV or die", "dotnet"]) start.ArgumentList.Add(a);
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var output = new StringBuilder();
        var sync = new object();
        bool sent = false;
        using var p = new Process { StartInfo = start };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (sync)
            {
                output.AppendLine(e.Data);
                if (sent || !e.Data.Contains(trigger, StringComparison.Ordinal)) return;
                sent = true;
            }
            foreach (int s in signals)
            {
                Assert.Equal(0, Kill(p.Id, s));
                if (gapMs > 0) Thread.Sleep(gapMs);
            }
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sync) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("unet ran past 5 minutes"); }
        p.WaitForExit();
        string text;
        lock (sync) text = output.ToString();
        log.WriteLine(text);
        Assert.True(sent, $"no line with '{trigger}' came before the run ended:\n{text}");
        return (p.ExitCode, text);
    }

    /// <summary>Runs <paramref name="start"/> to its end: the exit code and stdout + stderr.</summary>
    private (int ExitCode, string Output) Wait(ProcessStartInfo start)
    {
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException($"{start.FileName} ran past 5 minutes"); }
        p.WaitForExit();
        string text = stdout.Result + stderr.Result;
        log.WriteLine(text);
        return (p.ExitCode, text);
    }

    private static long StoppedAt(string output)
    {
        var m = System.Text.RegularExpressions.Regex.Match(output, @"stopped by SIG(INT|TERM) at step (\d+) of (\d+); checkpoint (\S+)");
        Assert.True(m.Success, output);
        Assert.EndsWith($"step-{long.Parse(m.Groups[2].Value):D8}.safetensors", m.Groups[4].Value);
        Assert.True(File.Exists(m.Groups[4].Value), m.Groups[4].Value);
        return long.Parse(m.Groups[2].Value);
    }

    private static string ResumeCommand(string output)
    {
        var lines = output.ReplaceLineEndings("\n").Split('\n');
        int i = Array.FindIndex(lines, l => l.StartsWith("resume with (in ", StringComparison.Ordinal));
        Assert.True(i >= 0 && i + 1 < lines.Length, output);
        return lines[i + 1].Trim();
    }

    private static void AssertSameTensors(string expected, string actual)
    {
        using var a = Safetensors.Load(expected);
        using var b = Safetensors.Load(actual);
        Assert.Equal(a.Tensors.Keys.Order(), b.Tensors.Keys.Order());
        foreach (var (name, t) in a.Tensors)
        {
            // Bit for bit: the same dtype, shape and bytes.
            var other = b.Tensors[name];
            Assert.Equal(t.dtype, other.dtype);
            Assert.Equal(t.shape, other.shape);
            Assert.True(t.bytes.ToArray().AsSpan().SequenceEqual(other.bytes.ToArray()), $"{name} differs between {expected} and {actual}");
        }
    }

    [Fact]
    public void SigintWritesTheLastStepsCheckpointAndThePrintedCommandFinishesAsAnUnbrokenRun()
    {
        const long steps = 24;
        var (code, output) = RunAndSignal(Train("broken", steps), "step 2/", [SigInt]);
        Assert.Equal(130, code);
        long stoppedAt = StoppedAt(output);
        Assert.InRange(stoppedAt, 2, steps - 1);
        Assert.Contains("cancelled at step", output);
        string resume = ResumeCommand(output);
        Assert.Contains("--model-dir " + Path.Combine(_dir, "broken"), resume);

        // The printed line, as a shell runs it, from the same folder.
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(resume);
        start.Environment["NO_COLOR"] = "1";
        var (resumedCode, resumed) = Wait(start);
        Assert.True(resumedCode == 0, resumed);
        Assert.Contains($"Resumed from {Path.Combine(_dir, "broken", "checkpoints", $"step-{stoppedAt:D8}.safetensors")} at step {stoppedAt}", resumed);

        var (unbrokenCode, unbroken) = CliProcess.Run(Train("unbroken", steps));
        Assert.True(unbrokenCode == 0, unbroken);
        string last = $"step-{steps:D8}.safetensors";
        AssertSameTensors(Path.Combine(_dir, "unbroken", "checkpoints", last), Path.Combine(_dir, "broken", "checkpoints", last));
    }

    [Fact]
    public void SigtermStopsTheSameWayWithExitCode143()
    {
        var (code, output) = RunAndSignal(Train("term", 40), "step 2/", [SigTerm]);
        Assert.Equal(143, code);
        StoppedAt(output);
        Assert.Contains("SIGTERM: stopping after the current step", output);
        Assert.Contains("resume with (in ", output);
    }

    [Fact]
    public void SigintToTheNprocPerNodeLauncherStopsEveryRankAtTheSameStep()
    {
        Requirement.Mpirun();
        var mpi = new Dictionary<string, string> { ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1", ["OMP_NUM_THREADS"] = "1", ["TERM"] = "dumb" };
        var (code, output) = RunAndSignal(["--nproc-per-node", "2", .. Train("mpi", 80)], "step 2/", [SigInt], environment: mpi);
        Assert.Equal(130, code);
        Assert.Contains("[rank 0] SIGINT: stopping after the current step", output);
        Assert.Contains("[rank 1] SIGINT: stopping after the current step", output);
        long stoppedAt = StoppedAt(output.Replace("[rank 0] ", ""));
        Assert.InRange(stoppedAt, 2, 39);
        Assert.DoesNotContain("[rank 1] trained", output);
        Assert.Contains("launcher: stopped by SIGINT; resume with (in ", output);
        Assert.Contains("--nproc-per-node 2 --exec-mode train", output);
        using var file = Safetensors.Load(Path.Combine(_dir, "mpi", "checkpoints", $"step-{stoppedAt:D8}.safetensors"));
        Assert.Equal("2", file.Metadata["world_size"]);
    }

    [Fact]
    public void TwoQuickSigintsLeaveALoadableCheckpoint()
    {
        var (code, output) = RunAndSignal(Train("twice", 40), "step 2/", [SigInt, SigInt], gapMs: 20);
        Assert.Equal(130, code);
        long stoppedAt = StoppedAt(output);
        string latest = Checkpoints.Latest(Path.Combine(_dir, "twice", "checkpoints"))!;
        Assert.EndsWith($"step-{stoppedAt:D8}.safetensors", latest);
        using var model = UNetModel.Load(latest);
        Assert.Equal(4, model.Options.BaseFilters);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "twice", "checkpoints"), "*.tmp*"));
    }

    [Fact]
    public void ProgressIsLiveInAPseudoTerminalAndAbsentWhenRedirected()
    {
        Requirement.SkipWhen(!File.Exists("/usr/bin/script") && !File.Exists("/bin/script"), "script(1) (util-linux) is not installed");
        string[] words = ["dotnet", CliProcess.DllPath(), .. Train("pty", 4)];
        string command = string.Join(" ", words.Select(w => "'" + w + "'"));
        var start = new ProcessStartInfo("script") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in (string[])["-qc", command, "/dev/null"]) start.ArgumentList.Add(a);
        start.Environment.Remove("NO_COLOR");
        start.Environment["TERM"] = "xterm";
        start.Environment.Remove("OMPI_COMM_WORLD_SIZE");
        var (ptyCode, text) = Wait(start);
        Assert.True(ptyCode == 0, text);
        Assert.Contains("step 4/4 · loss", text);
        Assert.Contains("━", text); // the bar

        var (code, output) = CliProcess.RunWith(null, new Dictionary<string, string?> { ["NO_COLOR"] = null }, Train("piped", 4));
        Assert.True(code == 0, output);
        Assert.Matches(@"\d\d:\d\d:\d\d step 4/4 loss \d", output);
        Assert.DoesNotContain("━", output);
        Assert.DoesNotContain(" · ", output);
    }

    [Fact]
    public void EvaluateReadsTheCheckpointWithoutATrainerAndMatchesTheTrainingEvaluation()
    {
        string modelDir = Path.Combine(_dir, "eval");
        string[] common = ["--filters", "4", "--max-steps", "2", "--log-every", "1", "--model-dir", modelDir];
        var (code, output) = CliProcess.Run(["--exec-mode", "train_and_evaluate", .. common]);
        Assert.True(code == 0, output);
        double trained = JsonDocument.Parse(File.ReadAllText(Path.Combine(modelDir, "metrics.json"))).RootElement.GetProperty("dice").GetDouble();
        AssertTableFits(output);

        (code, output) = CliProcess.Run(["--exec-mode", "evaluate", .. common]);
        Assert.True(code == 0, output);
        Assert.DoesNotContain("step 1/", output); // nothing trained
        var evaluated = JsonDocument.Parse(File.ReadAllText(Path.Combine(modelDir, "metrics.json"))).RootElement;
        Assert.Equal(trained, evaluated.GetProperty("dice").GetDouble());
        Assert.Equal(JsonValueKind.Null, evaluated.GetProperty("steps").ValueKind);
        Assert.Matches(@"│ evaluation +│ DICE \d\.\d{4} \| hard Dice", output);
        AssertTableFits(output);
    }

    /// <summary>The summary table stays within 100 columns in a log (the log lines above it are whole lines).</summary>
    private static void AssertTableFits(string output)
    {
        var table = output.ReplaceLineEndings("\n").Split('\n').Where(l => l.Length > 0 && "┌│├└".Contains(l[0])).ToList();
        Assert.True(table.Count > 5, output);
        Assert.All(table, l => Assert.True(l.Length <= 100, $"{l.Length} columns: {l}"));
    }

    [Fact]
    public void EarlyStoppingAndKeepBestStopTheRunAndKeepBestSafetensors()
    {
        string modelDir = Path.Combine(_dir, "early");
        // Nothing improves by more than 1: the second evaluation stops the run.
        var (code, output) = CliProcess.Run("--exec-mode", "train_and_evaluate", "--filters", "4", "--max-steps", "20", "--log-every", "1", "--evaluate-every", "1",
            "--early-stopping-patience", "1", "--min-delta", "1", "--keep-best", "--early-stopping-metric", "mean_iou", "--model-dir", modelDir);
        Assert.True(code == 0, output);
        Assert.Contains("stopped at step 2: early stopping: mean_iou has not improved", output);
        Assert.Contains("2 steps in", output);
        string best = Path.Combine(modelDir, "checkpoints", KeepBest.FileName);
        Assert.True(File.Exists(best));
        using var file = Safetensors.Load(best);
        Assert.Equal("mean_iou", file.Metadata[KeepBest.MetricKey]);
    }

    [Fact]
    public void ATrainingRunWritesTensorBoardEventsAndCurves_AndChallengeScoresAtEachEvaluation()
    {
        string modelDir = Path.Combine(_dir, "watch"), events = Path.Combine(_dir, "events");
        var (code, output) = CliProcess.Run("--exec-mode", "train_and_evaluate", "--filters", "4", "--max-steps", "4", "--log-every", "1", "--evaluate-every", "2",
            "--challenge-scores", "--tensorboard", events, "--model-dir", modelDir);
        Assert.True(code == 0, output);
        Assert.Matches(@"evaluation at step 2: DICE .* \| V_rand \d\.\d{4}", output);
        var evals = File.ReadAllLines(Path.Combine(modelDir, "metrics.jsonl")).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("kind").GetString() == "eval").ToList();
        Assert.Equal([2L, 4], evals.Select(e => e.GetProperty("step").GetInt64()));
        Assert.All(evals, e => Assert.InRange(e.GetProperty("scores").GetProperty("v_rand").GetDouble(), 0, 1));
        Assert.NotEmpty(Directory.GetFiles(events, "*tfevents*", SearchOption.AllDirectories));
        using var curves = SkiaSharp.SKBitmap.Decode(Path.Combine(modelDir, "training-curves.png"));
        Assert.NotNull(curves);
    }

    [Theory]
    [InlineData("--early-stopping-metric|f1", "--early-stopping-metric: unknown metric 'f1': use one of dice, hard_dice, mean_iou, accuracy, loss")]
    [InlineData("--early-stopping-patience|-1", "--early-stopping-patience must be 0 (off) or more (got -1)")]
    [InlineData("--min-delta|-0.5", "--min-delta must be a finite number, 0 or more (got -0.5)")]
    [InlineData("--min-delta|x", "error: Cannot parse argument 'x' for option '--min-delta'")]
    [InlineData("--early-stopping-patience|2", "--early-stopping-patience and --keep-best watch validation metrics: use --exec-mode train_and_evaluate (got train)")]
    [InlineData("--keep-best", "--early-stopping-patience and --keep-best watch validation metrics")]
    [InlineData("--exec-mode|train_and_evaluate|--early-stopping-patience|2", "--early-stopping-patience needs evaluations during training: give --evaluate-every N")]
    public void BadLoopFlagsAreOneLineAndExitCode2(string flags, string expected)
    {
        string[] given = flags.Split('|');
        string[] args = [.. given.Contains("--exec-mode") ? [] : new[] { "--exec-mode", "train" }, "--max-steps", "1", "--filters", "4", "--model-dir", Path.Combine(_dir, "bad"), .. given];
        var (code, output) = CliProcess.Run(args);
        Assert.Equal(2, code);
        Assert.Single(output.Trim().ReplaceLineEndings("\n").Split('\n'));
        Assert.Contains(expected, output);
        Assert.False(Directory.Exists(Path.Combine(_dir, "bad", "checkpoints")), "nothing may run before the flags are checked");
    }
}
