using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PlainTorchSharp;

/// <summary>
/// NVIDIA UNet_Medical's U-Net, depth 4, valid padding, no batch norm, 3×3 stride-2 transposed
/// up-convolutions (TF 'same': the first 2n of the 2n+1 outputs, then ReLU), dropout before the
/// bottleneck's up-convolution. Module names follow tests/peer/unet_peer.py. Glorot-uniform
/// weights, zero biases, as the reference.
/// </summary>
public sealed class UNet : nn.Module<Tensor, Tensor>
{
    private readonly Encoder input_block;
    private readonly ModuleList<Encoder> down_blocks;
    private readonly Bottleneck bottleneck;
    private readonly ModuleList<Decoder> up_blocks;
    private readonly OutputBlock output_block;

    public UNet(int filters, int inputChannels, int classes, double dropout) : base(nameof(UNet))
    {
        int f = filters;
        input_block = new Encoder(inputChannels, f);
        down_blocks = nn.ModuleList(new Encoder(f, 2 * f), new Encoder(2 * f, 4 * f), new Encoder(4 * f, 8 * f));
        bottleneck = new Bottleneck(8 * f, 16 * f, dropout);
        up_blocks = nn.ModuleList(new Decoder(8 * f), new Decoder(4 * f), new Decoder(2 * f));
        output_block = new OutputBlock(f, classes);
        RegisterComponents();

        foreach (var (name, p) in named_parameters())
        {
            using var noGrad = torch.no_grad();
            if (name.EndsWith(".weight", StringComparison.Ordinal)) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }

    public override Tensor forward(Tensor x)
    {
        var skips = new List<Tensor>();
        (x, var skip) = input_block.forward(x);
        skips.Add(skip);
        foreach (var block in down_blocks)
        {
            (x, skip) = block.forward(x);
            skips.Add(skip);
        }
        x = bottleneck.forward(x);
        for (int i = 0; i < up_blocks.Count; i++)
            x = up_blocks[i].forward(x, skips[skips.Count - 1 - i]);
        return output_block.forward(x, skips[0]);
    }

    /// <summary>The full transposed-convolution output is 2n+1: keep the first 2n rows and columns.</summary>
    internal static Tensor Upsample(ConvTranspose2d upconv, Tensor x)
    {
        long h = x.shape[2], w = x.shape[3];
        return F.relu(upconv.forward(x).narrow(2, 0, 2 * h).narrow(3, 0, 2 * w));
    }

    /// <summary>The centre h×w of a skip connection.</summary>
    internal static Tensor Crop(Tensor skip, long h, long w)
    {
        long dh = (skip.shape[2] - h) / 2, dw = (skip.shape[3] - w) / 2;
        return skip.narrow(2, dh, h).narrow(3, dw, w);
    }
}

/// <summary>conv3×3 → ReLU → conv3×3 → ReLU (the skip), then 2×2 max pooling.</summary>
public sealed class Encoder : nn.Module<Tensor, (Tensor, Tensor)>
{
    private readonly Conv2d conv1, conv2;
    private readonly MaxPool2d pool;

    public Encoder(int cin, int f) : base(nameof(Encoder))
    {
        conv1 = nn.Conv2d(cin, f, 3);
        conv2 = nn.Conv2d(f, f, 3);
        pool = nn.MaxPool2d(2);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x)
    {
        var skip = F.relu(conv2.forward(F.relu(conv1.forward(x))));
        return (pool.forward(skip), skip);
    }
}

/// <summary>conv3×3 → ReLU → conv3×3 → ReLU → dropout → up-convolution (f → f/2).</summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2;
    private readonly Dropout dropout;
    private readonly ConvTranspose2d upconv;

    public Bottleneck(int cin, int f, double rate) : base(nameof(Bottleneck))
    {
        conv1 = nn.Conv2d(cin, f, 3);
        conv2 = nn.Conv2d(f, f, 3);
        dropout = nn.Dropout(rate);
        upconv = nn.ConvTranspose2d(f, f / 2, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = F.relu(conv2.forward(F.relu(conv1.forward(x))));
        return UNet.Upsample(upconv, dropout.forward(x));
    }
}

/// <summary>cat(upsampled, cropped skip) → conv3×3 (2f → f) → ReLU → conv3×3 → ReLU → up-convolution (f → f/2).</summary>
public sealed class Decoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2;
    private readonly ConvTranspose2d upconv;

    public Decoder(int f) : base(nameof(Decoder))
    {
        conv1 = nn.Conv2d(2 * f, f, 3);
        conv2 = nn.Conv2d(f, f, 3);
        upconv = nn.ConvTranspose2d(f, f / 2, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor skip)
    {
        x = torch.cat([x, UNet.Crop(skip, x.shape[2], x.shape[3])], 1);
        x = F.relu(conv2.forward(F.relu(conv1.forward(x))));
        return UNet.Upsample(upconv, x);
    }
}

/// <summary>cat(upsampled, cropped first skip) → conv3×3 (2f → f) → ReLU → conv3×3 → ReLU → conv1×1 (f → classes).</summary>
public sealed class OutputBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2, conv3;

    public OutputBlock(int f, int classes) : base(nameof(OutputBlock))
    {
        conv1 = nn.Conv2d(2 * f, f, 3);
        conv2 = nn.Conv2d(f, f, 3);
        conv3 = nn.Conv2d(f, classes, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor skip)
    {
        x = torch.cat([x, UNet.Crop(skip, x.shape[2], x.shape[3])], 1);
        return conv3.forward(F.relu(conv2.forward(F.relu(conv1.forward(x)))));
    }
}
