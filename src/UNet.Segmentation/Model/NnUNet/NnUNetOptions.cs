using System.Text.Json;
using System.Text.Json.Serialization;

namespace UNet.Segmentation.Model.NnUNet;

/// <summary>
/// The architecture of an <see cref="NnUNetModel"/>: nnU-Net's plain U-Net template for 2 or 3
/// spatial dimensions as NVIDIA's DeepLearningExamples nnUNet builds it (the TensorFlow 2
/// <c>models/unet.py</c> and the PyTorch twin's MONAI <c>DynUNet</c>, which agree). Levels run
/// from the input block (level 0) to the bottleneck (level <see cref="Levels"/> − 1); level i
/// has two convolutions with <see cref="Kernels"/>[i], the first strided by
/// <see cref="Strides"/>[i] (level 0: stride 1), each followed by instance norm (affine) and
/// leaky ReLU (<see cref="NegativeSlope"/>); the decoder block that returns to level i
/// up-samples with a transposed conv of kernel = stride = <see cref="Strides"/>[i + 1],
/// concatenates [up-sampled, skip] and runs two convolutions with <see cref="Kernels"/>[i + 1]
/// (the reference's <c>kernels[1:][::-1]</c>). A 1×1 conv gives the logits; with deep
/// supervision, 1×1 heads do the same on the decoder outputs of levels 1 … <see cref="DeepSupervisionHeads"/>.
/// </summary>
/// <remarks>
/// The defaults are the BraTS 3D configuration (<see cref="BraTS3D"/>): Medical Segmentation
/// Decathlon task 01 (Task01_BrainTumour) in the reference's <c>data_preprocessing/configs.py</c>:
/// patch 128×128×128 at 1×1×1 mm; 4 input channels (the MRI modalities FLAIR, T1w, T1gd, T2w:
/// <c>len(metadata["modality"])</c>); 4 output classes (<c>len(metadata["labels"])</c>: background,
/// edema, non-enhancing tumour, enhancing tumour; the reference's <c>--brats</c> flag instead
/// trains 3 sigmoid regions, <c>Classes = 3</c>); strides 1 then 2 five times (the reference's
/// default depth 5 and minimal feature map 4, <see cref="NnUNetPlan"/>), kernels 3; filters 32,
/// 64, 128, 256, 320, 320; deep supervision with 2 heads (the reference's training script passes
/// <c>--deep_supervision</c>, <c>--deep_supr_num</c> defaults to 2). Lists compare by reference
/// in the record's equality; compare <see cref="ToJson"/> texts for value equality.
/// </remarks>
public sealed record NnUNetOptions
{
    /// <summary>The BraTS 3D configuration: task 01's plan (see the remarks), 4 channels in, 4 classes out, 31,193,644 parameters with its 2 deep-supervision heads.</summary>
    public static NnUNetOptions BraTS3D { get; } = new();

    /// <summary>2 or 3: the spatial dimensions of images and kernels.</summary>
    public int SpatialDims { get; init; } = 3;

    /// <summary>Channels of the input (4 MRI modalities for BraTS).</summary>
    public int InputChannels { get; init; } = 4;

    /// <summary>Output channels: classes (softmax) or regions (sigmoid).</summary>
    public int Classes { get; init; } = 4;

    /// <summary>Per level, the convolution kernel size per spatial dimension (odd: 3, or 1 along a coarse axis).</summary>
    public IReadOnlyList<IReadOnlyList<int>> Kernels { get; init; } = Repeat([3, 3, 3], 6);

    /// <summary>Per level, the stride of its first convolution per spatial dimension (level 0: all 1).</summary>
    public IReadOnlyList<IReadOnlyList<int>> Strides { get; init; } = [[1, 1, 1], .. Repeat([2, 2, 2], 5)];

    /// <summary>Filters of level 0; each level doubles them up to <see cref="MaxFilters"/> (the reference: 32).</summary>
    public int BaseFilters { get; init; } = 32;

