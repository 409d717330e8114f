"""The up-convolution rewrite that our library runs on CPU, in plain PyTorch, for the side-by-side
benchmark's third column: a stride-2 transposed convolution with a 3x3 (TF 'same': the first 2n
of the full 2n+1 outputs) or 2x2 kernel, computed as ONE ordinary convolution over the four
sub-pixel phases followed by pixel_shuffle. Same numbers as nn.ConvTranspose2d + crop within
float rounding (checked by `python3 peer_subpixel.py`); it isolates how much of our speed comes
from this rewrite and how much from the rest of the stack.
"""
import torch
import torch.nn.functional as F


def _taps(w, dim, kernel, phase):
    """The kernel taps that land on output phase `phase` (0 even, 1 odd) along `dim`."""
    if kernel == 2:
        return w.narrow(dim, phase, 1)
    if phase == 0:  # output 2m = x[m-1] * w[2] + x[m] * w[0]: a 2-tap window over x padded in front
        return torch.stack([w.select(dim, 2), w.select(dim, 0)], dim)
    centre = w.select(dim, 1)  # output 2m+1 = x[m] * w[1]
    return torch.stack([torch.zeros_like(centre), centre], dim)


def conv_transpose2d_stride2(x, weight, bias):
    """x: N x in x H x W; weight: in x out x k x k (k 2 or 3); returns N x out x 2H x 2W."""
    k = weight.shape[2]
    wt = weight.transpose(0, 1)  # out x in x k x k
    phases = [_taps(_taps(wt, 2, k, a), 3, k, b) for a in (0, 1) for b in (0, 1)]
    w4 = torch.stack(phases, 1).flatten(0, 1)  # (out*4) x in x t x t, channel c*4 + 2a + b
    b4 = None if bias is None else bias.repeat_interleave(4)
    if k == 3:
        x = F.pad(x, (1, 0, 1, 0))
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous() else torch.contiguous_format
    return F.pixel_shuffle(F.conv2d(x, w4.contiguous(memory_format=fmt), b4), 2)


def upsample(upconv, x, kind):
    """Drop-in for unet_peer.upsample."""
    y = conv_transpose2d_stride2(x, upconv.weight, upconv.bias)
    return y if kind == "TransposedConv2x2" else F.relu(y)


if __name__ == "__main__":
    torch.manual_seed(0)
    for k in (2, 3):
        x = torch.randn(2, 6, 5, 7, dtype=torch.float64)
        w = torch.randn(6, 4, k, k, dtype=torch.float64)
        b = torch.randn(4, dtype=torch.float64)
        expected = F.conv_transpose2d(x, w, b, stride=2)[:, :, :10, :14]
        diff = (conv_transpose2d_stride2(x, w, b) - expected).abs().max().item()
        assert diff < 1e-10, f"kernel {k}: differs by {diff}"
    print("peer_subpixel: equal to conv_transpose2d + crop for kernels 2 and 3")
