using System.Collections;
using System.Diagnostics;
using Xunit.Abstractions;
using UNet.Segmentation.Model;
using UNet.Segmentation.Torch;
using UNet.Segmentation.Torch.Distributed;
using UNet.Segmentation.Torch.Optim;
using UNet.Segmentation.Torch.Serialization;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Tests.Training;

/// <summary>
/// Data-parallel training with real processes: each test starts dp-worker once per rank (Gloo on
/// the CPU, TCP rendezvous on a free loopback port) and kills every process it started when it
/// ends, passed or not.
/// </summary>
public sealed class DataParallelTests(ITestOutputHelper log) : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-dp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, float[]> Weights(string path)
    {
        using var file = Safetensors.Load(path);
        return file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
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
        // One process, batch 4, 3 steps; two ranks, batch 2 each, MaxSteps 6 (3 steps per rank).
        // Batch-mean losses make the mean of the two half-batch gradients the full batch's.
        DataParallelWorkers.RunJob(_dir, 1, Limit, "--steps", "3", "--batch", "4", "--out", "one.safetensors");
        var outputs = DataParallelWorkers.RunJob(_dir, 2, Limit, "--steps", "6", "--batch", "2", "--out", "two.safetensors");
        Assert.Contains("rank 1: done after 3 steps", outputs[1]);
        Assert.Contains("rank 0: done after 3 steps", outputs[0]);
        Assert.DoesNotContain("step 1 loss", outputs[1]); // only rank 0 logs

        var one = Weights(Path.Combine(_dir, "one.safetensors"));
        var two = Weights(Path.Combine(_dir, "two.safetensors"));
        double difference = RelativeDifference(two, one);
        log.WriteLine($"2 ranks x batch 2 vs 1 process x batch 4, 3 steps: largest relative weight difference {difference:E2}");
        Assert.True(difference <= 1e-5, $"2 ranks x batch 2 vs 1 process x batch 4: relative difference {difference:E2}");

        // The comparison can tell runs apart: one process with the undoubled batch is far off.
        DataParallelWorkers.RunJob(_dir, 1, Limit, "--steps", "3", "--batch", "2", "--out", "half.safetensors");
        double other = RelativeDifference(Weights(Path.Combine(_dir, "half.safetensors")), one);
        log.WriteLine($"1 process x batch 2 vs 1 process x batch 4: {other:E2}");
        Assert.True(other > 1e-4, $"batch 2 vs batch 4 should differ; relative difference {other:E2}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void KillingOneRankEndsTheOtherWithAnErrorNamingIt(int victim)
    {
        int survivor = 1 - victim;
        using var workers = new DataParallelWorkers();
        int port = DataParallelWorkers.FreePort();
        string checkpoints = Path.Combine(_dir, "checkpoints");
        const double timeoutSeconds = 30;
        for (int r = 0; r < 2; r++)
            workers.Start(_dir, r, 2, port, timeoutSeconds, "--steps", "100000", "--batch", "2", "--out", "never.safetensors", "--checkpoints", checkpoints);
        Assert.True(workers.WaitForLine(0, "step 3 loss", Limit), $"training did not get going:\n{workers.Output(0)}\n{workers.Output(1)}");

        workers[victim].Kill(entireProcessTree: true);
        var clock = Stopwatch.StartNew();
        Assert.True(workers.WaitForExit(survivor, TimeSpan.FromSeconds(timeoutSeconds + 30)),
            $"rank {survivor} still runs after rank {victim} was killed:\n{workers.Output(survivor)}");
        string output = workers.Output(survivor);
        log.WriteLine($"rank {victim} killed: rank {survivor} exited {clock.Elapsed.TotalSeconds:F1} s later (timeout {timeoutSeconds} s)");
        log.WriteLine(output.Split('\n').LastOrDefault(l => l.Contains("DistributedException", StringComparison.Ordinal)) ?? "");
        Assert.True(workers[survivor].ExitCode == 3, $"rank {survivor} exited with {workers[survivor].ExitCode}, not with a DistributedException:\n{output}");
        Assert.Contains($"rank {survivor} of 2", output);
        Assert.Contains($"rank {victim}", output.Split("DistributedException:")[1]);
        Assert.Contains($"[suspects: {victim}]", output);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(timeoutSeconds + 30), $"took {clock.Elapsed}");

        // Rank 0 wrote a checkpoint every step; the newest is whole and restores.
        string? latest = Checkpoints.Latest(checkpoints);
        Assert.NotNull(latest);
        using var model = UNetModel.Load(latest);
        using var adam = new Adam(model.Parameters());
        var state = Checkpoints.Restore(latest, model, adam);
        Assert.Equal(2, state.WorldSize);
        Assert.True(state.Step >= 3);
    }

    [Fact]
    public void AHungRankEndsTheOtherAfterTheTimeoutNamingIt()
    {
        using var workers = new DataParallelWorkers();
        int port = DataParallelWorkers.FreePort();
        const double timeoutSeconds = 4;
        for (int r = 0; r < 2; r++)
            workers.Start(_dir, r, 2, port, timeoutSeconds, "--steps", "100000", "--batch", "2", "--out", "never.safetensors");
        Assert.True(workers.WaitForLine(0, "step 3 loss", Limit), $"training did not get going:\n{workers.Output(0)}\n{workers.Output(1)}");

        using (var stop = Process.Start("kill", ["-STOP", workers[1].Id.ToString()])) stop.WaitForExit();
        var clock = Stopwatch.StartNew();
        try
        {
            Assert.True(workers.WaitForExit(0, TimeSpan.FromSeconds(timeoutSeconds + 40)), $"rank 0 still runs with rank 1 frozen:\n{workers.Output(0)}");
            string output = workers.Output(0);
            log.WriteLine($"rank 1 frozen: rank 0 exited {clock.Elapsed.TotalSeconds:F1} s later (timeout {timeoutSeconds} s)");
            log.WriteLine(output.Split('\n').LastOrDefault(l => l.Contains("DistributedException", StringComparison.Ordinal)) ?? "");
            Assert.True(workers[0].ExitCode == 3, $"rank 0 exited with {workers[0].ExitCode}:\n{output}");
            Assert.Contains("[suspects: 1]", output);
            Assert.Contains("rank 1 has stopped sending heartbeats", output);
        }
        finally
        {
            workers[1].Kill(entireProcessTree: true); // SIGKILL ends a stopped process too
        }
    }

    [Fact]
    public void ACheckpointOfTwoRanksResumesInOneProcessAtTheSameSamplesSeen()
    {
        string checkpoints = Path.Combine(_dir, "checkpoints");
        // Two ranks: MaxSteps 8 → 4 steps of global batch 4 (16 samples).
        DataParallelWorkers.RunJob(_dir, 2, Limit, "--steps", "8", "--batch", "2", "--out", "a.safetensors", "--checkpoints", checkpoints);
        // One process, batch 2: 16 samples are 8 steps; it goes on to 10.
        var output = DataParallelWorkers.RunJob(_dir, 1, Limit, "--steps", "10", "--batch", "2", "--out", "b.safetensors", "--checkpoints", checkpoints, "--resume", "yes");
        Assert.Contains("at step 8 (written by 2 rank(s); now 1)", output[0]);
        Assert.Contains("done after 10 steps", output[0]);
        Assert.DoesNotContain("step 8 loss", output[0]);
        Assert.Contains("step 9 loss", output[0]);
    }
}

