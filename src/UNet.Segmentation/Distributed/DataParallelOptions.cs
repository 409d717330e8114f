using System.Collections;
using System.Globalization;

namespace UNet.Segmentation.Distributed;

/// <summary>
/// How a data-parallel trainer talks to the other ranks: the watchdog's timeout and the gradient
/// buckets' size. <see cref="FromEnvironment"/> reads <see cref="TimeoutVariable"/>.
/// </summary>
public sealed record DataParallelOptions
{
    /// <summary>The environment variable with the collective timeout in seconds (default 600).</summary>
    public const string TimeoutVariable = "UNET_DIST_TIMEOUT_SECONDS";

    /// <summary>PyTorch DDP's default bucket: 25 MiB of gradients per all-reduce.</summary>
    public const long DefaultBucketBytes = 25L << 20;

    /// <summary>
    /// How long one collective may wait for the other ranks before the watchdog aborts the job.
    /// It must exceed the longest time one rank spends without the others (rank 0's evaluations
    /// and checkpoint writes).
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Gradients are averaged in flat buckets of about this many bytes, one all-reduce each.</summary>
    public long BucketBytes { get; init; } = DefaultBucketBytes;

    /// <summary>
    /// The defaults, with <see cref="Timeout"/> from <see cref="TimeoutVariable"/> when set; a
    /// malformed value is an <see cref="ArgumentException"/> naming the variable.
    /// </summary>
    public static DataParallelOptions FromEnvironment(IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        var options = new DataParallelOptions();
        if (environment[TimeoutVariable] is string t && !string.IsNullOrWhiteSpace(t))
        {
            if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0) || seconds > 7 * 86400)
                throw new ArgumentException($"the environment variable {TimeoutVariable} must be a positive number of seconds up to a week (got '{t}')", TimeoutVariable);
            options = options with { Timeout = TimeSpan.FromSeconds(seconds) };
        }
        return options;
    }

    /// <summary>Every problem, each naming its option; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (Timeout <= TimeSpan.Zero) p.Add($"{nameof(Timeout)} must be positive (got {Timeout})");
        if (BucketBytes < 4) p.Add($"{nameof(BucketBytes)} must be at least 4 (got {BucketBytes})");
        return p;
    }
}
