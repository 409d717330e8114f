"""Golden values for nnU-Net's training loss (src/UNet.Segmentation/Training/NnUNetLoss.cs),
computed by PyTorch 1.13 at test time and written from the description of NVIDIA
DeepLearningExamples' nnUNet (PyTorch): its Loss is MONAI's DiceCELoss(include_background=False,
softmax=True, to_onehot_y=True, batch=True), i.e. with p = softmax(logits) and t = one-hot labels,
for each foreground class 1 - (2 sum(p t) + 1e-5) / (sum(t) + sum(p) + 1e-5) summed over batch
and voxels, averaged over the classes, plus nn.CrossEntropyLoss (mean over voxels, all classes);
its compute_loss weighs deep-supervision output i by 0.5**i and divides by the sum of the weights.

usage: /usr/bin/python3 nnunet_loss_peer.py OUT.safetensors

For every case NAME: NAME.outputs (N x K x C x spatial float32), NAME.labels (N x 1 x spatial
int64), NAME.single (the loss of output 0), NAME.ds (the deep-supervision loss) and NAME.grad.ds
(its gradient with respect to the outputs).
"""
import sys

import torch
import torch.nn.functional as F

from safetensors_io import save_file

SMOOTH = 1e-5


def dice_ce(logits, labels):
    classes = logits.shape[1]
    target = labels[:, 0]
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, dim=1)[:, 1:]
    t = F.one_hot(target, classes).movedim(-1, 1).to(logits.dtype)[:, 1:]
    dims = [0] + list(range(2, logits.dim()))
    intersection = (p * t).sum(dim=dims)
    denominator = t.sum(dim=dims) + p.sum(dim=dims)
    dice = (1 - (2 * intersection + SMOOTH) / (denominator + SMOOTH)).mean()
    return dice + ce


def deep_supervision(outputs, labels):
    loss, weights = 0.0, 0.0
    for i in range(outputs.shape[1]):
        loss = loss + dice_ce(outputs[:, i], labels) * 0.5 ** i
        weights += 0.5 ** i
    return loss / weights


def case(result, name, n, k, c, spatial, absent=None, scale=2.0):
    outputs = (torch.randn(n, k, c, *spatial) * scale).requires_grad_()
    labels = torch.randint(0, c, (n, 1, *spatial))
    if absent is not None:
        labels[labels == absent] = 0
    single = dice_ce(outputs[:, 0], labels)
    ds = deep_supervision(outputs, labels)
    ds.backward()
    result[f"{name}.outputs"] = outputs.detach()
    result[f"{name}.labels"] = labels
    result[f"{name}.single"] = single.detach()
    result[f"{name}.ds"] = ds.detach()
    result[f"{name}.grad.ds"] = outputs.grad


def main():
    torch.manual_seed(26)
    result = {}
    case(result, "three_d", 2, 3, 3, (4, 6, 5))
    case(result, "two_d", 3, 2, 2, (8, 6))
    case(result, "absent_class", 2, 4, 4, (4, 4, 4), absent=3)
    case(result, "confident", 1, 1, 3, (6, 5, 4), scale=12.0)
    save_file(result, sys.argv[1])


if __name__ == "__main__":
    main()
