"""nnU-Net's 2D/3D U-Net in plain PyTorch 1.13, written for this project from the description of
NVIDIA DeepLearningExamples' nnUNet (its TF2 models/unet.py and the MONAI DynUNet its PyTorch
version builds): the peer of src/UNet.Segmentation/Model/NnUNet/NnUNetModel.cs, with the same
state-dict keys (DynUNet's, without its skip_layers aliases).

Levels 0..L-1: level i = two convs (kernel Kernels[i], the first strided by Strides[i], padding
(k - s + 1) // 2, no bias), each followed by affine instance norm and leaky ReLU. Decoder block
back to level l: transposed conv (kernel = stride = Strides[l + 1], bias), cat [up, skip], two
convs with kernel Kernels[l + 1]. 1x1 output conv with bias; deep-supervision heads (1x1) on the
decoder outputs of levels 1..H, up-sampled (nearest) to full size and stacked on dim 1.

usage:
  nnunet_peer.py run WEIGHTS INPUTS OUT   forward and gradients of the C# model's weights
      INPUTS holds "input" (N x C x spatial float32) and "target" (N x spatial int64).
      OUT holds logits (forward), deep (forward_ds), loss and grad.NAME per parameter, and the
      parameter count in its metadata. The loss is the reference's deep-supervision weighting:
      sum_i 0.5**i * CE(deep[:, i], target) / sum_i 0.5**i.
  nnunet_peer.py count OPTIONS_JSON       prints "parameters <n> keys <k>" of a fresh model
  nnunet_peer.py flops OPTIONS_JSON SIZE  prints "forward <f> training_forward <t> first_conv <c>"
      (2 x multiply-adds of every conv and transposed conv executed, by forward hooks; SIZE like 32x24)
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch import nn

from safetensors_io import load_file, load_metadata, save_file


def conv_nd(dims, transposed=False):
    if dims == 2:
        return nn.ConvTranspose2d if transposed else nn.Conv2d
    return nn.ConvTranspose3d if transposed else nn.Conv3d


def norm_nd(dims, channels):
    return (nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d)(channels, affine=True)


class Wrapped(nn.Module):
    """A conv held as `conv`, like MONAI's Convolution sequence: keys read conv1.conv.weight."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return self.conv(x)


