using System.Runtime.InteropServices;
using UNet.Segmentation.Torch.Native;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch;

/// <summary>
/// A libtorch tensor. Owns one native handle: dispose it, or create it inside a
/// <see cref="TensorScope"/>. Not safe for concurrent use from several threads.
/// </summary>
public partial class Tensor : IDisposable
{
    private TensorHandle _handle;

    internal Tensor(IntPtr raw, bool track = true)
    {
        if (raw == IntPtr.Zero) throw new TorchException("native call returned no tensor");
        if (TensorHandle.DeferredCount > 0) TensorHandle.FreeDeferred();
        _handle = new TensorHandle(raw);
        if (track) TensorScope.Track(this);
    }

    internal TensorHandle Handle => _handle;

    internal TensorScope? Scope { get; set; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _handle.IsClosed;

    /// <summary>Frees the native tensor now (the storage lives on while other tensors view it).</summary>
    public void Dispose()
    {
        Scope = null;
        _handle.ReleaseNow();
        GC.SuppressFinalize(this);
    }

    /// <summary>Takes the tensor out of its scope: the caller now disposes it.</summary>
    public Tensor DetachFromScope()
    {
        Scope = null;
        return this;
    }

    /// <summary>Moves this tensor to the scope enclosing its own, or to the caller when there is none.</summary>
    public Tensor MoveToOuterScope() => Scope is { } s ? s.MoveToOuter(this) : this;

    /// <summary>Points this object at another native tensor, freeing the old one (used when a module moves its parameters).</summary>
    internal void ReplaceHandle(Tensor source)
    {
        var old = _handle;
        _handle = source._handle;
        var dead = new TensorHandle(IntPtr.Zero);
        dead.Dispose();
        source._handle = dead;
        source.Scope = null;
        old.ReleaseNow();
    }

    // ---- creation -------------------------------------------------------------------------

    /// <summary>Uninitialised values.</summary>
    public static unsafe Tensor Empty(ReadOnlySpan<long> shape, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape) return Result(uts_empty(s, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>Every element equal to <paramref name="value"/>.</summary>
    public static unsafe Tensor Full(ReadOnlySpan<long> shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        var v = dtype.IsFloatingPoint() ? NativeScalar.Of(value) : NativeScalar.Of((long)value);
        fixed (long* s = shape) return Result(uts_full(s, shape.Length, v, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>Zeros.</summary>
    public static Tensor Zeros(ReadOnlySpan<long> shape, ScalarType dtype = ScalarType.Float32, Device? device = null) => Full(shape, 0, dtype, device);

    /// <summary>Ones.</summary>
    public static Tensor Ones(ReadOnlySpan<long> shape, ScalarType dtype = ScalarType.Float32, Device? device = null) => Full(shape, 1, dtype, device);

    /// <summary>Values start, start + step, ... below end.</summary>
    public static Tensor Arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        if (step == 0) throw new ArgumentOutOfRangeException(nameof(step), "step must not be zero");
        var d = device ?? Device.Cpu;
        bool f = dtype.IsFloatingPoint();
        NativeScalar S(double v) => f ? NativeScalar.Of(v) : NativeScalar.Of((long)v);
        return Result(uts_arange(S(start), S(end), S(step), (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>Uniform in [0, 1) from the global generator (<see cref="LibTorch.ManualSeed"/>).</summary>
    public static unsafe Tensor Rand(ReadOnlySpan<long> shape, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape) return Result(uts_rand(s, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>Standard normal from the global generator.</summary>
    public static unsafe Tensor Randn(ReadOnlySpan<long> shape, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape) return Result(uts_randn(s, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>Integers uniform in [low, high).</summary>
    public static unsafe Tensor RandInt(long low, long high, ReadOnlySpan<long> shape, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        if (high <= low) throw new ArgumentOutOfRangeException(nameof(high), high, "high must exceed low");
        var d = device ?? Device.Cpu;
        fixed (long* s = shape) return Result(uts_randint(low, high, s, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>Copies managed values (row-major) into a new tensor of the given shape.</summary>
    public static Tensor From<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape, Device? device = null) where T : unmanaged =>
        FromBytes(MemoryMarshal.AsBytes(data), shape, ScalarTypes.Of<T>(), device);

    /// <summary>Copies managed values into a new 1-D tensor.</summary>
    public static Tensor From<T>(T[] data, Device? device = null) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        return From<T>(data, [data.LongLength], device);
    }

    /// <summary>Copies raw little-endian element bytes (any <see cref="ScalarType"/>, bfloat16 included).</summary>
    public static unsafe Tensor FromBytes(ReadOnlySpan<byte> bytes, ReadOnlySpan<long> shape, ScalarType dtype, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (byte* p = bytes)
        fixed (long* s = shape)
            return Result(uts_from_data(p, bytes.Length, s, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>A scalar (0-dimensional) tensor.</summary>
    public static Tensor Scalar(double value, ScalarType dtype = ScalarType.Float32, Device? device = null) => Full([], value, dtype, device);

    // ---- queries --------------------------------------------------------------------------

    /// <summary>Number of dimensions.</summary>
    public int Dim
    {
        get { Check(uts_dim(_handle, out int n)); return n; }
    }

    /// <summary>The sizes, as a new array. Use <see cref="GetShape"/> or <see cref="Size"/> on hot paths.</summary>
    public long[] Shape
    {
        get
        {
            var shape = new long[Dim];
            GetShape(shape);
            return shape;
        }
    }

    /// <summary>Writes the sizes into <paramref name="destination"/> and returns how many there are.</summary>
    public unsafe int GetShape(Span<long> destination)
    {
        int n = Dim;
        if (destination.Length < n) throw new ArgumentException($"the span holds {destination.Length} entries, the tensor has {n} dimensions", nameof(destination));
        fixed (long* p = destination) Check(uts_shape(_handle, p, destination.Length));
        return n;
    }

    /// <summary>Writes the strides into <paramref name="destination"/> and returns how many there are.</summary>
    public unsafe int GetStrides(Span<long> destination)
    {
        int n = Dim;
        if (destination.Length < n) throw new ArgumentException($"the span holds {destination.Length} entries, the tensor has {n} dimensions", nameof(destination));
        fixed (long* p = destination) Check(uts_strides(_handle, p, destination.Length));
        return n;
    }

    /// <summary>The size of one dimension; negative counts from the end.</summary>
    public unsafe long Size(int dim)
    {
        // Two native calls (rank, then sizes into a stack buffer): Size is on hot paths.
        int n = Dim;
        if (n > 16) throw new NotSupportedException("more than 16 dimensions");
        long* shape = stackalloc long[16];
        Check(uts_shape(_handle, shape, 16));
        int d = dim < 0 ? dim + n : dim;
        if (d < 0 || d >= n) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"tensor has {n} dimensions");
        return shape[d];
    }

    /// <summary>Number of elements.</summary>
    public long NumberOfElements
    {
        get { Check(uts_numel(_handle, out long n)); return n; }
    }

    /// <summary>Element type.</summary>
    public ScalarType Dtype
    {
        get { Check(uts_dtype(_handle, out int t)); return (ScalarType)t; }
    }

    /// <summary>Where the tensor lives.</summary>
    public Device Device
    {
        get { Check(uts_device(_handle, out int type, out int index)); return new Device((DeviceType)type, index); }
    }

    /// <summary>True when the layout is dense in <paramref name="format"/>.</summary>
    public bool IsContiguous(MemoryFormat format = MemoryFormat.Contiguous)
    {
        Check(uts_is_contiguous(_handle, (int)format, out byte r));
        return r != 0;
    }

    /// <summary>True when both tensors view the same storage.</summary>
    public bool SharesStorageWith(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Check(uts_same_storage(_handle, other._handle, out byte r));
        return r != 0;
    }

    /// <inheritdoc />
    public override string ToString() =>
        IsDisposed ? "Tensor(disposed)" : $"Tensor([{string.Join(", ", Shape)}], {Dtype}, {Device})";

    // ---- read back ------------------------------------------------------------------------

    /// <summary>Copies the values (row-major, on the host) into <paramref name="destination"/>, whose element type must match <see cref="Dtype"/>.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        var expected = ScalarTypes.Of<T>();
        if (expected != Dtype) throw new ArgumentException($"tensor holds {Dtype}, the span {typeof(T).Name}", nameof(destination));
        CopyBytesTo(MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Copies the raw element bytes (row-major, on the host).</summary>
    public unsafe void CopyBytesTo(Span<byte> destination)
    {
        fixed (byte* p = destination) Check(uts_copy_to_buffer(_handle, p, destination.Length));
    }

    /// <summary>The values as a new managed array.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[NumberOfElements];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public double ToDouble()
    {
        Check(uts_item(_handle, out var s));
        return s.Kind == 0 ? s.D : s.I;
    }

    /// <summary>The value of a one-element tensor as float.</summary>
    public float ToSingle() => (float)ToDouble();

    /// <summary>The value of a one-element integer or boolean tensor.</summary>
    public long ToInt64()
    {
        Check(uts_item(_handle, out var s));
        return s.Kind == 0 ? (long)s.D : s.I;
    }

    /// <summary>The value of a one-element tensor as a boolean (non-zero is true).</summary>
    public bool ToBoolean() => ToDouble() != 0;

    // ---- conversion -----------------------------------------------------------------------

    /// <summary>Converts dtype, device and/or memory format; returns a new handle (sharing data when nothing changes, unless <paramref name="copy"/>).</summary>
    public Tensor To(ScalarType? dtype = null, Device? device = null, MemoryFormat? memoryFormat = null, bool nonBlocking = false, bool copy = false)
    {
        var d = device;
        return Result(uts_to(_handle, dtype is { } t ? (int)t : -1, d is { } dv ? (int)dv.Type : -1, d?.Index ?? 0,
            memoryFormat is { } m ? (int)m : -1, nonBlocking ? (byte)1 : (byte)0, copy ? (byte)1 : (byte)0, out var r), r);
    }

    /// <summary>Moves to a device.</summary>
    public Tensor To(Device device) => To(dtype: null, device: device);

    /// <summary>Converts the element type.</summary>
    public Tensor To(ScalarType dtype) => To(dtype: dtype, device: null);

    /// <summary>A dense copy in the given layout (or this tensor's data, when already dense).</summary>
    public Tensor Contiguous(MemoryFormat format = MemoryFormat.Contiguous) => Result(uts_contiguous(_handle, (int)format, out var r), r);

    /// <summary>A copy with its own storage.</summary>
    public Tensor Clone(MemoryFormat format = MemoryFormat.Preserve) => Result(uts_clone(_handle, (int)format, out var r), r);

    /// <summary>The same data, cut from the autograd graph.</summary>
    public Tensor Detach() => Result(uts_detach(_handle, out var r), r);

    /// <summary>A second handle to the same tensor (same data, same autograd identity).</summary>
    public Tensor Alias() => Result(uts_alias(_handle, out var r), r);
}
