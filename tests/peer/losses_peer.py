"""Golden values for the training losses (src/UNet.Segmentation/Training/Losses*.cs), computed
by PyTorch at test time, written as the reference (NVIDIA UNet_Medical TF2, runtime/losses.py)
states them: logits cast to float32 and flattened channels-last to N x P x C, softmax
cross-entropy averaged over all pixels, soft V-Net Dice per sample and class
(2*sum(p*t) + 1e-6) / (sum(p*p + t*t) + 1e-6) averaged over the batch, dice loss = mean over
classes of (1 - dice), and the coupled L2 term weight_decay * sum(tf.nn.l2_loss(w)).

usage: /usr/bin/python3 losses_peer.py OUT.safetensors

For every case NAME the file holds NAME.logits, NAME.labels (one-hot, float32), NAME.classes
(int64), the values NAME.ce, NAME.dice, NAME.total, NAME.dice_coef (per class) and the gradients
NAME.grad.ce, NAME.grad.dice, NAME.grad.total of each loss with respect to the logits. The L2
case holds l2.w0, l2.w1, ..., l2.value and l2.grad.w0, ... for weight decay l2.weight_decay.
"""
import sys

import torch
import torch.nn.functional as F

from safetensors_io import save_file

EPS = 1e-6
result = {}


def flatten(t):
    """N x C x H x W -> N x (H*W) x C, as the reference's NHWC reshape."""
    n, c = t.shape[0], t.shape[1]
    return t.permute(0, 2, 3, 1).reshape(n, -1, c)


def dice_coef(logits, onehot):
    p = torch.softmax(flatten(logits.float()), dim=-1)
    t = flatten(onehot.float())
    intersection = (p * t).sum(dim=1)
    union = (p * p + t * t).sum(dim=1)
    return ((2.0 * intersection + EPS) / (union + EPS)).mean(dim=0)


def losses(logits, onehot, classes):
    ce = F.cross_entropy(logits.float(), classes)  # mean over every pixel, unweighted
    dice = (1.0 - dice_coef(logits, onehot)).mean()
    return {"ce": ce, "dice": dice, "total": ce + dice}


def case(name, logits, classes):
    c = logits.shape[1]
    onehot = F.one_hot(classes, c).permute(0, 3, 1, 2).float().contiguous()
    result[f"{name}.logits"] = logits.contiguous()
    result[f"{name}.labels"] = onehot
    result[f"{name}.classes"] = classes.contiguous()
    result[f"{name}.dice_coef"] = dice_coef(logits, onehot).detach().contiguous()
    for key in ("ce", "dice", "total"):
        leaf = logits.clone().requires_grad_(True)
        value = losses(leaf, onehot, classes)[key]
        value.backward()
        result[f"{name}.{key}"] = value.detach().reshape(())
        result[f"{name}.grad.{key}"] = leaf.grad.contiguous()


def main():
    torch.manual_seed(0)
    classes = torch.randint(0, 2, (2, 16, 16))
    case("two_classes", torch.randn(2, 2, 16, 16) * 3, classes)
    classes = torch.randint(0, 3, (3, 8, 12))
    case("three_classes", torch.randn(3, 3, 8, 12) * 2, classes)
    classes = torch.randint(0, 2, (2, 10, 10))
    confident = F.one_hot(classes, 2).permute(0, 3, 1, 2).double() * 4 + torch.randn(2, 2, 10, 10, dtype=torch.float64)
    case("float64_confident", confident, classes)

    weight_decay = 5e-4
    params = [torch.randn(4, 3, 3, 3), torch.randn(4), torch.randn(2, 4, 1, 1), torch.randn(2)]
    leaves = [p.clone().requires_grad_(True) for p in params]
    l2 = weight_decay * sum((w * w).sum() / 2 for w in leaves)  # tf.nn.l2_loss(w) = sum(w^2) / 2
    l2.backward()
    result["l2.weight_decay"] = torch.tensor(weight_decay, dtype=torch.float64)
    result["l2.value"] = l2.detach().reshape(())
    for i, (p, leaf) in enumerate(zip(params, leaves)):
        result[f"l2.w{i}"] = p
        result[f"l2.grad.w{i}"] = leaf.grad.contiguous()

    save_file(result, sys.argv[1], {"torch": torch.__version__, "cases": "two_classes,three_classes,float64_confident"})


if __name__ == "__main__":
    main()
