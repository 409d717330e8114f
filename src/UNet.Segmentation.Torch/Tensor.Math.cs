using UNet.Segmentation.Torch.Native;
using static UNet.Segmentation.Torch.Native.NativeMethods;
using static UNet.Segmentation.Torch.Native.NativeStatus;

namespace UNet.Segmentation.Torch;

public partial class Tensor
{
    // ABI operation codes (unet_segmentation_native.h).
    private enum Unary { Neg, Abs, Exp, Log, Sqrt, Rsqrt, Relu, Sigmoid, Tanh, Floor, Ceil, Round, Sign, LogicalNot, Zero, Reciprocal, Square, IsNaN, IsFinite }
    private enum Binary { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, Remainder, MatMul, Copy }
    private enum Reduction { Sum, Mean, Amax, Amin, Prod }

    private Tensor Apply(Unary op) => Result(uts_unary((int)op, _handle, out var r), r);
    private Tensor ApplyInPlace(Unary op) { Check(uts_unary_((int)op, _handle)); return this; }
    private Tensor Apply(Binary op, Tensor other, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Result(uts_binary((int)op, _handle, other._handle, NativeScalar.Of(alpha), out var r), r);
    }
    private Tensor ApplyInPlace(Binary op, Tensor other, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(other);
        Check(uts_binary_((int)op, _handle, other._handle, NativeScalar.Of(alpha)));
        return this;
    }
    private Tensor Apply(Binary op, NativeScalar s) => Result(uts_binary_scalar((int)op, _handle, s, out var r), r);
    private Tensor ApplyInPlace(Binary op, NativeScalar s) { Check(uts_binary_scalar_((int)op, _handle, s)); return this; }

    /// <summary>-x.</summary>

    public Tensor Neg() => Apply(Unary.Neg);
    /// <summary>|x|.</summary>
    public Tensor Abs() => Apply(Unary.Abs);
    /// <summary>e^x.</summary>
    public Tensor Exp() => Apply(Unary.Exp);
    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Apply(Unary.Log);
    /// <summary>Square root.</summary>
    public Tensor Sqrt() => Apply(Unary.Sqrt);
    /// <summary>1 / sqrt(x).</summary>
    public Tensor Rsqrt() => Apply(Unary.Rsqrt);
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Apply(Unary.Relu);
    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => Apply(Unary.Sigmoid);
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Apply(Unary.Tanh);
    /// <summary>Round down.</summary>
    public Tensor Floor() => Apply(Unary.Floor);
    /// <summary>Round up.</summary>
    public Tensor Ceil() => Apply(Unary.Ceil);
    /// <summary>Round half to even.</summary>
    public Tensor Round() => Apply(Unary.Round);
    /// <summary>-1, 0 or 1.</summary>
    public Tensor Sign() => Apply(Unary.Sign);
    /// <summary>Logical not (bool result).</summary>
    public Tensor LogicalNot() => Apply(Unary.LogicalNot);
    /// <summary>1 / x.</summary>
    public Tensor Reciprocal() => Apply(Unary.Reciprocal);
    /// <summary>x².</summary>
    public Tensor Square() => Apply(Unary.Square);
    /// <summary>True where NaN.</summary>
    public Tensor IsNaN() => Apply(Unary.IsNaN);
    /// <summary>True where finite.</summary>
    public Tensor IsFinite() => Apply(Unary.IsFinite);
    /// <summary>Zeros of the same shape, dtype, device and layout.</summary>
    public Tensor ZerosLike() => Apply(Unary.Zero);

    /// <summary>In-place max(x, 0).</summary>

    public Tensor Relu_() => ApplyInPlace(Unary.Relu);
    /// <summary>In-place negation.</summary>
    public Tensor Neg_() => ApplyInPlace(Unary.Neg);
    /// <summary>In-place e^x.</summary>
    public Tensor Exp_() => ApplyInPlace(Unary.Exp);
    /// <summary>In-place square root.</summary>
    public Tensor Sqrt_() => ApplyInPlace(Unary.Sqrt);
    /// <summary>In-place sigmoid.</summary>
    public Tensor Sigmoid_() => ApplyInPlace(Unary.Sigmoid);
    /// <summary>Sets every element to zero.</summary>
    public Tensor Zero_() => ApplyInPlace(Unary.Zero);

