"""The PyTorch side of the side-by-side's nnU-Net rows (run.py --model nnunet): the peer nnU-Net
(tests/peer/nnunet_peer.py) in plain eager PyTorch 1.13 at a cubic patch (4 channels, 4 classes,
the plan for 1 mm spacing: halve while the size is at least 8, at most 5 times; filters
32 * 2^level capped at 320; 2 deep-supervision heads), timed step by step as
benchmarks/UNet.Segmentation.Benchmarks times ours (`nnunet-step`): one training step = zero
grads, forward with the heads (under autocast for bf16), the deep-supervision Dice +
cross-entropy on float32 outputs (tests/peer/nnunet_loss_peer.py), backward, Adam (lr 1e-4,
eps 1e-7); one inference step = forward without the heads in inference mode + softmax. Each step
ends with a number read back. Prints one JSON line.

usage: /usr/bin/python3 peer_nnunet_step.py --mode train|infer [--batch N] [--precision fp32|bf16]
       [--format contiguous] [--filters 32] [--size 128] [--warmup W] [--steps N] [--threads T]
       [--device cpu|cuda]
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "peer"))
import torch  # noqa: E402

from nnunet_loss_peer import deep_supervision  # noqa: E402
from nnunet_peer import NnUNet  # noqa: E402
from peer_step import parse, report, timed  # noqa: E402

CHANNELS, CLASSES = 4, 4


def plan(size, filters):
    """The options nnunet_peer.NnUNet takes, for a size^3 patch at 1 mm."""
    strides = [[1, 1, 1]]
    while size >= 8 and len(strides) <= 5:
        strides.append([2, 2, 2])
        size //= 2
    return {"SpatialDims": 3, "InputChannels": CHANNELS, "Classes": CLASSES, "Kernels": [[3, 3, 3]] * len(strides),
            "Strides": strides, "BaseFilters": filters, "MaxFilters": None, "NegativeSlope": 0.01,
            "DeepSupervision": True, "DeepSupervisionHeads": min(2, len(strides) - 2)}


def main(argv):
    a = parse(argv, filters=32, size=128)
    if a.format != "contiguous" or a.precision == "fp16":
        sys.exit("peer_nnunet_step: contiguous float32 or bfloat16 only")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    model = NnUNet(plan(a.size, a.filters)).to(device)
    x = torch.randn(a.batch, CHANNELS, a.size, a.size, a.size, device=device)
    amp = a.precision == "bf16"
    if a.mode == "train":
        model.train()
        labels = torch.randint(0, CLASSES, (a.batch, 1, a.size, a.size, a.size), device=device)
        adam = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)

        def step():
            adam.zero_grad(set_to_none=False)
            with torch.autocast(device.type, torch.bfloat16, enabled=amp):
                outputs = model.forward_ds(x)
            loss = deep_supervision(outputs.float(), labels)
            loss.backward()
            adam.step()
            loss.item()
        times = timed(step, a.warmup + a.steps)
    else:
        model.eval()

        def step():
            with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=amp):
                model(x).float().softmax(1).sum().item()
        times = timed(step, a.warmup + a.steps)
    print(json.dumps({"impl": "pytorch", "model": "nnunet", **report(a, device, times[a.warmup:]),
                      "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main(sys.argv[1:])