    /// <summary>The cap on a level's filters; null: the reference's 320 in 3D, 512 in 2D.</summary>
    public int? MaxFilters { get; init; }

    /// <summary>The leaky ReLU's slope for negative inputs (the reference: 0.01).</summary>
    public double NegativeSlope { get; init; } = 0.01;

    /// <summary>Whether the model has deep-supervision heads (<see cref="NnUNetModel.ForwardWithDeepSupervision"/>).</summary>
    public bool DeepSupervision { get; init; } = true;

    /// <summary>How many heads, on the decoder outputs of levels 1, 2, …; at least 1 and fewer than <see cref="Levels"/> − 1 (the reference: 2).</summary>
    public int DeepSupervisionHeads { get; init; } = 2;

    /// <summary>The training patch the plan was made for (each size divisible by the total stride); null when none was given.</summary>
    public IReadOnlyList<int>? PatchSize { get; init; } = [128, 128, 128];

    /// <summary>The voxel spacing (mm) the plan was made for, kept for the data pipeline; null when none was given.</summary>
    public IReadOnlyList<double>? Spacing { get; init; } = [1.0, 1.0, 1.0];

    /// <summary>Levels: the input block, the strided encoder blocks and the bottleneck.</summary>
    [JsonIgnore]
    public int Levels => Strides.Count;

    /// <summary>Filters per level: min(<see cref="BaseFilters"/>·2^i, the cap).</summary>
    [JsonIgnore]
    public IReadOnlyList<int> Filters
    {
        get
        {
            long cap = MaxFilters ?? (SpatialDims == 3 ? 320 : 512);
            return Enumerable.Range(0, Levels).Select(i => (int)Math.Min(cap, i >= 31 ? long.MaxValue : (long)BaseFilters << i)).ToArray();
        }
    }

    /// <summary>The product of all strides per dimension: an input's sizes must be multiples of it.</summary>
    [JsonIgnore]
    public IReadOnlyList<int> TotalStride =>
        Enumerable.Range(0, SpatialDims).Select(d => Strides.Aggregate(1L, (p, s) => d < s.Count ? Math.Min(p * s[d], int.MaxValue) : p)).Select(p => (int)p).ToArray();

    private static IReadOnlyList<int>[] Repeat(int[] value, int count) => Enumerable.Repeat<IReadOnlyList<int>>(value, count).ToArray();

    private static readonly JsonSerializerOptions JsonOptions = new();

    /// <summary>The options as JSON, as stored in checkpoints' metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Options from <see cref="ToJson"/>'s form; <see cref="JsonException"/> when the text is not such options.</summary>
    public static NnUNetOptions FromJson(string json) =>
        JsonSerializer.Deserialize<NnUNetOptions>(json ?? throw new ArgumentNullException(nameof(json)), JsonOptions) ?? throw new JsonException("the JSON is null");

