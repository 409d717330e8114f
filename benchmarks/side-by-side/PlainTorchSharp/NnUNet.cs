using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PlainTorchSharp;

/// <summary>
/// nnU-Net's 3-D U-Net for a cubic patch at isotropic spacing, written plainly in TorchSharp:
/// each level is Conv3d (no bias) → InstanceNorm3d (affine) → LeakyReLU(0.01), twice, the first
/// conv of every level below the top strided by 2; the plan halves the patch while it is at least
/// 8 voxels, at most 5 times (128³ → 4³); filters 32·2^level capped at 320; the decoder
/// up-samples with ConvTranspose3d (kernel = stride = 2), concatenates the skip and runs a
/// level; a 1×1×1 conv gives the logits and two more on the decoder outputs of levels 1 and 2
/// are the deep-supervision heads, brought to full size by nearest interpolation. TorchSharp's
/// default initialisation. The library's NnUNetModel for the same patch has the same
/// parameters (the runner prints their count and run.py compares it with ours).
/// </summary>
public sealed class NnUNet : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Level> encoder;
    private readonly ModuleList<UpLevel> decoder;
    private readonly Conv3d output;
    private readonly ModuleList<Conv3d> heads;

    public NnUNet(int size, int filters, int inputChannels, int classes) : base(nameof(NnUNet))
    {
        int levels = 1;
        for (int s = size; s >= 8 && levels <= 5; s /= 2) levels++;
        if (levels < 3 || size % (1 << (levels - 1)) != 0)
            throw new ArgumentException($"--size {size}: the patch must allow two halvings and be a multiple of the total stride");
        var f = Enumerable.Range(0, levels).Select(i => Math.Min(filters << i, 320)).ToArray();
        encoder = nn.ModuleList(Enumerable.Range(0, levels)
            .Select(i => new Level(i == 0 ? inputChannels : f[i - 1], f[i], i == 0 ? 1 : 2)).ToArray());
        decoder = nn.ModuleList(Enumerable.Range(0, levels - 1).Reverse().Select(l => new UpLevel(f[l + 1], f[l])).ToArray());
        output = nn.Conv3d(f[0], classes, 1);
        heads = nn.ModuleList(Enumerable.Range(1, Math.Min(2, levels - 2)).Select(l => nn.Conv3d(f[l], classes, 1)).ToArray());
        RegisterComponents();
    }

    /// <summary>The logits (no heads).</summary>
    public override Tensor forward(Tensor x) => output.forward(Decode(x)[0]);

    /// <summary>The main logits and each head's, up-sampled to full size, stacked on dimension 1.</summary>
    public Tensor ForwardWithHeads(Tensor x)
    {
        var decoded = Decode(x);
        var outputs = new List<Tensor> { output.forward(decoded[0]) };
        for (int h = 1; h <= heads.Count; h++)
            outputs.Add(F.interpolate(heads[h - 1].forward(decoded[h]), size: x.shape[2..], mode: InterpolationMode.Nearest));
        return torch.stack(outputs, 1);
    }

    /// <summary>The decoder's output at each level, level 0 first.</summary>
    private Tensor[] Decode(Tensor x)
    {
        var skips = new List<Tensor>();
        foreach (var level in encoder)
        {
            x = level.forward(x);
            skips.Add(x);
        }
        var decoded = new Tensor[decoder.Count];
        for (int j = 0; j < decoder.Count; j++)
        {
            int level = decoder.Count - 1 - j;
            x = decoder[j].forward(x, skips[level]);
            decoded[level] = x;
        }
        return decoded;
    }
}

/// <summary>conv (stride 1 or 2) → instance norm → leaky ReLU → conv → instance norm → leaky ReLU.</summary>
public sealed class Level : nn.Module<Tensor, Tensor>
{
    private readonly Conv3d conv1, conv2;
    private readonly InstanceNorm3d norm1, norm2;
    private readonly LeakyReLU relu;

    public Level(int cin, int cout, int stride) : base(nameof(Level))
    {
        conv1 = nn.Conv3d(cin, cout, 3, stride: stride, padding: 1, bias: false);
        norm1 = nn.InstanceNorm3d(cout, affine: true);
        conv2 = nn.Conv3d(cout, cout, 3, padding: 1, bias: false);
        norm2 = nn.InstanceNorm3d(cout, affine: true);
        relu = nn.LeakyReLU(0.01);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) =>
        relu.forward(norm2.forward(conv2.forward(relu.forward(norm1.forward(conv1.forward(x))))));
}

/// <summary>ConvTranspose3d (2, stride 2) → cat with the skip → a level of stride 1.</summary>
public sealed class UpLevel : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ConvTranspose3d up;
    private readonly Level level;

    public UpLevel(int cin, int cout) : base(nameof(UpLevel))
    {
        up = nn.ConvTranspose3d(cin, cout, 2, stride: 2);
        level = new Level(2 * cout, cout, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor skip) => level.forward(torch.cat([up.forward(x), skip], 1));
}
