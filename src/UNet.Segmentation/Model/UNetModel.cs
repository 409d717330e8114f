using System.Runtime.InteropServices;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using UNet.Segmentation.Model.Blocks;
using UNet.Segmentation.Model.Precision;
using UNet.Segmentation.Runtime;
using UNet.Segmentation.Serialization;
using static TorchSharp.torch;

namespace UNet.Segmentation.Model;

/// <summary>
/// The U-Net of NVIDIA's UNet_Medical (and, with <see cref="UNetOptions.Paper"/>, of the 2015
/// paper). State-dict keys: <c>input_block.conv1.weight</c>, <c>down_blocks.{i}.conv{1,2}.*</c>,
/// <c>bottleneck.conv{1,2}.*</c>, <c>bottleneck.upconv.*</c>, <c>up_blocks.{i}.conv{1,2}.*</c>,
/// <c>up_blocks.{i}.upconv.*</c>, <c>output_block.conv{1,2,3}.*</c>; with batch norm also
/// <c>bn1</c>/<c>bn2</c> beside each conv pair (see docs/model.md).
/// </summary>
public sealed class UNetModel : nn.Module<Tensor, Tensor>
{
    // Runs before TorchSharp's Module constructor, the first native call: bad options are named
    // first, and a missing native backend is a TorchNativeLibraryException naming the package to add.
    private static string Checked(UNetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        TorchRuntime.EnsureLoaded();
        return nameof(UNetModel);
    }

    /// <summary>The metadata key under which <see cref="Save"/> stores the options as JSON.</summary>
    public const string OptionsMetadataKey = "unet_options";

    /// <summary>Key prefixes of checkpoint sections that are not weights (optimizer state, generator state); <see cref="Load(string, Device?)"/> skips them.</summary>
    public static readonly IReadOnlyList<string> NonWeightPrefixes = ["optimizer.", "rng."];

    /// <summary>Builds the network; throws <see cref="UNetOptionsException"/> listing every problem with the options.</summary>
    public UNetModel(UNetOptions options) : base(Checked(options))
    {
        Options = options.EnsureValid();
        long f = options.BaseFilters;
        using var scope = NewDisposeScope();
        InputBlock = new InputBlock(options.InputChannels, f, options);
        DownBlocks = new ModuleList<DownsampleBlock>(
            Enumerable.Range(1, options.Depth - 1).Select(level => new DownsampleBlock(f << (level - 1), f << level, options)).ToArray());
        Bottleneck = new Bottleneck(f << (options.Depth - 1), f << options.Depth, options);
        UpBlocks = new ModuleList<UpsampleBlock>(
            Enumerable.Range(1, options.Depth - 1).Reverse().Select(level => new UpsampleBlock(f << level, options)).ToArray());
        OutputBlock = new OutputBlock(f, options.Classes, options);
        register_module("input_block", InputBlock);
        register_module("down_blocks", DownBlocks);
        register_module("bottleneck", Bottleneck);
        register_module("up_blocks", UpBlocks);
        register_module("output_block", OutputBlock);
        if (options.ChannelsLast) ChannelsLast.Apply(this);
    }

    /// <summary>The options the model was built with.</summary>
    public UNetOptions Options { get; }
    /// <summary>The first encoder block.</summary>
    public InputBlock InputBlock { get; }
    /// <summary>The other encoder blocks, top to bottom.</summary>
    public ModuleList<DownsampleBlock> DownBlocks { get; }
    /// <summary>The bottom of the U.</summary>
    public Bottleneck Bottleneck { get; }
    /// <summary>The decoder blocks, bottom to top.</summary>
    public ModuleList<UpsampleBlock> UpBlocks { get; }
    /// <summary>The last block, producing the logits.</summary>
    public OutputBlock OutputBlock { get; }

    /// <summary>The number of trainable values (34,512,258 for the reference).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>The output size for an input size (572 → 388 for the reference).</summary>
    public int OutputSize(int inputSize) => Options.OutputSize(inputSize);

    /// <summary>The valid square input sizes in a range.</summary>
    public IEnumerable<int> ValidInputSizes(int min = 1, int max = 1024) => Options.ValidInputSizes(min, max);

