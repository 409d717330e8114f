using System.Text;
using UNet.Segmentation.Torch.Native;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch;

/// <summary>Process-wide libtorch settings and facts.</summary>
public static class LibTorch
{
    /// <summary>The libtorch version the shim was built against, e.g. "1.13.0".</summary>
    public static unsafe string Version
    {
        get
        {
            byte* buffer = stackalloc byte[64];
            Check(uts_torch_version(buffer, 64));
            return Encoding.UTF8.GetString(buffer, new ReadOnlySpan<byte>(buffer, 64).IndexOf((byte)0));
        }
    }

    /// <summary>The shim's ABI version (checked against the binding's at load).</summary>
    public static int AbiVersion => uts_abi_version();

    /// <summary>Native tensor handles alive now; the basis of leak tests.</summary>
    public static long LiveTensorCount => uts_live_tensors();

    /// <summary>Frees handles whose tensors were finalized without Dispose; returns how many.</summary>
    public static int FreeDeferred() => TensorHandle.FreeDeferred();

    /// <summary>The state of a device's default generator (CPU when null) as a uint8 tensor, for checkpoints.</summary>
    public static Tensor GetRngState(Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Result(uts_rng_get_state((int)d.Type, d.Index, out var r), r);
    }

    /// <summary>Restores a state taken by <see cref="GetRngState"/>: the generator then repeats the same numbers.</summary>
    public static void SetRngState(Tensor state, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var d = device ?? Device.Cpu;
        Check(uts_rng_set_state((int)d.Type, d.Index, state.Handle));
    }

    /// <summary>Seeds the CPU generator and every CUDA device's.</summary>
    public static void ManualSeed(ulong seed) => Check(uts_manual_seed(seed));

    /// <summary>
    /// Intra-op threads. Defaults to the machine's core count (unless OMP_NUM_THREADS is set).
    /// With OpenMP a change reaches the calling thread and threads started afterwards, not
    /// threads that have already run libtorch work: set it once, early, on the training thread.
    /// </summary>
    public static int Threads
    {
        get { Check(uts_get_num_threads(out int n)); return n; }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Check(uts_set_num_threads(value));
        }
    }
}

/// <summary>CUDA queries; all false/zero with a CPU-only libtorch.</summary>
public static class Cuda
{
    /// <summary>True when libtorch was built with CUDA and a device is present.</summary>
    public static bool IsAvailable
    {
        get { Check(uts_cuda_is_available(out byte r)); return r != 0; }
    }

    /// <summary>Number of visible CUDA devices.</summary>
    public static int DeviceCount
    {
        get { Check(uts_cuda_device_count(out int n)); return n; }
    }

    /// <summary>Waits for all work on a device (−1: the current one).</summary>
    public static void Synchronize(int device = -1) => Check(uts_cuda_synchronize(device));

    /// <summary>cuDNN autotuning of convolution algorithms (fastest for fixed input sizes).</summary>
    public static bool CudnnBenchmark
    {
        get { Check(uts_get_cudnn_benchmark(out byte r)); return r != 0; }
        set => Check(uts_set_cudnn_benchmark(value ? (byte)1 : (byte)0));
    }
}
