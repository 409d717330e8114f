using System.Text.Json.Serialization;

namespace UNet.Segmentation.Data.Msd;

/// <summary>What the preprocessing of a task may be told instead of computing it from the data.</summary>
public sealed record MsdPreprocessingOptions
{
    /// <summary>The training patch size (z, y, x); cases are padded to at least it. Default 128³, the reference's for Task01 (BraTS).</summary>
    public Shape3D PatchSize { get; init; } = new(128, 128, 128);

    /// <summary>The spacing (z, y, x, mm) to resample to; null: computed from the training cases (<see cref="MsdPreprocessing.TargetSpacing"/>).</summary>
    public IReadOnlyList<double>? TargetSpacing { get; init; }

    /// <summary>For a CT task, the statistics to normalise with; null: collected from the training cases' foreground (<see cref="CtStatistics"/>).</summary>
    public CtStatistics? CtStatistics { get; init; }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every invalid setting.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (PatchSize.Depth < 1 || PatchSize.Height < 1 || PatchSize.Width < 1) problems.Add($"{nameof(PatchSize)} must be at least 1 along each axis, not {PatchSize}");
        if (TargetSpacing is not null && (TargetSpacing.Count != 3 || TargetSpacing.Any(v => !double.IsFinite(v) || v <= 0)))
            problems.Add($"{nameof(TargetSpacing)} must be 3 finite positive values (z, y, x), not ({string.Join(", ", TargetSpacing)})");
        if (CtStatistics is { } ct && (!(ct.Std > 0) || !(ct.Min <= ct.Max) || !double.IsFinite(ct.Mean)))
            problems.Add($"{nameof(CtStatistics)} needs Min ≤ Max, a finite mean and Std > 0, not {ct}");
        if (problems.Count > 0) throw new OptionsValidationException(nameof(MsdPreprocessingOptions), problems);
    }
}

/// <summary>
/// What preprocessing a task's cases share (the reference's <c>config.pkl</c> and more): the
/// target spacing, the patch size, the normalisation and its statistics, channels and classes.
/// </summary>
/// <param name="TargetSpacing">The spacing (z, y, x, mm) every case is resampled to.</param>
/// <param name="PatchSize">The patch size (z, y, x); training cases are padded to at least it.</param>
/// <param name="IsCt">True for a CT task (clip and z-score with <paramref name="CtStatistics"/>); false: per-channel z-score over non-zero voxels.</param>
/// <param name="CtStatistics">The CT statistics; null unless <paramref name="IsCt"/>.</param>
/// <param name="Channels">Image channels (modalities).</param>
/// <param name="Classes">Classes, background included (the length of <c>labels</c>).</param>
public sealed record MsdPlan(
    [property: JsonPropertyName("targetSpacing")] IReadOnlyList<double> TargetSpacing,
    [property: JsonPropertyName("patchSize")] Shape3D PatchSize,
    [property: JsonPropertyName("isCt")] bool IsCt,
    [property: JsonPropertyName("ctStatistics")] CtStatistics? CtStatistics,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("classes")] int Classes)
{
    /// <summary>
    /// The plan of <paramref name="task"/>: the target spacing from the training images' headers
    /// unless given, and for CT the foreground statistics from every training case unless given.
    /// </summary>
    /// <exception cref="MsdDataException">A file cannot be read or does not fit the task.</exception>
    public static MsdPlan Create(MsdTask task, MsdPreprocessingOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var target = options.TargetSpacing?.ToArray()
            ?? MsdPreprocessing.TargetSpacing(task.Training.Select(c => (IReadOnlyList<double>)MsdCaseReader.ReadSpacing(c.ImagePath)).ToList());
        CtStatistics? ct = null;
        if (task.IsCt)
        {
            ct = options.CtStatistics;
            if (ct is null)
            {
                var values = new List<float>();
                foreach (var item in task.Training)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var data = MsdCaseReader.Read(task, item);
                    for (int i = 0; i < data.Labels!.Data.Length; i++)
                        if (data.Labels.Data[i] > 0) values.Add(data.Image.Data[i]);
                }
                if (values.Count == 0) throw new MsdDataException(task.DatasetJsonPath, "training", "no training label map has a foreground voxel to take the CT statistics from");
                ct = CtStatistics.FromValues(values);
            }
        }
        return new MsdPlan(target, options.PatchSize, task.IsCt, ct, task.Modalities.Count, task.Labels.Count);
    }
}