    /// <summary>this + alpha·other.</summary>

    public Tensor Add(Tensor other, double alpha = 1) => Apply(Binary.Add, other, alpha);
    /// <summary>this − alpha·other.</summary>
    public Tensor Sub(Tensor other, double alpha = 1) => Apply(Binary.Sub, other, alpha);
    /// <summary>Elementwise product.</summary>
    public Tensor Mul(Tensor other) => Apply(Binary.Mul, other);
    /// <summary>Elementwise true division.</summary>
    public Tensor Div(Tensor other) => Apply(Binary.Div, other);
    /// <summary>Elementwise power.</summary>
    public Tensor Pow(Tensor exponent) => Apply(Binary.Pow, exponent);
    /// <summary>Elementwise maximum.</summary>
    public Tensor Maximum(Tensor other) => Apply(Binary.Maximum, other);
    /// <summary>Elementwise minimum.</summary>
    public Tensor Minimum(Tensor other) => Apply(Binary.Minimum, other);
    /// <summary>Python-style remainder.</summary>
    public Tensor Remainder(Tensor other) => Apply(Binary.Remainder, other);
    /// <summary>Matrix product with broadcasting.</summary>
    public Tensor MatMul(Tensor other) => Apply(Binary.MatMul, other);
    /// <summary>this == other (bool).</summary>
    public Tensor Eq(Tensor other) => Apply(Binary.Eq, other);
    /// <summary>this != other (bool).</summary>
    public Tensor Ne(Tensor other) => Apply(Binary.Ne, other);
    /// <summary>this &lt; other (bool).</summary>
    public Tensor Lt(Tensor other) => Apply(Binary.Lt, other);
    /// <summary>this &lt;= other (bool).</summary>
    public Tensor Le(Tensor other) => Apply(Binary.Le, other);
    /// <summary>this &gt; other (bool).</summary>
    public Tensor Gt(Tensor other) => Apply(Binary.Gt, other);
    /// <summary>this &gt;= other (bool).</summary>
    public Tensor Ge(Tensor other) => Apply(Binary.Ge, other);
    /// <summary>Logical and (bool).</summary>
    public Tensor LogicalAnd(Tensor other) => Apply(Binary.LogicalAnd, other);
    /// <summary>Logical or (bool).</summary>
    public Tensor LogicalOr(Tensor other) => Apply(Binary.LogicalOr, other);

    /// <summary>this + s.</summary>

    public Tensor Add(double s) => Apply(Binary.Add, NativeScalar.Of(s));
    /// <summary>this + s (integer kept integer).</summary>
    public Tensor Add(long s) => Apply(Binary.Add, NativeScalar.Of(s));
    /// <summary>this − s.</summary>
    public Tensor Sub(double s) => Apply(Binary.Sub, NativeScalar.Of(s));
    /// <summary>this − s (integer kept integer).</summary>
    public Tensor Sub(long s) => Apply(Binary.Sub, NativeScalar.Of(s));
    /// <summary>this · s.</summary>
    public Tensor Mul(double s) => Apply(Binary.Mul, NativeScalar.Of(s));
    /// <summary>this · s (integer kept integer).</summary>
    public Tensor Mul(long s) => Apply(Binary.Mul, NativeScalar.Of(s));
    /// <summary>this / s.</summary>
    public Tensor Div(double s) => Apply(Binary.Div, NativeScalar.Of(s));
    /// <summary>this^s.</summary>
    public Tensor Pow(double s) => Apply(Binary.Pow, NativeScalar.Of(s));
    /// <summary>max(this, s).</summary>
    public Tensor Maximum(double s) => Apply(Binary.Maximum, NativeScalar.Of(s));
    /// <summary>min(this, s).</summary>
    public Tensor Minimum(double s) => Apply(Binary.Minimum, NativeScalar.Of(s));
    /// <summary>this == s (bool).</summary>
    public Tensor Eq(double s) => Apply(Binary.Eq, NativeScalar.Of(s));
    /// <summary>this != s (bool).</summary>
    public Tensor Ne(double s) => Apply(Binary.Ne, NativeScalar.Of(s));
    /// <summary>this &lt; s (bool).</summary>
    public Tensor Lt(double s) => Apply(Binary.Lt, NativeScalar.Of(s));
    /// <summary>this &lt;= s (bool).</summary>
    public Tensor Le(double s) => Apply(Binary.Le, NativeScalar.Of(s));
    /// <summary>this &gt; s (bool).</summary>
    public Tensor Gt(double s) => Apply(Binary.Gt, NativeScalar.Of(s));
    /// <summary>this &gt;= s (bool).</summary>
    public Tensor Ge(double s) => Apply(Binary.Ge, NativeScalar.Of(s));

