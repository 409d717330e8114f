namespace UNet.Segmentation.Inference;

/// <summary>What <c>PredictVolume</c> read and wrote.</summary>
public sealed record PredictionResult
{
    /// <summary>The input TIFF.</summary>
    public required string InputPath { get; init; }

    /// <summary>Pages predicted (the input's page count).</summary>
    public required int PageCount { get; init; }

    /// <summary>Rows per page.</summary>
    public required int Height { get; init; }

    /// <summary>Columns per page.</summary>
    public required int Width { get; init; }

    /// <summary>The float32 TIFF of interior probabilities (0 = membrane certain, 1 = interior certain).</summary>
    public required string ProbabilitiesPath { get; init; }

    /// <summary>The 8-bit mask TIFF (255 = interior, 0 = membrane), or null when none was asked for.</summary>
    public string? MasksPath { get; init; }

    /// <summary>The overlay PNGs, one per page in page order; empty when none were asked for.</summary>
    public IReadOnlyList<string> OverlayPaths { get; init; } = [];

    /// <summary>The fraction of all pixels predicted interior (mask 255): a quick check against all-black or all-white predictions.</summary>
    public required double InteriorFraction { get; init; }

    /// <summary>Wall-clock time of the whole call, reading and writing included.</summary>
    public required TimeSpan Elapsed { get; init; }
}
