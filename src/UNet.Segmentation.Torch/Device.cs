namespace UNet.Segmentation.Torch;

/// <summary>Kinds of device. Values are the ABI's codes.</summary>
public enum DeviceType
{
    /// <summary>The host processor.</summary>
    Cpu = 0,
    /// <summary>An NVIDIA GPU.</summary>
    Cuda = 1,
}

/// <summary>Where a tensor lives: <c>cpu</c> or <c>cuda:N</c>.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    /// <summary>The host processor.</summary>
    public static Device Cpu { get; } = new(DeviceType.Cpu);

    /// <summary>The CUDA device with this index.</summary>
    public static Device Cuda(int index = 0) =>
        index < 0 ? throw new ArgumentOutOfRangeException(nameof(index), index, "device index must be non-negative") : new(DeviceType.Cuda, index);

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda") return Cuda();
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out int index) && index >= 0)
            return Cuda(index);
        throw new ArgumentException($"'{text}' is not a device: use cpu, cuda or cuda:N", nameof(text));
    }

    /// <inheritdoc />
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";
}

/// <summary>Memory layouts. Values are the ABI's codes.</summary>
public enum MemoryFormat
{
    /// <summary>Row-major (NCHW for images).</summary>
    Contiguous = 0,
    /// <summary>NHWC strides for 4-D tensors; faster convolutions on CPU and tensor cores.</summary>
    ChannelsLast = 1,
    /// <summary>Keep the input's layout.</summary>
    Preserve = 2,
}