    /// <summary>Logits N×classes×H'×W' for an N×channels×H×W input whose sizes are valid for the model.</summary>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input);
        using var scope = NewDisposeScope();
        var x = Options.ChannelsLast ? ChannelsLast.Of(input) : input;
        var skips = new List<Tensor>(Options.Depth);
        (x, var skip) = InputBlock.Forward(x);
        skips.Add(skip);
        foreach (var block in DownBlocks)
        {
            (x, skip) = block.Forward(x);
            skips.Add(skip);
        }
        x = Bottleneck.Forward(x);
        for (int i = 0; i < UpBlocks.Count; i++)
            x = UpBlocks[i].Forward(x, skips[^(i + 1)]);
        return OutputBlock.Forward(x, skips[0]).MoveToOuterDisposeScope();
    }

    private void CheckInput(Tensor input)
    {
        long[] shape = input.shape;
        int dims = shape.Length;
        if (dims != 4)
            throw new ArgumentException($"the input must be N×C×H×W; got {dims} dimensions", nameof(input));
        if (shape[1] != Options.InputChannels)
            throw new ArgumentException($"the model takes {Options.InputChannels} input channel(s); the input has {shape[1]}", nameof(input));
        foreach (var (size, name) in new[] { (shape[2], "height"), (shape[3], "width") })
            if (size > int.MaxValue || !Options.IsValidInputSize((int)size))
                throw new ArgumentException(
                    $"input {name} {size} is not valid for depth {Options.Depth} with {Options.Padding.ToString().ToLowerInvariant()} padding (valid sizes near it: {string.Join(", ", Options.ValidInputSizes((int)Math.Max(1, size - 40), (int)Math.Min(int.MaxValue, size + 40)))})",
                    nameof(input));
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
        // Checkpoints are written contiguous (NCHW) so any reader sees the usual layout.
        var tensors = state_dict().Select(kv => KeyValuePair.Create(kv.Key, kv.Value.contiguous()));
        Safetensors.Save(path, tensors.ToList(), metadata);
    }

    /// <summary>Rebuilds a model from a file written by <see cref="Save"/> or a training checkpoint: the options come from its metadata.</summary>
    /// <exception cref="SafetensorsFormatException">The file is not valid safetensors (the message names it).</exception>
    /// <exception cref="InvalidDataException">The file holds no U-Net options, or weights that do not fit them.</exception>
    public static UNetModel Load(string path, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var file = Safetensors.Load(path);
        return FromSafetensors(file, path, device);
    }

    /// <summary>
    /// Rebuilds a model from the bytes of a checkpoint (what <see cref="Save"/> writes) in
    /// <paramref name="checkpoint"/>, from its position to its end (the stream is not disposed); errors
    /// call it "the checkpoint stream".
    /// </summary>
    /// <exception cref="SafetensorsFormatException">The bytes are not valid safetensors (empty, truncated, another format).</exception>
    /// <exception cref="InvalidDataException">They hold no U-Net options, or weights that do not fit them.</exception>
    public static UNetModel Load(Stream checkpoint, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        const string name = "the checkpoint stream";
        using var file = Safetensors.Load(checkpoint, name, device: null);
        return FromSafetensors(file, name, device);
    }

    /// <summary>Rebuilds a model from a checkpoint held in memory (what <see cref="Save"/> writes); errors call it "the checkpoint bytes".</summary>
    /// <exception cref="SafetensorsFormatException">The bytes are not valid safetensors (empty, truncated, another format).</exception>
    /// <exception cref="InvalidDataException">They hold no U-Net options, or weights that do not fit them.</exception>
    public static UNetModel Load(ReadOnlyMemory<byte> checkpoint, Device? device = null)
    {
        const string name = "the checkpoint bytes";
        using var stream = MemoryMarshal.TryGetArray(checkpoint, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(checkpoint.ToArray(), writable: false);
        using var file = Safetensors.Load(stream, name, device: null);
        return FromSafetensors(file, name, device);
    }

    /// <summary>The model of a loaded checkpoint, <paramref name="path"/> naming it in errors.</summary>
    private static UNetModel FromSafetensors(SafetensorsFile file, string path, Device? device) =>
        ModelFiles.Read(file, path, OptionsMetadataKey, "U-Net", UNetOptions.FromJson, o => new UNetModel(o), device);
}
