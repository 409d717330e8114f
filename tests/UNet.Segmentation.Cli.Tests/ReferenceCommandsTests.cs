namespace UNet.Segmentation.Cli.Tests;

/// <summary>
/// The commands of NVIDIA's UNet_Medical (TensorFlow2) README and examples/*.sh, with their own
/// spellings, run by `unet`: `python main.py` becomes the CLI, `--data_dir /data` is dropped (the
/// synthetic data), `--model_dir /results` becomes a temp folder, and step counts shrink (the
/// reference's own numbers replaced in place, --filters 4 appended) so each run takes seconds.
/// </summary>
public sealed class ReferenceCommandsTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unet-cli-ref-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string XlaLine = "--xla: libtorch has no XLA compiler; running libtorch's own kernels";

    private string Run(string command, string modelDir)
    {
        var args = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(a => a == "/results" ? Path.Combine(_dir, modelDir) : a)
            .Concat(["--filters", "4"]).ToArray();
        var (code, output) = CliProcess.Run(args);
        log.WriteLine($"unet {string.Join(' ', args)}\n{output}");
        Assert.True(code == 0, $"exit {code}: unet {command}\n{output}");
        return output;
    }

    private static int Count(string output, string line) =>
        output.Split('\n').Count(l => l.Contains(line, StringComparison.Ordinal));

    [Fact]
    public void ReadmeQuickStart_TrainEvaluatePredict_WithXlaAndAmp()
    {
        // README "Quick Start Guide" steps 5, 6 and 7 (horovodrun -np 4 dropped: one process), then
        // examples/unet_INFER_BENCHMARK_TF-AMP.sh with --warmup_steps 200 --max_steps 600 shrunk.
        string train = Run("--model_dir /results --batch_size 1 --exec_mode train --fold 1 --xla --amp --max_steps 2", "m");
        Assert.Equal(1, Count(train, XlaLine));
        Assert.Contains("BFloat16", train); // --amp took effect: mixed precision on the CPU
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir, "m", "checkpoints")));

        string evaluate = Run("--model_dir /results --batch_size 1 --exec_mode evaluate --fold 0 --xla --amp", "m");
        Assert.Equal(1, Count(evaluate, XlaLine));
        Assert.Contains("evaluation", evaluate);

        string predict = Run("--model_dir /results --batch_size 1 --exec_mode predict --xla --amp", "m");
        Assert.Equal(1, Count(predict, XlaLine));
        Assert.True(File.Exists(Path.Combine(_dir, "m", "predictions", "test-masks.tif")), predict);

        string bench = Run("--model_dir /results --batch_size 1 --exec_mode predict --benchmark --warmup_steps 1 --max_steps 3 --xla --amp --fold 0", "m");
        Assert.Equal(1, Count(bench, XlaLine));
        Assert.True(Directory.GetFiles(Path.Combine(_dir, "m"), "benchmark-*.json").Length == 1, bench);
    }

    [Fact]
    public void FirstReadmeTrainScript_CrossvalidationIdxIsFold()
    {
        // examples/unet_TRAIN_1GPU.sh of the first TF2 README (--crossvalidation_idx, later --fold), 6400 steps shrunk to 2.
        string output = Run("--model_dir /results --log_every 100 --max_steps 2 --batch_size 1 --exec_mode train_and_evaluate --crossvalidation_idx 2 --augment --xla", "cv");
        Assert.Equal(1, Count(output, XlaLine));
        Assert.Contains("evaluation", output);
        // The alias reaches --fold's check: an out-of-range index is refused the same way.
        var (code, bad) = CliProcess.Run("--crossvalidation_idx", "7");
        Assert.Equal(2, code);
        Assert.Contains("--fold must lie in 0..4 (got 7)", bad);
    }

    [Fact]
    public void TrainingBenchmarkCommand()
    {
        // README "Training performance benchmark", warm-up and steps shrunk.
        string output = Run("--exec_mode train --benchmark --augment --model_dir /results --batch_size 1 --warmup_steps 1 --max_steps 3", "tb");
        Assert.Equal(0, Count(output, XlaLine)); // only when asked
        Assert.True(File.Exists(Path.Combine(_dir, "tb", "benchmark-train.json")), output);
    }

    [Fact]
    public void ArgumentsPySpellings_UseAmpUseXlaUseTrtResumeTraining()
    {
        // runtime/arguments.py's long forms: --use_amp, --use_xla, --use_trt, --resume_training, --no-augment, --no-benchmark.
        string first = Run("--model_dir /results --exec_mode train_and_predict --max_steps 2 --use_amp --use_xla --use_trt --no-augment --no-benchmark", "long");
        Assert.Equal(1, Count(first, XlaLine));
        Assert.Equal(1, Count(first, "--use_trt: libtorch has no TensorRT; predicting with libtorch"));
        Assert.Contains("BFloat16", first);
        // --resume_training with more steps continues from the checkpoint of step 2.
        string resumed = Run("--model_dir /results --exec_mode train --max_steps 3 --resume_training --use-amp", "long");
        Assert.Contains("at step 2", resumed.Split('\n').Single(l => l.Contains("Resumed from", StringComparison.Ordinal)));
    }

    [Fact]
    public void AugmentAndNoAugmentTogether_IsOneLineNamingBoth()
    {
        var (code, output) = CliProcess.Run("--augment", "--no-augment");
        Assert.Equal(2, code);
        Assert.Contains("error: --augment and --no-augment contradict each other", output);
        Assert.DoesNotContain("   at ", output);
    }
}
