using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Runtime;

/// <summary>Device names as users type them ("cpu", "cuda", "cuda:1"), and the CUDA switches TorchSharp exposes.</summary>
public static class Devices
{
    /// <summary>
    /// The device for "cpu", "cuda" or "cuda:N" (case-insensitive). Stricter than TorchSharp's own
    /// parser: anything else is an <see cref="ArgumentException"/> naming the text, and CUDA on a
    /// machine (or backend package) without it says so instead of failing at the first tensor.
    /// </summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return CPU;
        int index = 0;
        bool cuda = t == "cuda" || (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), System.Globalization.NumberStyles.None, null, out index));
        if (!cuda) throw new ArgumentException($"'{text}' is not a device: use cpu, cuda or cuda:N", nameof(text));
        TorchRuntime.EnsureLoaded();
        if (!torch.cuda.is_available())
            throw new ArgumentException($"'{text}': CUDA is not available (the application references no CUDA backend such as TorchSharp-cuda-linux, or no GPU is visible)", nameof(text));
        int count = torch.cuda.device_count();
        if (index >= count) throw new ArgumentException($"'{text}': this machine has {count} CUDA device(s)", nameof(text));
        return new Device(DeviceType.CUDA, index);
    }

    /// <summary>TensorFloat-32 for CUDA matrix products and cuDNN convolutions (Ampere and newer): faster float32 at about 10 bits of mantissa. Off by default, as in PyTorch for matrix products.</summary>
    public static void AllowTf32(bool allow)
    {
        TorchRuntime.EnsureLoaded();
        torch.backends.cuda.matmul.allow_tf32 = allow;
        torch.backends.cudnn.allow_tf32 = allow;
    }

    /// <summary>Waits for the device's queued work (a no-op on the CPU): benchmark timings call it before reading the clock.</summary>
    public static void Synchronize(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
    }
}
