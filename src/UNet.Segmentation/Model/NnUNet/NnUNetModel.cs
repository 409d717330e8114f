using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Serialization;
using static TorchSharp.torch;

namespace UNet.Segmentation.Model.NnUNet;

/// <summary>
/// nnU-Net's U-Net for 2-D or 3-D images, as NVIDIA's DeepLearningExamples nnUNet builds it (see
/// <see cref="NnUNetOptions"/> for the architecture and <see cref="NnUNetPlan"/> for how the
/// kernels and strides come from the patch and the spacing). <see cref="forward"/> gives the
/// logits at the input's resolution; <see cref="ForwardWithDeepSupervision"/> adds the heads'
/// outputs for training.
/// </summary>
/// <remarks>
/// State-dict keys are those of MONAI's <c>DynUNet</c>, the module the reference's PyTorch
/// version trains: <c>input_block.{conv1,conv2}.conv.weight</c>, <c>input_block.{norm1,norm2}.{weight,bias}</c>,
/// <c>downsamples.{i}.…</c> and <c>bottleneck.…</c> alike, <c>upsamples.{j}.transp_conv.conv.{weight,bias}</c>,
/// <c>upsamples.{j}.conv_block.…</c> (j = 0 the deepest), <c>output_block.conv.conv.{weight,bias}</c>,
/// <c>deep_supervision_heads.{h}.conv.conv.{weight,bias}</c>. A <c>DynUNet</c> state dict also
/// repeats every weight under <c>skip_layers.…</c> (its recursive wiring of the same modules;
/// MONAI itself loads old weights with <c>strict=False</c>): drop those keys and the rest loads here.
/// </remarks>
public sealed class NnUNetModel : nn.Module<Tensor, Tensor>
{
    /// <summary>The metadata key under which <see cref="Save"/> stores the options as JSON.</summary>
    public const string OptionsMetadataKey = "nnunet_options";

    private static string Checked(NnUNetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        TorchRuntime.EnsureLoaded();
        return nameof(NnUNetModel);
    }

    /// <summary>Builds the network; throws <see cref="NnUNetOptionsException"/> listing every problem with the options.</summary>
    public NnUNetModel(NnUNetOptions options) : base(Checked(options))
    {
        Options = options;
        var f = options.Filters;
        int levels = options.Levels;
        using var scope = NewDisposeScope();
        InputBlock = new NnUNetConvBlock(options, options.InputChannels, f[0], options.Kernels[0], options.Strides[0]);
        Downsamples = new ModuleList<NnUNetConvBlock>(Enumerable.Range(1, levels - 2)
            .Select(i => new NnUNetConvBlock(options, f[i - 1], f[i], options.Kernels[i], options.Strides[i])).ToArray());
        Bottleneck = new NnUNetConvBlock(options, f[levels - 2], f[levels - 1], options.Kernels[levels - 1], options.Strides[levels - 1]);
        // upsamples[j] returns to level l = levels − 2 − j: kernel of level l + 1, up-stride of level l + 1.
        Upsamples = new ModuleList<NnUNetUpBlock>(Enumerable.Range(0, levels - 1).Select(j => levels - 2 - j)
            .Select(l => new NnUNetUpBlock(options, f[l + 1], f[l], options.Kernels[l + 1], options.Strides[l + 1])).ToArray());
        OutputBlock = new NnUNetOutputBlock(options, f[0]);
        register_module("input_block", InputBlock);
        register_module("downsamples", Downsamples);
        register_module("bottleneck", Bottleneck);
        register_module("upsamples", Upsamples);
        register_module("output_block", OutputBlock);
        if (options.DeepSupervision)
        {
            DeepSupervisionHeads = new ModuleList<NnUNetOutputBlock>(Enumerable.Range(1, options.DeepSupervisionHeads)
                .Select(level => new NnUNetOutputBlock(options, f[level])).ToArray());
            register_module("deep_supervision_heads", DeepSupervisionHeads);
        }
    }

    /// <summary>The options the model was built with.</summary>
    public NnUNetOptions Options { get; }
    /// <summary>Level 0: the full-resolution encoder block.</summary>
    public NnUNetConvBlock InputBlock { get; }
    /// <summary>Levels 1 … L − 2: the strided encoder blocks.</summary>
    public ModuleList<NnUNetConvBlock> Downsamples { get; }
    /// <summary>Level L − 1.</summary>
    public NnUNetConvBlock Bottleneck { get; }
    /// <summary>The decoder steps, deepest first.</summary>
    public ModuleList<NnUNetUpBlock> Upsamples { get; }
    /// <summary>The 1×1 conv to the classes at level 0.</summary>
    public NnUNetOutputBlock OutputBlock { get; }
    /// <summary>The heads on the decoder outputs of levels 1, 2, …; null without deep supervision.</summary>
    public ModuleList<NnUNetOutputBlock>? DeepSupervisionHeads { get; }

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    /// <summary>The tensor conversions its convolutions made to compute a low-precision input in float32 (<see cref="NnUNetConv.ComputesInFloat32"/>).</summary>
    internal long LayerCasts => modules().OfType<NnUNetConv>().Sum(c => c.Casts);