def new_conv(dims, cin, cout, kernel, stride, bias):
    padding = [(k - s + 1) // 2 for k, s in zip(kernel, stride)]
    return Wrapped(conv_nd(dims)(cin, cout, kernel, stride=stride, padding=padding, bias=bias))


class Block(nn.Module):
    def __init__(self, dims, cin, cout, kernel, stride, slope):
        super().__init__()
        self.conv1 = new_conv(dims, cin, cout, kernel, stride, False)
        self.norm1 = norm_nd(dims, cout)
        self.conv2 = new_conv(dims, cout, cout, kernel, [1] * dims, False)
        self.norm2 = norm_nd(dims, cout)
        self.slope = slope

    def forward(self, x):
        x = F.leaky_relu(self.norm1(self.conv1(x)), self.slope)
        return F.leaky_relu(self.norm2(self.conv2(x)), self.slope)


class Up(nn.Module):
    def __init__(self, dims, cin, cout, kernel, stride, slope):
        super().__init__()
        self.transp_conv = Wrapped(conv_nd(dims, True)(cin, cout, stride, stride=stride, bias=True))
        self.conv_block = Block(dims, 2 * cout, cout, kernel, [1] * dims, slope)

    def forward(self, x, skip):
        return self.conv_block(torch.cat([self.transp_conv(x), skip], 1))


class Out(nn.Module):
    def __init__(self, dims, cin, classes):
        super().__init__()
        self.conv = new_conv(dims, cin, classes, [1] * dims, [1] * dims, True)

    def forward(self, x):
        return self.conv(x)


def filters_of(o):
    cap = o["MaxFilters"] or (320 if o["SpatialDims"] == 3 else 512)
    return [min(o["BaseFilters"] * 2 ** i, cap) for i in range(len(o["Strides"]))]


class NnUNet(nn.Module):
    def __init__(self, o):
        super().__init__()
        d, k, s, f, slope = o["SpatialDims"], o["Kernels"], o["Strides"], filters_of(o), o["NegativeSlope"]
        n = len(s)
        self.input_block = Block(d, o["InputChannels"], f[0], k[0], s[0], slope)
        self.downsamples = nn.ModuleList([Block(d, f[i - 1], f[i], k[i], s[i], slope) for i in range(1, n - 1)])
        self.bottleneck = Block(d, f[n - 2], f[n - 1], k[n - 1], s[n - 1], slope)
        levels = list(range(n - 2, -1, -1))  # upsamples[j] returns to level n - 2 - j
        self.upsamples = nn.ModuleList([Up(d, f[l + 1], f[l], k[l + 1], s[l + 1], slope) for l in levels])
        self.output_block = Out(d, f[0], o["Classes"])
        self.heads = o["DeepSupervisionHeads"] if o["DeepSupervision"] else 0
        if self.heads:
            self.deep_supervision_heads = nn.ModuleList([Out(d, f[h], o["Classes"]) for h in range(1, self.heads + 1)])

    def decode(self, x):
        skips = [self.input_block(x)]
        for block in self.downsamples:
            skips.append(block(skips[-1]))
        x = self.bottleneck(skips[-1])
        by_level = {}
        for j, up in enumerate(self.upsamples):
            level = len(self.upsamples) - 1 - j
            x = up(x, skips[level])
            by_level[level] = x
        return by_level

    def forward(self, x):
        return self.output_block(self.decode(x)[0])

    def forward_ds(self, x):
        by_level = self.decode(x)
        out = self.output_block(by_level[0])
        outs = [out] + [F.interpolate(self.deep_supervision_heads[h - 1](by_level[h]), out.shape[2:])
                        for h in range(1, self.heads + 1)]
        return torch.stack(outs, 1)


def ds_loss(deep, target):
    weights = [0.5 ** i for i in range(deep.shape[1])]
    return sum(w * F.cross_entropy(deep[:, i], target) for i, w in enumerate(weights)) / sum(weights)


def run(weights, inputs, out):
    options = json.loads(load_metadata(weights)["nnunet_options"])
    model = NnUNet(options)
    model.load_state_dict(load_file(weights), strict=True)  # the C# keys must be these keys exactly
    model.train()
    data = load_file(inputs)
    with torch.no_grad():
        logits = model(data["input"])
    deep = model.forward_ds(data["input"])
    loss = ds_loss(deep, data["target"])
    loss.backward()
    result = {"logits": logits.contiguous(), "deep": deep.detach().contiguous(), "loss": loss.detach().reshape([])}
    for name, p in model.named_parameters():
        result["grad." + name] = p.grad.detach().contiguous()
    save_file(result, out, {"parameters": str(sum(p.numel() for p in model.parameters()))})


def count(options_json):
    model = NnUNet(json.loads(options_json))
    print(f"parameters {sum(p.numel() for p in model.parameters())} keys {len(model.state_dict())}")


def flops(options_json, size):
    o = json.loads(options_json)
    model = NnUNet(o).eval()
    counts = []

    def hook(module, inputs, output):
        k = 1
        for v in module.kernel_size:
            k *= v
        if isinstance(module, (nn.ConvTranspose2d, nn.ConvTranspose3d)):  # each input voxel scatters a kernel
            macs = inputs[0][0].numel() * module.out_channels * k
        else:
            macs = output[0].numel() * module.in_channels * k
        counts.append(2 * macs)

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            m.register_forward_hook(hook)
    x = torch.zeros(1, o["InputChannels"], *[int(v) for v in size.split("x")])
    with torch.no_grad():
        model(x)
        forward, first = sum(counts), counts[0]
        counts.clear()
        model.forward_ds(x)
        training = sum(counts)
    print(f"forward {forward} training_forward {training} first_conv {first}")


def main(argv):
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if argv[1] == "run":
        run(argv[2], argv[3], argv[4])
    elif argv[1] == "count":
        count(argv[2])
    elif argv[1] == "flops":
        flops(argv[2], argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