public sealed class DistributedOptionsTests
{
    private static Hashtable Env(params (string Name, string Value)[] vars)
    {
        var env = new Hashtable();
        foreach (var (n, v) in vars) env[n] = v;
        return env;
    }

    private static readonly (string, string)[] Full = [("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "10.0.0.1"), ("MASTER_PORT", "29501")];

    [Fact]
    public void ReadsTorchrunsVariables()
    {
        var o = DistributedOptions.FromEnvironment(Env([.. Full, ("LOCAL_RANK", "0"), ("UNET_DIST_TIMEOUT_SECONDS", "12.5"), ("UNET_DIST_BACKEND", "NCCL")]));
        Assert.Equal((1, 0, 2, "10.0.0.1", 29501, Backend.Nccl, TimeSpan.FromSeconds(12.5)),
            (o.Rank, o.LocalRank, o.WorldSize, o.MasterAddress, o.MasterPort, o.Backend, o.Timeout));
        Assert.Empty(o.Validate());
        var plain = DistributedOptions.FromEnvironment(Env(Full));
        Assert.Equal((1, Backend.Gloo, TimeSpan.FromMinutes(10)), (plain.LocalRank, plain.Backend, plain.Timeout));
        var file = DistributedOptions.FromEnvironment(Env(("RANK", "0"), ("WORLD_SIZE", "3"), ("UNET_DIST_STORE_FILE", "/shared/rdzv")));
        Assert.Equal("/shared/rdzv", file.StoreFile);
    }

    [Theory]
    [InlineData("RANK", null, "RANK")]
    [InlineData("WORLD_SIZE", null, "WORLD_SIZE")]
    [InlineData("MASTER_ADDR", null, "MASTER_ADDR")]
    [InlineData("MASTER_PORT", "http", "MASTER_PORT")]
    [InlineData("MASTER_PORT", "70000", "MASTER_PORT")]
    [InlineData("RANK", "2", "RANK")]
    [InlineData("RANK", "-1", "RANK")]
    [InlineData("WORLD_SIZE", "0", "WORLD_SIZE")]
    [InlineData("UNET_DIST_BACKEND", "mpi", "UNET_DIST_BACKEND")]
    [InlineData("UNET_DIST_TIMEOUT_SECONDS", "-3", "UNET_DIST_TIMEOUT_SECONDS")]
    public void ABadVariableIsNamed(string name, string? value, string named)
    {
        var env = Env(Full);
        if (value is null) env.Remove(name);
        else env[name] = value;
        var e = Assert.Throws<ArgumentException>(() => DistributedOptions.FromEnvironment(env));
        Assert.Equal(named, e.ParamName);
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void NcclOnTheCpuIsAConfigurationError()
    {
        using var model = new UNetModel(UNetOptions.Reference with { BaseFilters = 2, Depth = 1, InputSize = 92 });
        var e = Assert.Throws<ArgumentException>(() => Trainer.For(model).WithDataParallel(new DistributedOptions { Backend = Backend.Nccl, WorldSize = 2 }).Build());
        Assert.Contains("Distributed.Backend Nccl needs a CUDA device", e.Message);
    }
}
