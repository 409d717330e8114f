"""The U-Net in plain PyTorch, written from the reference's description, as the peer for the C#
model: same architecture, same state-dict keys. It loads the C# model's safetensors file (the
options come from its metadata), runs a fixed input, back-propagates a fixed loss and writes the
logits, the loss, every parameter's gradient and every buffer after the forward pass (batch
norm's running statistics and batch count) to a safetensors file.

usage: /usr/bin/python3 unet_peer.py WEIGHTS INPUTS OUT [--train] [--float64]
--float64 adds grad64.NAME: every gradient computed again in float64.
OUT holds logits, loss, grad.NAME per parameter and buffer.NAME per buffer.
INPUTS holds "input" (N x C x H x W float32) and "target" (N x H' x W' int64).
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch import nn

from safetensors_io import load_file, load_metadata, save_file


class ConvPair(nn.Module):
    """conv1 (-> bn1) -> relu -> conv2 (-> bn2) -> relu, registered directly on the block."""

    def __init__(self, block, cin, f, o):
        pad = 1 if o["Padding"] == "Same" else 0
        bn = o["BatchNorm"]
        block.conv1 = nn.Conv2d(cin, f, 3, padding=pad, bias=not bn)
        block.conv2 = nn.Conv2d(f, f, 3, padding=pad, bias=not bn)
        if bn:
            block.bn1 = nn.BatchNorm2d(f)
            block.bn2 = nn.BatchNorm2d(f)
        block.use_bn = bn


def convs(block, x):
    x = block.conv1(x)
    if block.use_bn:
        x = block.bn1(x)
    x = F.relu(x)
    x = block.conv2(x)
    if block.use_bn:
        x = block.bn2(x)
    return F.relu(x)


def upsample(upconv, x, kind):
    if kind == "TransposedConv2x2":
        return upconv(x)
    h, w = x.shape[2], x.shape[3]
    return F.relu(upconv(x)[:, :, : 2 * h, : 2 * w])  # TF 'same': the full output's first 2n


def crop(skip, h, w):
    dh, dw = (skip.shape[2] - h) // 2, (skip.shape[3] - w) // 2
    return skip[:, :, dh: dh + h, dw: dw + w]


def new_upconv(cin, cout, kind):
    return nn.ConvTranspose2d(cin, cout, 3 if kind == "TransposedConv3x3" else 2, stride=2)


class Encoder(nn.Module):
    def __init__(self, cin, f, o):
        super().__init__()
        ConvPair(self, cin, f, o)

    def forward(self, x):
        skip = convs(self, x)
        return F.max_pool2d(skip, 2), skip


class Bottleneck(nn.Module):
    def __init__(self, cin, f, o):
        super().__init__()
        ConvPair(self, cin, f, o)
        self.upconv = new_upconv(f, f // 2, o["Upsampling"])
        self.o = o

    def forward(self, x):
        x = convs(self, x)
        x = F.dropout(x, self.o["DropoutRate"], self.training)
        return upsample(self.upconv, x, self.o["Upsampling"])


class Decoder(nn.Module):
    def __init__(self, f, o):
        super().__init__()
        ConvPair(self, 2 * f, f, o)
        self.upconv = new_upconv(f, f // 2, o["Upsampling"])
        self.o = o

    def forward(self, x, skip):
        x = torch.cat([x, crop(skip, x.shape[2], x.shape[3])], 1)
        return upsample(self.upconv, convs(self, x), self.o["Upsampling"])


class Output(nn.Module):
    def __init__(self, f, classes, o):
        super().__init__()
        ConvPair(self, 2 * f, f, o)
        self.conv3 = nn.Conv2d(f, classes, 1)

    def forward(self, x, skip):
        x = torch.cat([x, crop(skip, x.shape[2], x.shape[3])], 1)
        return self.conv3(convs(self, x))


class UNet(nn.Module):
    def __init__(self, o):
        super().__init__()
        f, d = o["BaseFilters"], o["Depth"]
        self.input_block = Encoder(o["InputChannels"], f, o)
        self.down_blocks = nn.ModuleList([Encoder(f << (l - 1), f << l, o) for l in range(1, d)])
        self.bottleneck = Bottleneck(f << (d - 1), f << d, o)
        self.up_blocks = nn.ModuleList([Decoder(f << l, o) for l in reversed(range(1, d))])
        self.output_block = Output(f, o["Classes"], o)

    def forward(self, x):
        x, skip = self.input_block(x)
        skips = [skip]
        for block in self.down_blocks:
            x, skip = block(x)
            skips.append(skip)
        x = self.bottleneck(x)
        for i, block in enumerate(self.up_blocks):
            x = block(x, skips[-(i + 1)])
        return self.output_block(x, skips[0])


def main(argv):
    weights, inputs, out = argv[1], argv[2], argv[3]
    train = "--train" in argv
    torch.set_num_threads(max(1, torch.get_num_threads()))
    options = json.loads(load_metadata(weights)["unet_options"])
    model = UNet(options)
    state = load_file(weights)
    model.load_state_dict(state, strict=True)  # the C# keys must be PyTorch's keys exactly
    model.train(train)
    data = load_file(inputs)
    logits = model(data["input"])
    loss = F.cross_entropy(logits, data["target"])
    loss.backward()
    result = {"logits": logits.detach().contiguous(), "loss": loss.detach().reshape([])}
    for name, b in model.named_buffers():
        result["buffer." + name] = b.detach().clone()
    for name, p in model.named_parameters():
        result["grad." + name] = p.grad.detach().clone()  # a copy: .double() below converts grads in place
    if "--float64" in argv:  # the same gradients in float64: the truth both float32 runs are measured against
        model.double().zero_grad()
        F.cross_entropy(model(data["input"].double()), data["target"]).backward()
        for name, p in model.named_parameters():
            result["grad64." + name] = p.grad.contiguous()
    save_file(result, out, {"parameters": str(sum(p.numel() for p in model.parameters()))})


if __name__ == "__main__":
    main(sys.argv)
