using TorchSharp;
using static TorchSharp.torch;

namespace UNet.Segmentation.Runtime;

/// <summary>
/// Scalars held for the process, for the TorchSharp overloads that otherwise make a temporary one
/// inside TorchSharp: <c>add(t)</c>, <c>add(s)</c> and <c>add_(t)</c> pass a new alpha Scalar of
/// int 1, <c>square()</c> calls <c>pow(2)</c>, and the operators with a number operand convert it.
/// Such a temporary can be finalized while libtorch still reads it (see Training/Losses.cs).
/// </summary>
internal static class HeldScalars
{
    /// <summary>int 1: TorchSharp's own default alpha of <c>add</c>/<c>add_</c>.</summary>
    public static readonly Scalar IntOne = 1.ToScalar();

    /// <summary>int 2: the exponent of TorchSharp's <c>square()</c>.</summary>
    public static readonly Scalar IntTwo = 2.ToScalar();

    /// <summary><paramref name="x"/> + <paramref name="y"/>, as <c>x.add(y)</c> computes it.</summary>
    public static Tensor Plus(this Tensor x, Tensor y) => x.add(y, IntOne);

    /// <summary><paramref name="x"/> + <paramref name="s"/>, as <c>x.add(s)</c> computes it.</summary>
    public static Tensor Plus(this Tensor x, Scalar s) => x.add(s, IntOne);

    /// <summary>In place <paramref name="x"/> += <paramref name="y"/>, as <c>x.add_(y)</c> computes it.</summary>
    public static Tensor PlusInPlace(this Tensor x, Tensor y) => x.add_(y, IntOne);

    /// <summary><paramref name="x"/>², as <c>x.square()</c> computes it (<c>pow(2)</c>).</summary>
    public static Tensor Squared(this Tensor x) => x.pow(IntTwo);
}
