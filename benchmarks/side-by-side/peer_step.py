"""The PyTorch side of the side-by-side benchmark: the peer U-Net (tests/peer/unet_peer.py) in
plain eager PyTorch, timed step by step exactly as benchmarks/UNet.Segmentation.Benchmarks times
ours (`step` command): one training step = zero grads, forward (under autocast for bf16),
Dice + cross-entropy on float32 logits (tests/peer/losses_peer.py), backward, Adam (lr 1e-4,
eps 1e-7); one inference step = forward in inference mode + softmax. Each step ends with a
number read back, so it is complete when timed. Prints one JSON line.

usage: /usr/bin/python3 peer_step.py --mode train|infer --batch N --precision fp32|bf16|fp16
       --format contiguous|channels-last --filters F --size S --warmup W --steps N --threads T
       [--device cpu|cuda|cuda:N]
fp16 (CUDA only) is float16 autocast with torch.cuda.amp.GradScaler, as our float16 training.
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "peer"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from losses_peer import losses  # noqa: E402
from unet_peer import UNet  # noqa: E402


def parse(argv, filters=64, size=572):
    """The flags of every side-by-side runner; peer_nnunet_step.py passes its own defaults."""
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["train", "infer"], required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    p.add_argument("--device", default="cpu")
    p.add_argument("--format", choices=["contiguous", "channels-last"], default="contiguous")
    p.add_argument("--filters", type=int, default=filters)
    p.add_argument("--size", type=int, default=size)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def timed(step, count):
    """Seconds of each of `count` calls of step()."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def report(a, device, measured):
    """The JSON fields run.py reads, from the measured steps' seconds."""
    return {"version": torch.__version__, "mode": a.mode, "batch": a.batch, "precision": a.precision, "format": a.format,
            "device": str(device), "filters": a.filters, "size": a.size, "threads": torch.get_num_threads(),
            "step_seconds": measured, "images_per_second": sum(a.batch / t for t in measured) / len(measured),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def output_size(size, depth):
    """Valid padding: two 3x3 convs take 4 pixels per level, pooling halves, up-convs double."""
    for _ in range(depth):
        size = (size - 4) // 2
    size -= 4
    for _ in range(depth):
        size = 2 * size - 4
    return size


def main(argv):
    a = parse(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    options = {"BaseFilters": a.filters, "Depth": 4, "InputChannels": 1, "Classes": 2, "Padding": "Valid",
               "BatchNorm": False, "Upsampling": "TransposedConv3x3", "DropoutRate": 0.5}
    model = UNet(options)
    device = torch.device(a.device)
    if a.precision == "fp16" and device.type != "cuda":
        sys.exit("peer_step: fp16 autocast is benchmarked on CUDA only")
    model = model.to(device)
    x = torch.randn(a.batch, 1, a.size, a.size, device=device)
    if a.format == "channels-last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    amp = a.precision != "fp32"
    amp_dtype = torch.float16 if a.precision == "fp16" else torch.bfloat16
    scaler = torch.cuda.amp.GradScaler(enabled=a.precision == "fp16")
    times = []
    if a.mode == "train":
        model.train()
        out = output_size(a.size, 4)
        classes = torch.randint(0, 2, (a.batch, out, out), device=device)
        adam = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
        for _ in range(a.warmup + a.steps):
            start = time.perf_counter()
            adam.zero_grad(set_to_none=False)
            with torch.autocast(device.type, amp_dtype, enabled=amp):
                logits = model(x)
            onehot = F.one_hot(classes, 2).permute(0, 3, 1, 2).float()
            loss = losses(logits.float(), onehot, classes)["total"]
            scaler.scale(loss).backward()
            scaler.step(adam)
            scaler.update()
            loss.item()
            times.append(time.perf_counter() - start)
    else:
        model.eval()
        with torch.inference_mode():
            for _ in range(a.warmup + a.steps):
                start = time.perf_counter()
                with torch.autocast(device.type, amp_dtype, enabled=amp):
                    logits = model(x)
                logits.float().softmax(1).sum().item()
                times.append(time.perf_counter() - start)
    print(json.dumps({"impl": "pytorch", **report(a, device, times[a.warmup:])}))


if __name__ == "__main__":
    main(sys.argv[1:])
