using System.Diagnostics;
using TorchSharp;
using UNet.Segmentation.Tests.Shared;
using UNet.Segmentation.Model;
using UNet.Segmentation.Serialization;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Tests.Distributed;

/// <summary>
/// Data-parallel training with real processes under Open MPI's mpirun (CPU, one thread per
/// rank): each test starts dp-worker through <see cref="MpiJob"/> and kills whatever it started
/// when it ends, passed or not.
/// </summary>
public sealed class DataParallelTests(ITestOutputHelper log) : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-dp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, float[]> Weights(string path)
    {
        using var file = Safetensors.Load(path);
        return file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.to(torch.ScalarType.Float32).data<float>().ToArray());
    }

    /// <summary>The largest over tensors of ‖a − b‖ / ‖b‖.</summary>
    private static double RelativeDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(b.Keys.Order(), a.Keys.Order());
        double worst = 0;
        foreach (var (name, x) in a)
        {
            var y = b[name];
            double diff = 0, norm = 0;
            for (int i = 0; i < x.Length; i++)
            {
                diff += (double)(x[i] - y[i]) * (x[i] - y[i]);
                norm += (double)y[i] * y[i];
            }
            worst = Math.Max(worst, Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30));
        }
        return worst;
    }

    [Fact]
    public void TwoRanksGiveTheWeightsOfOneProcessWithTheDoubledBatch()
    {
        Requirement.Mpirun();
        // One rank, batch 4, 3 steps; two ranks, batch 2 each, MaxSteps 6 (3 steps per rank).
        // Batch-mean losses make the mean of the two half-batch gradients the full batch's.
        MpiJob.Run(_dir, 1, Limit, "--steps", "3", "--batch", "4", "--out", "one.safetensors");
        string output = MpiJob.Run(_dir, 2, Limit, "--steps", "6", "--batch", "2", "--out", "two.safetensors");
        Assert.Contains("rank 0: world size 2 over MPI (Open MPI", output);
        Assert.Contains("rank 1: world size 2 over MPI (Open MPI", output);
        Assert.Contains("rank 1: done after 3 steps", output);
        Assert.Contains("rank 0: done after 3 steps", output);
        Assert.Single(output.Split('\n'), l => l.StartsWith("step 3/3 loss", StringComparison.Ordinal)); // only rank 0 logs

        var one = Weights(Path.Combine(_dir, "one.safetensors"));
        var two = Weights(Path.Combine(_dir, "two.safetensors"));
        double difference = RelativeDifference(two, one);
        log.WriteLine($"2 ranks x batch 2 vs 1 rank x batch 4, 3 steps: largest relative weight difference {difference:E2}");
        Assert.True(difference <= 1e-5, $"2 ranks x batch 2 vs 1 rank x batch 4: relative difference {difference:E2}");

        // The comparison can tell runs apart: one rank with the undoubled batch is far off.
        MpiJob.Run(_dir, 1, Limit, "--steps", "3", "--batch", "2", "--out", "half.safetensors");
        double other = RelativeDifference(Weights(Path.Combine(_dir, "half.safetensors")), one);
        log.WriteLine($"1 rank x batch 2 vs 1 rank x batch 4: {other:E2}");
        Assert.True(other > 1e-4, $"batch 2 vs batch 4 should differ; relative difference {other:E2}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void KillingOneRankEndsTheOtherWithAMessageNamingIt(int victim)
    {
        Requirement.Mpirun();
        int survivor = 1 - victim;
        string checkpoints = Path.Combine(_dir, "checkpoints");
        using var job = MpiJob.Start(_dir, 2, 60, "--steps", "100000", "--batch", "2", "--out", "never.safetensors", "--checkpoints", checkpoints);
        Assert.True(job.WaitForLine("step 3/", Limit), $"training did not get going:\n{job.Output}");
        int pid = job.Pid(victim) ?? throw new InvalidOperationException($"rank {victim} printed no pid:\n{job.Output}");
        int survivorPid = job.Pid(survivor)!.Value;

        MpiJob.Signal(pid, "KILL");
        var clock = Stopwatch.StartNew();
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), $"the job still runs after rank {victim} was killed:\n{job.Output}");
        string output = job.Output;
        log.WriteLine($"rank {victim} killed: the job ended {clock.Elapsed.TotalSeconds:F1} s later; its last lines:");
        foreach (var line in output.Split('\n').TakeLast(8)) log.WriteLine("  " + line);
        Assert.NotEqual(0, job.ExitCode);
        // mpirun names the dead rank and how it died (its PID field reads 0 for processes it did not exec itself).
        Assert.Matches($@"mpirun noticed that process rank {victim} with PID \d+ on node \S+ exited on signal 9 \(Killed\)", output);
        Assert.True(MpiJob.WaitUntilGone(survivorPid, TimeSpan.FromSeconds(10)), $"rank {survivor} (pid {survivorPid}) still runs"); // the survivor is gone too

        // Rank 0 wrote a checkpoint every step; the newest is whole and restores.
        string? latest = Checkpoints.Latest(checkpoints);
        Assert.NotNull(latest);
        using var model = UNetModel.Load(latest);
        using var adam = torch.optim.Adam(model.parameters());
        var state = Checkpoints.Restore(latest, model, adam);
        Assert.Equal(2, state.WorldSize);
        Assert.True(state.Step >= 3);
    }

    [Fact]
    public void AHungRankEndsTheOtherAfterTheTimeoutNamingTheStepAndCollective()
    {
        Requirement.Mpirun();
        const double timeoutSeconds = 4;
        using var job = MpiJob.Start(_dir, 2, timeoutSeconds, "--steps", "100000", "--batch", "2", "--out", "never.safetensors");
        Assert.True(job.WaitForLine("step 3/", Limit), $"training did not get going:\n{job.Output}");
        int pid = job.Pid(1)!.Value;
        MpiJob.Signal(pid, "STOP");
        var clock = Stopwatch.StartNew();
        try
        {
            Assert.True(job.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds + 60)), $"the job still runs with rank 1 frozen:\n{job.Output}");
            string output = job.Output;
            log.WriteLine($"rank 1 frozen: the job ended {clock.Elapsed.TotalSeconds:F1} s later (timeout {timeoutSeconds} s)");
            string report = output.Split('\n').FirstOrDefault(l => l.Contains("did not complete within", StringComparison.Ordinal)) ?? "";
            log.WriteLine(report);
            Assert.Equal(3, job.ExitCode);
            Assert.Matches(@"rank 0 of 2: (all-reduce of gradient bucket \d+ of \d+|all-reduce of the logged loss and Dice) at step \d+ did not complete within 4 s", report);
            Assert.True(clock.Elapsed > TimeSpan.FromSeconds(timeoutSeconds - 1), $"ended after {clock.Elapsed}, before the timeout");
        }
        finally
        {
            MpiJob.Signal(pid, "KILL"); // SIGKILL ends a stopped process too
        }
    }

    [Fact]
    public void ACheckpointOfTwoRanksResumesInOneProcessAtTheSameSamplesSeen()
    {
        Requirement.Mpirun();
        string checkpoints = Path.Combine(_dir, "checkpoints");
        // Two ranks: MaxSteps 8 → 4 steps of global batch 4 (16 samples).
        MpiJob.Run(_dir, 2, Limit, "--steps", "8", "--batch", "2", "--out", "a.safetensors", "--checkpoints", checkpoints);
        // One rank, batch 2: 16 samples are 8 steps; it goes on to 10.
        string output = MpiJob.Run(_dir, 1, Limit, "--steps", "10", "--batch", "2", "--out", "b.safetensors", "--checkpoints", checkpoints, "--resume");
        Assert.Contains("at step 8 (written by 2 rank(s); now 1)", output);
        Assert.Contains("done after 10 steps", output);
        Assert.DoesNotContain("step 8/", output);
        Assert.Contains("step 9/10 loss", output);
    }

    [Fact]
    public void UnderMpirun_EachCallbackSeesEveryStepOnce_OnTheRanksItAsksFor()
    {
        Requirement.Mpirun();
        // Two ranks, MaxSteps 6: 3 steps each. The every-rank callback runs on both, the default one on rank 0 alone.
        string output = MpiJob.Run(_dir, 2, Limit, "--steps", "6", "--batch", "2", "--out", "c.safetensors", "--callbacks");
        var lines = output.Split('\n').Select(l => l.Trim()).Where(l => l.Contains(" callback on rank ", StringComparison.Ordinal)).ToList();
        string[] Expected(string who, int rank) => [.. Enumerable.Range(1, 3).Select(s => $"{who} callback on rank {rank}: step {s}")];
        Assert.Equal(Expected("every-rank", 0), lines.Where(l => l.StartsWith("every-rank callback on rank 0", StringComparison.Ordinal)));
        Assert.Equal(Expected("every-rank", 1), lines.Where(l => l.StartsWith("every-rank callback on rank 1", StringComparison.Ordinal)));
        Assert.Equal(Expected("main-rank", 0), lines.Where(l => l.StartsWith("main-rank", StringComparison.Ordinal)));
    }
}