    /// <summary>Every problem with these options, each beginning with its option's name; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        bool dimsOk = SpatialDims is 2 or 3;
        if (!dimsOk) problems.Add($"{nameof(SpatialDims)} must be 2 or 3 (got {SpatialDims})");
        if (InputChannels < 1) problems.Add($"{nameof(InputChannels)} must be at least 1 (got {InputChannels})");
        if (Classes < 1) problems.Add($"{nameof(Classes)} must be at least 1 (got {Classes})");
        if (BaseFilters < 1) problems.Add($"{nameof(BaseFilters)} must be at least 1 (got {BaseFilters})");
        if (MaxFilters is < 1) problems.Add($"{nameof(MaxFilters)} must be at least 1 when given (got {MaxFilters})");
        if (!(NegativeSlope >= 0 && NegativeSlope < 1)) problems.Add($"{nameof(NegativeSlope)} must lie in [0, 1) (got {NegativeSlope})");
        if (Kernels is null || Strides is null)
        {
            problems.Add($"{(Kernels is null ? nameof(Kernels) : nameof(Strides))} must be given, one entry per level");
            return problems;
        }
        if (Kernels.Count != Strides.Count)
            problems.Add($"{nameof(Kernels)} has {Kernels.Count} levels but {nameof(Strides)} has {Strides.Count}: one kernel and one stride per level");
        if (Strides.Count < 3)
            problems.Add($"{nameof(Strides)} must have at least 3 levels (input block, one strided block, bottleneck; got {Strides.Count})");
        for (int i = 0; i < Math.Max(Kernels.Count, Strides.Count); i++)
        {
            var k = i < Kernels.Count ? Kernels[i] : null;
            var s = i < Strides.Count ? Strides[i] : null;
            if (dimsOk && k is not null && k.Count != SpatialDims) problems.Add($"{nameof(Kernels)} at level {i} has {k.Count} sizes for {SpatialDims} spatial dimensions");
            if (dimsOk && s is not null && s.Count != SpatialDims) problems.Add($"{nameof(Strides)} at level {i} has {s.Count} sizes for {SpatialDims} spatial dimensions");
            if (k is not null && k.Any(v => v < 1 || v % 2 == 0)) problems.Add($"{nameof(Kernels)} at level {i} must be odd sizes of at least 1 (got {Show(k)})");
            if (s is not null && s.Any(v => v < 1)) problems.Add($"{nameof(Strides)} at level {i} must be at least 1 (got {Show(s)})");
            if (i == 0 && s is not null && s.Any(v => v != 1)) problems.Add($"{nameof(Strides)} at level 0 must be all 1: the input block keeps the full resolution (got {Show(s)})");
            if (k is not null && s is not null && k.Count == s.Count && k.Zip(s).Any(p => p.First + 1 < p.Second))
                problems.Add($"{nameof(Strides)} at level {i} exceed the kernel + 1 (got stride {Show(s)}, kernel {Show(k)}): the padding would be negative");
        }
        if (DeepSupervision && (DeepSupervisionHeads < 1 || DeepSupervisionHeads >= Strides.Count - 1))
            problems.Add($"{nameof(DeepSupervisionHeads)} must lie in 1..{Math.Max(1, Strides.Count - 2)} with {Strides.Count} levels (got {DeepSupervisionHeads})");
        if (PatchSize is not null && dimsOk && problems.Count == 0)
        {
            var total = TotalStride;
            if (PatchSize.Count != SpatialDims) problems.Add($"{nameof(PatchSize)} has {PatchSize.Count} sizes for {SpatialDims} spatial dimensions");
            else if (PatchSize.Where((size, d) => size < 1 || size % total[d] != 0).Any())
                problems.Add($"{nameof(PatchSize)} {Show(PatchSize)} is not divisible by the total stride {Show(total)}");
        }
        if (Spacing is not null && dimsOk && (Spacing.Count != SpatialDims || Spacing.Any(v => !(v > 0) || double.IsInfinity(v))))
            problems.Add($"{nameof(Spacing)} must be {SpatialDims} positive finite values when given (got {string.Join("×", Spacing)})");
        return problems;
    }

    /// <summary>Throws <see cref="NnUNetOptionsException"/> listing every problem, if any.</summary>
    public NnUNetOptions EnsureValid()
    {
        var problems = Validate();
        return problems.Count == 0 ? this : throw new NnUNetOptionsException(problems);
    }

    internal static string Show(IEnumerable<int> sizes) => string.Join("×", sizes);
}

/// <summary>nnU-Net options that cannot build a model, with every problem listed; <see cref="ArgumentException.ParamName"/> is the first problem's option.</summary>
public sealed class NnUNetOptionsException : OptionsValidationException
{
    /// <summary>Creates the exception from the problems.</summary>
    public NnUNetOptionsException(IReadOnlyList<string> problems)
        : base("nnU-Net options", problems) { }
}