    /// <summary>In place: this += alpha·other.</summary>

    public Tensor Add_(Tensor other, double alpha = 1) => ApplyInPlace(Binary.Add, other, alpha);
    /// <summary>In place: this −= alpha·other.</summary>
    public Tensor Sub_(Tensor other, double alpha = 1) => ApplyInPlace(Binary.Sub, other, alpha);
    /// <summary>In place: this ·= other.</summary>
    public Tensor Mul_(Tensor other) => ApplyInPlace(Binary.Mul, other);
    /// <summary>In place: this /= other.</summary>
    public Tensor Div_(Tensor other) => ApplyInPlace(Binary.Div, other);
    /// <summary>In place: this += s.</summary>
    public Tensor Add_(double s) => ApplyInPlace(Binary.Add, NativeScalar.Of(s));
    /// <summary>In place: this += s (integer kept integer).</summary>
    public Tensor Add_(long s) => ApplyInPlace(Binary.Add, NativeScalar.Of(s));
    /// <summary>In place: this ·= s.</summary>
    public Tensor Mul_(double s) => ApplyInPlace(Binary.Mul, NativeScalar.Of(s));
    /// <summary>In place: this /= s.</summary>
    public Tensor Div_(double s) => ApplyInPlace(Binary.Div, NativeScalar.Of(s));
    /// <summary>In place: this = this^s.</summary>
    public Tensor Pow_(double s) => ApplyInPlace(Binary.Pow, NativeScalar.Of(s));
    /// <summary>Copies <paramref name="source"/>'s values in (broadcasting, converting dtype and device).</summary>
    public Tensor CopyFrom_(Tensor source) => ApplyInPlace(Binary.Copy, source);

    /// <summary>Fills with a value.</summary>
    public Tensor Fill_(double value) { Check(uts_fill_(_handle, Dtype.IsFloatingPoint() ? NativeScalar.Of(value) : NativeScalar.Of((long)value))); return this; }
    /// <summary>Fills from U(low, high).</summary>
    public Tensor Uniform_(double low = 0, double high = 1) { Check(uts_uniform_(_handle, low, high)); return this; }
    /// <summary>Fills from N(mean, std²).</summary>
    public Tensor Normal_(double mean = 0, double std = 1) { Check(uts_normal_(_handle, mean, std)); return this; }
    /// <summary>Fills with 1 with probability p, else 0.</summary>
    public Tensor Bernoulli_(double p) { Check(uts_bernoulli_(_handle, p)); return this; }
    /// <summary>In place: this += value · a · b.</summary>
    public Tensor AddCMul_(Tensor a, Tensor b, double value = 1) { Check(uts_addcmul_(_handle, a.Handle, b.Handle, NativeScalar.Of(value))); return this; }
    /// <summary>In place: this += value · a / b.</summary>
    public Tensor AddCDiv_(Tensor a, Tensor b, double value = 1) { Check(uts_addcdiv_(_handle, a.Handle, b.Handle, NativeScalar.Of(value))); return this; }
    /// <summary>Writes value where mask is true.</summary>
    public Tensor MaskedFill_(Tensor mask, double value) { Check(uts_masked_fill_(_handle, mask.Handle, NativeScalar.Of(value))); return this; }

