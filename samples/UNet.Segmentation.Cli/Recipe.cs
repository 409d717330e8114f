namespace UNet.Segmentation.Cli;

/// <summary>
/// Defaults of a run: the reference's published recipe when real data is given, and a CPU-sized
/// one (8 filters, batch 2, 150 steps) for the synthetic default, which trains, evaluates and
/// predicts in a few minutes on 2 cores. Every value can be overridden by its flag.
/// </summary>
internal sealed record Recipe(int Filters, int BatchSize, long MaxSteps, double LearningRate, int LogEvery, int WarmupSteps)
{
    public static readonly Recipe Reference = new(64, 8, 6400, 1e-4, 100, 200);
    public static readonly Recipe CpuSynthetic = new(8, 2, 150, 1e-3, 10, 2);
}