    /// <summary>The number of trainable values (31,193,644 for <see cref="NnUNetOptions.BraTS3D"/>, its heads included).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// Logits N×classes×(D×)H×W at the input's resolution, for an N×channels×(D×)H×W input whose
    /// spatial sizes are multiples of <see cref="NnUNetOptions.TotalStride"/>. The heads, if any, do not run.
    /// </summary>
    /// <exception cref="ArgumentException">The input's rank, channels or sizes do not fit the model (the message says which).</exception>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (top, _) = Run(input, heads: 0);
        return OutputBlock.forward(top).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The training forward pass with deep supervision, shaped as the reference's: one tensor
    /// N×(1 + heads)×classes×(D×)H×W stacking, along dimension 1, the main logits (index 0, equal
    /// to <see cref="forward"/>'s) and head h's logits (index h, from the decoder output of level
    /// h) brought to the input's resolution by nearest-neighbour up-sampling (each voxel repeated
    /// by the stride below it). The reference (MONAI <c>DynUNet</c>, trained by NVIDIA's
    /// <c>compute_loss</c>) weighs output i's loss against the full-resolution labels by 0.5^i
    /// and divides by the sum of the weights; the TF version up-samples the heads the same way.
    /// Without deep supervision it is the main logits alone, N×1×classes×….
    /// </summary>
    /// <exception cref="ArgumentException">The input does not fit the model.</exception>
    public Tensor ForwardWithDeepSupervision(Tensor input)
    {
        using var scope = NewDisposeScope();
        int heads = DeepSupervisionHeads?.Count ?? 0;
        var (top, decoded) = Run(input, heads);
        var size = top.shape[2..];
        var outputs = new List<Tensor> { OutputBlock.forward(top) };
        for (int h = 1; h <= heads; h++)
        {
            using var low = DeepSupervisionHeads![h - 1].forward(decoded[h]);
            outputs.Add(RepeatTo(low, size));
        }
        return stack(outputs, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Nearest-neighbour up-sampling by whole factors (each voxel repeated size / low along each
    /// axis), written as a broadcast so that its backward is a plain sum: libtorch's CPU
    /// nearest-interpolation backward in bfloat16 left uninitialised values in the gradient of
    /// heads whose outputs the loss does not use and was not reproducible run to run.
    /// </summary>
    private static Tensor RepeatTo(Tensor low, long[] size)
    {
        long[] shape = low.shape;
        int dims = size.Length;
        var spread = new long[2 + 2 * dims];
        var expanded = new long[2 + 2 * dims];
        (spread[0], spread[1], expanded[0], expanded[1]) = (shape[0], shape[1], shape[0], shape[1]);
        for (int d = 0; d < dims; d++)
        {
            spread[2 + 2 * d] = expanded[2 + 2 * d] = shape[2 + d];
            spread[3 + 2 * d] = 1;
            expanded[3 + 2 * d] = size[d] / shape[2 + d];
        }
        return low.reshape(spread).expand(expanded).reshape([shape[0], shape[1], .. size]);
    }

    /// <summary>The encoder and decoder; returns the level-0 decoder output and, by level, the decoder outputs the heads need.</summary>
    private (Tensor Top, Tensor[] Decoded) Run(Tensor input, int heads)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input);
        int levels = Options.Levels;
        var skips = new Tensor[levels - 1];
        skips[0] = InputBlock.forward(input);
        for (int i = 1; i < levels - 1; i++) skips[i] = Downsamples[i - 1].forward(skips[i - 1]);
        var x = Bottleneck.forward(skips[levels - 2]);
        var decoded = new Tensor[heads + 1];
        for (int j = 0; j < levels - 1; j++)
        {
            int level = levels - 2 - j;
            var below = x;
            x = Upsamples[j].forward(below, skips[level]);
            // Handles no longer needed go now (autograd keeps what backward needs), so inference
            // does not hold every level's activations to the end.
            skips[level].Dispose();
            if (level + 1 > heads) below.Dispose();
            if (level <= heads) decoded[level] = x;
        }
        return (x, decoded);
    }

    private void CheckInput(Tensor input)
    {
        int dims = Options.SpatialDims;
        long[] shape = input.shape;
        string layout = dims == 3 ? "N×C×D×H×W" : "N×C×H×W";
        if (shape.Length != dims + 2)
            throw new ArgumentException($"the input must be {layout}; got {shape.Length} dimensions", nameof(input));
        if (shape[1] != Options.InputChannels)
            throw new ArgumentException($"the model takes {Options.InputChannels} input channel(s); the input has {shape[1]}", nameof(input));
        var total = Options.TotalStride;
        if (shape[2..].Where((size, d) => size < 1 || size % total[d] != 0).Any())
            throw new ArgumentException(
                $"the input's spatial sizes {string.Join("×", shape[2..])} must be multiples of the total stride {NnUNetOptions.Show(total)}", nameof(input));
    }

    /// <summary>Writes the weights as safetensors (PyTorch-loadable), with the options as JSON under <see cref="OptionsMetadataKey"/>.</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var metadata = new Dictionary<string, string>(extraMetadata ?? new Dictionary<string, string>())
        {
            [OptionsMetadataKey] = Options.ToJson(),
            ["format"] = "pt",
        };
        using var scope = NewDisposeScope();
        Safetensors.Save(path, state_dict().Select(kv => KeyValuePair.Create(kv.Key, kv.Value.contiguous())).ToList(), metadata);
    }

    /// <summary>Rebuilds a model from a file written by <see cref="Save"/> or a training checkpoint of the Trainer: the options come from its metadata.</summary>
    /// <exception cref="SafetensorsFormatException">The file is not valid safetensors (the message names it).</exception>
    /// <exception cref="InvalidDataException">The file holds no nnU-Net options, or weights that do not fit them.</exception>
    public static NnUNetModel Load(string path, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var file = Safetensors.Load(path);
        return ModelFiles.Read(file, path, OptionsMetadataKey, "nnU-Net", NnUNetOptions.FromJson, o => new NnUNetModel(o), device);
    }
}
