using UNet.Segmentation.Inference;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UNet.Segmentation.Model;

/// <summary>How the convolutions pad.</summary>
public enum ConvPadding
{
    /// <summary>No padding: each 3×3 conv loses 2 pixels (the paper and the reference: 572 → 388).</summary>
    Valid,
    /// <summary>One pixel of zeros: the output is as large as the input.</summary>
    Same,
}

/// <summary>How the decoder doubles the resolution.</summary>
public enum Upsampling
{
    /// <summary>The reference's 3×3 stride-2 transposed conv with TensorFlow 'same' arithmetic, then ReLU.</summary>
    TransposedConv3x3,
    /// <summary>The 2015 paper's 2×2 stride-2 up-convolution, linear.</summary>
    TransposedConv2x2,
}

/// <summary>How weights start.</summary>
public enum WeightInit
{
    /// <summary>Glorot (Xavier) uniform weights, zero biases: TensorFlow's default and the reference's.</summary>
    GlorotUniform,
    /// <summary>He normal (σ = √(2 / fan_in)), zero biases: the 2015 paper's.</summary>
    KaimingNormal,
    /// <summary>PyTorch's Conv2d default (Kaiming uniform with a = √5, bias U(±1/√fan_in)).</summary>
    PyTorchDefault,
}

/// <summary>
/// The architecture of a <see cref="UNetModel"/>. Defaults equal NVIDIA UNet_Medical's model
/// (<see cref="Reference"/>); <see cref="Paper"/> is Ronneberger et al. 2015.
/// </summary>
public sealed record UNetOptions
{
    /// <summary>The reference: 1 channel in, 2 classes, 64 base filters, depth 4, valid padding, dropout 0.5, 3×3 transposed convs, Glorot uniform, 572 → 388 (34,512,258 parameters).</summary>
    public static UNetOptions Reference { get; } = new();

    /// <summary>The 2015 paper: as the reference but 2×2 up-convolutions without ReLU and He-normal weights (31,030,658 parameters).</summary>
    public static UNetOptions Paper { get; } = new() { Upsampling = Upsampling.TransposedConv2x2, Initialization = WeightInit.KaimingNormal };

    /// <summary>Channels of the input image (1 for grey EM data).</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Output classes (2: membrane, interior).</summary>
    public int Classes { get; init; } = 2;

    /// <summary>Filters of the first block; each level down doubles them.</summary>
    public int BaseFilters { get; init; } = 64;

    /// <summary>Number of 2×2 poolings (and of up-sampling steps).</summary>
    public int Depth { get; init; } = 4;

    /// <summary>Valid (the paper, the reference) or same padding.</summary>
    public ConvPadding Padding { get; init; } = ConvPadding.Valid;

    /// <summary>Dropout before the bottleneck's up-sampling, in training only; 0 disables it.</summary>
    public double DropoutRate { get; init; } = 0.5;

    /// <summary>The decoder's up-sampling.</summary>
    public Upsampling Upsampling { get; init; } = Upsampling.TransposedConv3x3;

    /// <summary>Batch normalisation after every 3×3 conv (then the convs have no bias).</summary>
    public bool BatchNorm { get; init; }

    /// <summary>Keep weights and activations channels-last (NHWC): faster convolutions on CPU and tensor cores.</summary>
    public bool ChannelsLast { get; init; }

    /// <summary>Weight initialisation.</summary>
    public WeightInit Initialization { get; init; } = WeightInit.GlorotUniform;

    /// <summary>The input size the model is built for (square); it must be valid for the depth and padding.</summary>
    public int InputSize { get; init; } = 572;

    private static readonly JsonSerializerOptions JsonOptions = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The options as JSON (enum names as strings), as stored in checkpoints' metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Options from <see cref="ToJson"/>'s form; <see cref="JsonException"/> when the text is not such options.</summary>
    public static UNetOptions FromJson(string json) =>
        JsonSerializer.Deserialize<UNetOptions>(json ?? throw new ArgumentNullException(nameof(json)), JsonOptions) ?? throw new JsonException("the JSON is null");

    /// <summary>Every problem with these options, each naming its option; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (InputChannels < 1) problems.Add($"{nameof(InputChannels)} must be at least 1 (got {InputChannels})");
        if (Classes < 1) problems.Add($"{nameof(Classes)} must be at least 1 (got {Classes})");
        if (BaseFilters < 1) problems.Add($"{nameof(BaseFilters)} must be at least 1 (got {BaseFilters})");
        if (Depth < 1 || Depth > 8) problems.Add($"{nameof(Depth)} must lie in 1..8 (got {Depth})");
        else if (BaseFilters >= 1 && (long)BaseFilters << Depth > int.MaxValue) problems.Add($"{nameof(BaseFilters)} {BaseFilters} at {nameof(Depth)} {Depth} overflows the filter count");
        if (!(DropoutRate >= 0 && DropoutRate < 1)) problems.Add($"{nameof(DropoutRate)} must lie in [0, 1) (got {DropoutRate})");
        if (!Enum.IsDefined(Padding)) problems.Add($"{nameof(Padding)} {Padding} is not a known padding");
        if (!Enum.IsDefined(Upsampling)) problems.Add($"{nameof(Upsampling)} {Upsampling} is not a known up-sampling");
        if (!Enum.IsDefined(Initialization)) problems.Add($"{nameof(Initialization)} {Initialization} is not a known initialisation");
        if (Depth is >= 1 and <= 8 && Enum.IsDefined(Padding) && !TryOutputSize(InputSize, out _))
            problems.Add($"{nameof(InputSize)} {InputSize} does not fit depth {Depth} with {Padding.ToString().ToLowerInvariant()} padding; nearest valid sizes: {string.Join(", ", NearestValidInputSizes(InputSize))}");
        return problems;
    }

    /// <summary>Throws <see cref="UNetOptionsException"/> listing every problem, if any.</summary>
    public UNetOptions EnsureValid()
    {
        var problems = Validate();
        return problems.Count == 0 ? this : throw new UNetOptionsException(problems);
    }

    /// <summary>The output size for a square input of <paramref name="inputSize"/> (572 → 388 for the reference).</summary>
    public int OutputSize(int inputSize) =>
        TryOutputSize(inputSize, out int output) ? output
        : throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize,
            $"not a valid input size for depth {Depth} with {Padding.ToString().ToLowerInvariant()} padding; nearest valid sizes: {string.Join(", ", NearestValidInputSizes(inputSize))}");

    /// <summary>True when an input of this size runs through the network without fractional sizes.</summary>
    public bool IsValidInputSize(int inputSize) => TryOutputSize(inputSize, out _);

    /// <summary>The valid input sizes in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public IEnumerable<int> ValidInputSizes(int min = 1, int max = 1024) =>
        UNetGeometry.ValidInputSizes(Depth, Padding == ConvPadding.Valid, min, max);

    private IEnumerable<int> NearestValidInputSizes(int size) => UNetGeometry.NearestValidInputSizes(size, Depth, Padding == ConvPadding.Valid);

    private bool TryOutputSize(int inputSize, out int output) =>
        UNetGeometry.TryOutputSize(inputSize, Depth, Padding == ConvPadding.Valid, out output);
}

/// <summary>Options that cannot build a model, with every problem listed.</summary>
public sealed class UNetOptionsException : OptionsValidationException
{
    /// <summary>Creates the exception from the problems.</summary>
    public UNetOptionsException(IReadOnlyList<string> problems)
        : base("U-Net options", problems) { }
}
