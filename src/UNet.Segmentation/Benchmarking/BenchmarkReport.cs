using System.Globalization;
using UNet.Segmentation.Training;

namespace UNet.Segmentation.Benchmarking;

/// <summary>
/// What the reference's benchmark mode reports, computed its way: the warm-up steps are
/// dropped; throughput is the mean over the remaining steps of (global batch / step time) in
/// images/s; latency is the mean and the 90th/95th/99th percentiles (numpy's linear
/// interpolation) of the step times in milliseconds.
/// </summary>
/// <param name="Mode">"train" or "test" (the reference's names for training and inference).</param>
/// <param name="BatchSize">Images per step (global).</param>
/// <param name="WarmupSteps">Steps run before timing.</param>
/// <param name="MeasuredSteps">Steps timed.</param>
/// <param name="Throughput">Mean images/s.</param>
/// <param name="LatencyMean">Mean step time, ms.</param>
/// <param name="Latency90">90th percentile, ms.</param>
/// <param name="Latency95">95th percentile, ms.</param>
/// <param name="Latency99">99th percentile, ms.</param>
public sealed record BenchmarkReport(string Mode, int BatchSize, int WarmupSteps, int MeasuredSteps, double Throughput,
    double LatencyMean, double Latency90, double Latency95, double Latency99)
{
    /// <summary>
    /// The precision the timed passes ran in (the working copy they ran on); float32 unless the
    /// benchmark says otherwise (<see cref="InferenceBenchmark.Run"/>, <see cref="Trainer.Benchmark(UNet.Segmentation.Data.SegmentationData, UNet.Segmentation.Data.FoldSplit, int, int)"/>).
    /// </summary>
    public Precision Precision { get; init; } = Precision.Float32;

    /// <summary>Builds the report from every step's duration in seconds (warm-up steps included, dropped here).</summary>
    public static BenchmarkReport FromStepTimes(string mode, int batchSize, int warmupSteps, IReadOnlyList<double> stepSeconds)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(mode);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentNullException.ThrowIfNull(stepSeconds);
        var timed = stepSeconds.Skip(warmupSteps).ToArray();
        if (timed.Length == 0) throw new ArgumentException($"no step left after {warmupSteps} warm-up steps", nameof(stepSeconds));
        if (timed.Any(t => !(t > 0))) throw new ArgumentException("step times must be positive", nameof(stepSeconds));
        var ms = timed.Select(t => t * 1000).Order().ToArray();
        return new BenchmarkReport(mode, batchSize, warmupSteps, timed.Length, timed.Average(t => batchSize / t),
            ms.Average(), Percentile(ms, 90), Percentile(ms, 95), Percentile(ms, 99));
    }

    /// <summary>The numbers under the reference's names (<c>throughput_train</c>, <c>latency_train_mean</c>, <c>latency_train_90</c>, …).</summary>
    public IReadOnlyDictionary<string, double> ReferenceNames() => new Dictionary<string, double>
    {
        [$"throughput_{Mode}"] = Throughput,
        [$"latency_{Mode}_mean"] = LatencyMean,
        [$"latency_{Mode}_90"] = Latency90,
        [$"latency_{Mode}_95"] = Latency95,
        [$"latency_{Mode}_99"] = Latency99,
    };

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Mode}: {Throughput:F3} images/s, latency mean {LatencyMean:F1} ms, p90 {Latency90:F1}, p95 {Latency95:F1}, p99 {Latency99:F1} (batch {BatchSize}, {Precision}, {MeasuredSteps} steps after {WarmupSteps} warm-up)");

    /// <summary>numpy.percentile's default (linear) on sorted values.</summary>
    internal static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        double rank = q / 100 * (sorted.Count - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
