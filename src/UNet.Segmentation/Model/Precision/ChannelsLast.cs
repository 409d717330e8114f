using static TorchSharp.torch;

namespace UNet.Segmentation.Model.Precision;

/// <summary>
/// Channels-last (NHWC) strides for 4-D tensors, in place of the memory-format API TorchSharp
/// 0.107 lacks: permuting to N×H×W×C, making that contiguous and permuting back gives an
/// N×C×H×W tensor whose channels are adjacent in memory, which libtorch's convolutions keep.
/// </summary>
public static class ChannelsLast
{
    /// <summary>Whether a 4-D tensor's strides are channels-last (C the innermost dimension).</summary>
    public static bool Is(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Dimensions != 4) return false;
        var s = tensor.stride();
        long c = tensor.shape[1], w = tensor.shape[3], h = tensor.shape[2];
        return s[1] == 1 && s[3] == c && s[2] == c * w && (tensor.shape[0] == 1 || s[0] == c * w * h);
    }

    /// <summary>A channels-last copy of a 4-D tensor (or a new handle on it when it already is).</summary>
    public static Tensor Of(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Dimensions != 4) throw new ArgumentException($"channels-last needs a 4-D tensor; got {tensor.Dimensions} dimensions", nameof(tensor));
        if (Is(tensor)) return tensor.alias();
        using var nhwc = tensor.permute(0, 2, 3, 1);
        using var packed = nhwc.contiguous();
        return packed.permute(0, 3, 1, 2);
    }

    /// <summary>Re-lays every 4-D parameter of <paramref name="module"/> channels-last in place (values and gradients unchanged).</summary>
    public static void Apply(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var noGrad = no_grad();
        foreach (var p in module.parameters())
        {
            if (p.Dimensions != 4 || Is(p)) continue;
            using var cl = Of(p);
            p.set_(cl);
        }
    }
}
