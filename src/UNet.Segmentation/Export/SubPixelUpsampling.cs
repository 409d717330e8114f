using UNet.Segmentation.Model;
using static TorchSharp.torch;

namespace UNet.Segmentation.Export;

/// <summary>
/// The decoder's stride-2 up-convolution written as a sub-pixel convolution: one ordinary
/// <c>Conv</c> computes the four output phases (even or odd row × even or odd column) as 4·out
/// channels and <c>DepthToSpace</c> (blocksize 2, DCR) interleaves them. It is what the int8
/// export writes in place of <c>ConvTranspose</c>, for which ONNX Runtime's CPU provider has no
/// int8 kernel: the <c>Conv</c> is quantized like every other and runs as <c>QLinearConv</c>,
/// and <c>DepthToSpace</c> only moves bytes.
/// <para>
/// Why it is exact: a transposed convolution with stride 2 and kernel k (no padding) sends input
/// n to outputs 2n + j through tap j, so output p = 2i + a (phase a ∈ {0, 1}) is
/// Σ_j x[(p − j) / 2]·w[j] over the taps j ≡ a (mod 2). An ordinary convolution with kernel
/// K = ⌈k/2⌉ and P = K − 1 zeros padded before (none after) computes
/// out[i] = Σ_t K[t]·x[i − P + t]; matching x[i − P + t] with tap j = p − 2(i − P + t) gives
/// j = a + 2(P − t), kept when 0 ≤ j &lt; k, else a zero tap. For the reference's 3×3 (K = 2, P = 1):
/// out[2i] = w[0]·x[i] + w[2]·x[i − 1] and out[2i + 1] = w[1]·x[i] (x[−1] = 0), i = 0..n−1: the
/// full 2n + 1 outputs cropped to the first 2n, which is what <c>Blocks.Upsample</c> keeps. For
/// the paper's 2×2 (K = 1, P = 0): out[2i + a] = w[a]·x[i], a 1×1 convolution. Rows and columns
/// are independent, so phase (a, b) of output channel o takes, at tap (t, u), the transposed
/// weight [in, o, a + 2(P − t), b + 2(P − u)] (the kernel is gathered, not flipped).
/// </para>
/// </summary>
internal static class SubPixelUpsampling
{
    /// <summary>The suffix of the sub-pixel convolution's weight and bias, after the transposed convolution's names.</summary>
    public const string Suffix = ".sub_pixel";

    /// <summary>The sub-pixel convolution's kernel K = ⌈k/2⌉ and its top and left padding P = K − 1 for a transposed kernel k.</summary>
    public static (long Kernel, long Pad) Geometry(long transposedKernel)
    {
        if (transposedKernel < 1) throw new ArgumentOutOfRangeException(nameof(transposedKernel), transposedKernel, "a kernel has at least one tap");
        long kernel = (transposedKernel + 1) / 2;
        return (kernel, kernel - 1);
    }

    /// <summary>
    /// The (4·out) × in × K × K weight of the sub-pixel convolution from a transposed convolution's
    /// in × out × k × k weight (stride 2): channel (2a + b)·out + o, DepthToSpace's DCR order, is
    /// phase (a, b) of output channel o. Float32 on the CPU; the values are copied, not computed.
    /// </summary>
    public static Tensor Weight(Tensor transposed)
    {
        ArgumentNullException.ThrowIfNull(transposed);
        long[] shape = transposed.shape;
        if (shape.Length != 4 || shape[2] != shape[3])
            throw new ArgumentException($"a transposed convolution's weight is in × out × k × k, not [{string.Join(", ", shape)}]", nameof(transposed));
        int input = (int)shape[0], output = (int)shape[1], k = (int)shape[2];
        var (kernel, pad) = Geometry(k);
        int kk = (int)kernel;
        float[] w;
        using (var host = transposed.detach().cpu().to(ScalarType.Float32).contiguous())
            w = host.data<float>().ToArray();
        var phases = new float[4 * output * input * kk * kk];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                for (int t = 0; t < kk; t++)
                    for (int u = 0; u < kk; u++)
                    {
                        long row = a + 2 * (pad - t), column = b + 2 * (pad - u);
                        if (row >= k || column >= k) continue; // a tap the phase does not have: zero
                        for (int o = 0; o < output; o++)
                        {
                            int channel = (2 * a + b) * output + o;
                            for (int i = 0; i < input; i++)
                                phases[((channel * input + i) * kk + t) * kk + u] = w[((i * output + o) * k + row) * k + column];
                        }
                    }
        return tensor(phases, [4L * output, input, kernel, kernel]);
    }

    /// <summary>The sub-pixel convolution's bias: the transposed convolution's, once per phase (DCR order).</summary>
    public static Tensor Bias(Tensor bias)
    {
        ArgumentNullException.ThrowIfNull(bias);
        using var host = bias.detach().cpu().to(ScalarType.Float32);
        return host.repeat(4);
    }

    /// <summary>
    /// Writes the up-sampling of <paramref name="x"/> by <paramref name="kind"/> with the transposed
    /// convolution's <paramref name="weight"/> (in × out × k × k) and <paramref name="bias"/>:
    /// <c>Conv</c> named <paramref name="layer"/> (weight and bias <c>{layer}.weight</c>/<c>.bias</c>
    /// + <see cref="Suffix"/>), for the 3×3 kind its ReLU (<c>{layer}.relu</c>: ReLU commutes with
    /// DepthToSpace, and before it ONNX Runtime fuses it into the quantized convolution), then
    /// <c>DepthToSpace</c> (<c>{layer}.depth_to_space</c>), whose name it returns.
    /// </summary>
    public static string Write(OnnxGraphBuilder graph, string layer, string x, Tensor weight, Tensor? bias, Upsampling kind)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(weight);
        long expected = kind == Upsampling.TransposedConv3x3 ? 3 : 2;
        if (weight.shape.Length != 4 || weight.shape[2] != expected)
            throw new ArgumentException($"{kind} needs a {expected}×{expected} transposed weight, not [{string.Join(", ", weight.shape)}]", nameof(weight));
        var (kernel, pad) = Geometry(expected);
        var inputs = new List<string> { x };
        using (var w = Weight(weight))
            inputs.Add(graph.Initializer($"{layer}.weight{Suffix}", w));
        if (bias is not null)
            using (var b = Bias(bias))
                inputs.Add(graph.Initializer($"{layer}.bias{Suffix}", b));
        string y = graph.Node("Conv", layer, inputs, OnnxGraphBuilder.Ints("kernel_shape", kernel, kernel),
            OnnxGraphBuilder.Ints("pads", pad, pad, 0, 0), OnnxGraphBuilder.Ints("strides", 1, 1));
        if (kind == Upsampling.TransposedConv3x3) y = graph.Node("Relu", $"{layer}.relu", [y]);
        // No mode attribute: ONNX's default, DCR.
        return graph.Node("DepthToSpace", $"{layer}.depth_to_space", [y], OnnxGraphBuilder.Int("blocksize", 2));
    }
}
