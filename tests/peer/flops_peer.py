"""Counts the U-Net's FLOPs per image by running the peer model (unet_peer.py) once and adding
up, with forward hooks, 2 x multiply-adds of every Conv2d and ConvTranspose2d it executes: the
independent check of src/UNet.Segmentation/Model/FlopCount.cs.

usage: /usr/bin/python3 flops_peer.py OPTIONS_JSON INPUT_SIZE
prints "forward <flops> first_conv <flops>" (per image).
"""
import json
import sys

import torch
from torch import nn

from unet_peer import UNet


def main(argv):
    options, size = json.loads(argv[1]), int(argv[2])
    model = UNet(options).eval()
    counts = []

    def hook(module, inputs, output):
        k = module.kernel_size[0] * module.kernel_size[1]
        if isinstance(module, nn.ConvTranspose2d):  # every input pixel scatters a k x k kernel
            macs = inputs[0][0].numel() * module.out_channels * k
        else:
            macs = output[0].numel() * module.in_channels * k
        counts.append(2 * macs)

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, options["InputChannels"], size, size))
    print(f"forward {sum(counts)} first_conv {counts[0]}")


if __name__ == "__main__":
    main(sys.argv)
