"""torch.optim.Adam run on fixed parameters and gradients: the peer for the trainer's optimizer
(TorchSharp's torch.optim.Adam, built as Training/Trainer.cs builds it).

usage: /usr/bin/python3 adam_peer.py OUT.safetensors LR BETA1 BETA2 EPS STEPS

Two parameters (a 4-D conv weight and a bias) start from torch.manual_seed(0) values; each step
sets their gradients to fresh random values and calls step(). The bias's gradients are scaled
by 1e-7, so that sqrt(v) is of the order of eps and the update depends on eps (1e-7 in the
reference, TensorFlow's default, against PyTorch's 1e-8). Half-way through (after STEPS // 2
steps) the learning rate is halved through param_groups, as a learning-rate schedule does.
OUT holds p{i}.start, g{step}.{i}, p{i}.end, and Adam's state per parameter:
state{i}.exp_avg, state{i}.exp_avg_sq, state{i}.step (float64 scalar).
"""
import sys

import torch

from safetensors_io import save_file


def main(argv):
    out, lr, beta1, beta2, eps, steps = argv[1], float(argv[2]), float(argv[3]), float(argv[4]), float(argv[5]), int(argv[6])
    torch.manual_seed(0)
    shapes = [(4, 3, 3, 3), (4,)]
    result = {}
    params = []
    for i, shape in enumerate(shapes):
        p = torch.randn(*shape)
        result[f"p{i}.start"] = p.clone()
        params.append(torch.nn.Parameter(p.clone()))
    # weight_decay 0: the trainer's L2 term lives in the loss (Losses.L2), not in Adam.
    opt = torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=0, foreach=False)
    for step in range(steps):
        if step == steps // 2:
            for group in opt.param_groups:
                group["lr"] = lr / 2
        for i, p in enumerate(params):
            g = torch.randn(*shapes[i]) * (1e-7 if i == 1 else 1.0)
            result[f"g{step}.{i}"] = g
            p.grad = g.clone()
        opt.step()
    for i, p in enumerate(params):
        result[f"p{i}.end"] = p.detach().clone()
        state = opt.state[p]
        result[f"state{i}.exp_avg"] = state["exp_avg"].contiguous()
        result[f"state{i}.exp_avg_sq"] = state["exp_avg_sq"].contiguous()
        result[f"state{i}.step"] = torch.tensor(float(state["step"]), dtype=torch.float64)
    save_file(result, out, {"torch": torch.__version__})


if __name__ == "__main__":
    main(sys.argv)