    /// <summary>Limits values to [min, max]; either bound may be omitted.</summary>
    public Tensor Clamp(double? min = null, double? max = null) =>
        Result(uts_clamp(_handle, min.HasValue ? (byte)1 : (byte)0, NativeScalar.Of(min ?? 0), max.HasValue ? (byte)1 : (byte)0, NativeScalar.Of(max ?? 0), out var r), r);
    /// <summary>In place: limits values to [min, max].</summary>
    public Tensor Clamp_(double? min = null, double? max = null)
    {
        Check(uts_clamp_(_handle, min.HasValue ? (byte)1 : (byte)0, NativeScalar.Of(min ?? 0), max.HasValue ? (byte)1 : (byte)0, NativeScalar.Of(max ?? 0)));
        return this;
    }

    /// <summary>Elements of <paramref name="a"/> where <paramref name="condition"/> holds, else of <paramref name="b"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => Result(uts_where(condition.Handle, a.Handle, b.Handle, out var r), r);

    /// <summary>True when every element is close: |a − b| ≤ atol + rtol·|b|.</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        Check(uts_allclose(_handle, other.Handle, rtol, atol, out byte r));
        return r != 0;
    }

    // ---- reductions -----------------------------------------------------------------------

    private unsafe Tensor Reduce(Reduction op, ReadOnlySpan<long> dims, bool keepDim, ScalarType? dtype)
    {
        fixed (long* d = dims)
            return Result(uts_reduce((int)op, _handle, d, dims.Length, keepDim ? (byte)1 : (byte)0, dtype is { } t ? (int)t : -1, out var r), r);
    }

    /// <summary>Sum of all elements.</summary>

    public Tensor Sum(ScalarType? dtype = null) => Reduce(Reduction.Sum, [], false, dtype);
    /// <summary>Sum over dimensions.</summary>
    public Tensor Sum(ReadOnlySpan<long> dims, bool keepDim = false, ScalarType? dtype = null) => Reduce(Reduction.Sum, NonEmpty(dims), keepDim, dtype);
    /// <summary>Mean of all elements.</summary>
    public Tensor Mean(ScalarType? dtype = null) => Reduce(Reduction.Mean, [], false, dtype);
    /// <summary>Mean over dimensions.</summary>
    public Tensor Mean(ReadOnlySpan<long> dims, bool keepDim = false, ScalarType? dtype = null) => Reduce(Reduction.Mean, NonEmpty(dims), keepDim, dtype);
    /// <summary>Product of all elements.</summary>
    public Tensor Prod() => Reduce(Reduction.Prod, [], false, null);
    /// <summary>Largest element.</summary>
    public Tensor Max() => Reduce(Reduction.Amax, [], false, null);
    /// <summary>Smallest element.</summary>
    public Tensor Min() => Reduce(Reduction.Amin, [], false, null);
    /// <summary>Largest values over dimensions.</summary>
    public Tensor Amax(ReadOnlySpan<long> dims, bool keepDim = false) => Reduce(Reduction.Amax, NonEmpty(dims), keepDim, null);
    /// <summary>Smallest values over dimensions.</summary>
    public Tensor Amin(ReadOnlySpan<long> dims, bool keepDim = false) => Reduce(Reduction.Amin, NonEmpty(dims), keepDim, null);

    private static ReadOnlySpan<long> NonEmpty(ReadOnlySpan<long> dims) =>
        dims.IsEmpty ? throw new ArgumentException("name at least one dimension (or call the overload without dimensions)", nameof(dims)) : dims;

    /// <summary>Largest values along a dimension and where they are.</summary>
    public (Tensor Values, Tensor Indices) Max(long dim, bool keepDim = false)
    {
        Check(uts_max_dim(_handle, dim, keepDim ? (byte)1 : (byte)0, out var v, out var i));
        return (new Tensor(v), new Tensor(i));
    }

    /// <summary>Smallest values along a dimension and where they are.</summary>
    public (Tensor Values, Tensor Indices) Min(long dim, bool keepDim = false)
    {
        Check(uts_min_dim(_handle, dim, keepDim ? (byte)1 : (byte)0, out var v, out var i));
        return (new Tensor(v), new Tensor(i));
    }

    /// <summary>Index of the largest value, along <paramref name="dim"/> or over the flattened tensor.</summary>
    public Tensor ArgMax(long? dim = null, bool keepDim = false) =>
        Result(uts_argmax(_handle, dim.HasValue ? (byte)1 : (byte)0, dim ?? 0, keepDim ? (byte)1 : (byte)0, out var r), r);

    /// <summary>Index of the smallest value, along <paramref name="dim"/> or over the flattened tensor.</summary>
    public Tensor ArgMin(long? dim = null, bool keepDim = false) =>
        Result(uts_argmin(_handle, dim.HasValue ? (byte)1 : (byte)0, dim ?? 0, keepDim ? (byte)1 : (byte)0, out var r), r);

    /// <summary>Softmax along a dimension, optionally computed in <paramref name="dtype"/>.</summary>
    public Tensor Softmax(long dim, ScalarType? dtype = null) => Result(uts_softmax(_handle, dim, dtype is { } t ? (int)t : -1, out var r), r);

    /// <summary>Log-softmax along a dimension.</summary>
    public Tensor LogSoftmax(long dim, ScalarType? dtype = null) => Result(uts_log_softmax(_handle, dim, dtype is { } t ? (int)t : -1, out var r), r);

    // ---- operators ------------------------------------------------------------------------

    /// <summary>Sum.</summary>

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    /// <summary>Difference.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    /// <summary>Elementwise product.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    /// <summary>Elementwise quotient.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(Tensor a, double s) => a.Add(s);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(double s, Tensor a) => a.Add(s);
    /// <summary>Subtracts a scalar.</summary>
    public static Tensor operator -(Tensor a, double s) => a.Sub(s);
    /// <summary>s − a.</summary>
    public static Tensor operator -(double s, Tensor a) => Result(uts_scalar_binary((int)Binary.Sub, NativeScalar.Of(s), a.Handle, out var r), r);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(Tensor a, double s) => a.Mul(s);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(double s, Tensor a) => a.Mul(s);
    /// <summary>Adds an integer (an integer tensor stays integer).</summary>
    public static Tensor operator +(Tensor a, long s) => a.Add(s);
    /// <summary>Adds an integer (an integer tensor stays integer).</summary>
    public static Tensor operator +(long s, Tensor a) => a.Add(s);
    /// <summary>Subtracts an integer (an integer tensor stays integer).</summary>
    public static Tensor operator -(Tensor a, long s) => a.Sub(s);
    /// <summary>s − a, integer kept integer.</summary>
    public static Tensor operator -(long s, Tensor a) => Result(uts_scalar_binary((int)Binary.Sub, NativeScalar.Of(s), a.Handle, out var r), r);
    /// <summary>Multiplies by an integer (an integer tensor stays integer).</summary>
    public static Tensor operator *(Tensor a, long s) => a.Mul(s);
    /// <summary>Multiplies by an integer (an integer tensor stays integer).</summary>
    public static Tensor operator *(long s, Tensor a) => a.Mul(s);
    /// <summary>Divides by a scalar.</summary>
    public static Tensor operator /(Tensor a, double s) => a.Div(s);
    /// <summary>s / a.</summary>
    public static Tensor operator /(double s, Tensor a) => Result(uts_scalar_binary((int)Binary.Div, NativeScalar.Of(s), a.Handle, out var r), r);
}
