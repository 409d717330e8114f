"""Golden values for the binding's numerics, computed by PyTorch at test time.

usage: /usr/bin/python3 ops_peer.py OUT.safetensors

For every case NAME the file holds its inputs (NAME.x, NAME.w, ...), the upstream gradient
NAME.up, the forward result NAME.out and the gradients NAME.grad.<input> of sum(out * up).
The C# test recomputes each case with the binding and compares.
"""
import sys

import torch
import torch.nn.functional as F

from safetensors_io import save_file

torch.manual_seed(0)
torch.set_num_threads(max(1, torch.get_num_threads()))
result = {}


def case(name, fn, inputs, grads=()):
    """Runs fn(**inputs), back-propagates a random upstream gradient, stores everything."""
    leaves = {k: v.clone().requires_grad_(k in grads) for k, v in inputs.items()}
    out = fn(**leaves)
    up = torch.randn_like(out) if out.dim() > 0 else torch.tensor(1.0)
    if grads:
        (out * up).sum().backward()
    for k, v in inputs.items():
        result[f"{name}.{k}"] = v.contiguous()
    result[f"{name}.up"] = up.contiguous()
    result[f"{name}.out"] = out.detach().contiguous()
    for k in grads:
        result[f"{name}.grad.{k}"] = leaves[k].grad.contiguous()


r = torch.randn
case("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
     {"x": r(2, 3, 9, 9), "w": r(4, 3, 3, 3), "b": r(4)}, ("x", "w", "b"))
case("conv2d_dilated_groups", lambda x, w: F.conv2d(x, w, None, stride=1, padding=2, dilation=2, groups=2),
     {"x": r(1, 4, 8, 8), "w": r(6, 2, 3, 3)}, ("x", "w"))
case("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     {"x": r(2, 4, 5, 5), "w": r(4, 3, 3, 3), "b": r(3)}, ("x", "w", "b"))
case("max_pool2d", lambda x: F.max_pool2d(x, 2, 2), {"x": r(2, 3, 8, 8)}, ("x",))
case("max_pool2d_padded", lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True), {"x": r(1, 2, 7, 7)}, ("x",))
case("softmax", lambda x: torch.softmax(x, 1), {"x": r(3, 5, 2)}, ("x",))
case("log_softmax", lambda x: torch.log_softmax(x, 1), {"x": r(3, 5, 2)}, ("x",))
target = torch.randint(0, 3, (2, 4, 4))
case("cross_entropy", lambda x, t: F.cross_entropy(x, t), {"x": r(2, 3, 4, 4), "t": target}, ("x",))
case("cross_entropy_weighted", lambda x, t, w: F.cross_entropy(x, t, weight=w),
     {"x": r(2, 3, 4, 4), "t": target, "w": torch.tensor([0.2, 1.0, 3.0])}, ("x",))
case("cross_entropy_smoothed", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
     {"x": r(2, 3, 4, 4), "t": target}, ("x",))
case("nll_loss", lambda x, t: F.nll_loss(torch.log_softmax(x, 1), t, reduction="sum"),
     {"x": r(2, 3, 4, 4), "t": target}, ("x",))
case("interpolate_bilinear", lambda x: F.interpolate(x, size=(9, 11), mode="bilinear", align_corners=False),
     {"x": r(2, 3, 5, 7)}, ("x",))
case("interpolate_bilinear_aligned", lambda x: F.interpolate(x, size=(4, 13), mode="bilinear", align_corners=True),
     {"x": r(1, 2, 6, 5)}, ("x",))
case("interpolate_nearest", lambda x: F.interpolate(x, size=(10, 3), mode="nearest"), {"x": r(1, 2, 5, 6)}, ("x",))
grid = torch.rand(2, 4, 5, 2) * 2.4 - 1.2
case("grid_sample_bilinear_zeros", lambda x, g: F.grid_sample(x, g, mode="bilinear", padding_mode="zeros", align_corners=False),
     {"x": r(2, 3, 6, 6), "g": grid}, ("x", "g"))
case("grid_sample_nearest_border", lambda x, g: F.grid_sample(x, g, mode="nearest", padding_mode="border", align_corners=False),
     {"x": r(2, 3, 6, 6), "g": grid}, ("x",))
case("grid_sample_bilinear_reflection_aligned", lambda x, g: F.grid_sample(x, g, mode="bilinear", padding_mode="reflection", align_corners=True),
     {"x": r(2, 3, 6, 6), "g": grid}, ("x", "g"))
case("affine_grid", lambda theta: F.affine_grid(theta, [2, 3, 5, 6], align_corners=False), {"theta": r(2, 2, 3)}, ("theta",))


def optimizer_case(name, cls, **kw):
    p = r(3, 4)
    result[f"{name}.p0"] = p.clone()
    param = torch.nn.Parameter(p.clone())
    opt = cls([param], foreach=False, **kw)
    for step in range(3):
        g = r(3, 4)
        result[f"{name}.g{step}"] = g
        param.grad = g.clone()
        opt.step()
    result[f"{name}.p3"] = param.detach().clone()


optimizer_case("adam", torch.optim.Adam, lr=1e-2, betas=(0.9, 0.999), eps=1e-7, weight_decay=5e-4)
optimizer_case("adamw", torch.optim.AdamW, lr=1e-2, weight_decay=0.1)
optimizer_case("sgd", torch.optim.SGD, lr=1e-2, momentum=0.9, weight_decay=1e-3, nesterov=True)

save_file(result, sys.argv[1], {"torch": torch.__version__})
