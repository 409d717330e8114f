#!/usr/bin/python3
"""Side-by-side speed: the same U-Net step (model, batch, threads, precision, memory format) in
the PyTorch peer (peer_step.py, eager PyTorch on the same libtorch) and in our library
(UNet.Segmentation.Benchmarks `step`), in one run, alternating which goes first for each
configuration, and the ratio ours / PyTorch of mean images/s. Also measures the machine's
convolution rate (`conv-rate`, before and after the configurations, the higher kept) and sets every configuration against its compute floor:
FLOPs per image (src/UNet.Segmentation/Model/FlopCount.cs) / measured conv FLOP/s.

usage: benchmarks/side-by-side/run.py [--modes train,infer] [--batches 1] [--precisions fp32,bf16]
         [--formats contiguous,channels-last] [--filters 64] [--size 572] [--warmup 1] [--steps 3]
         [--threads N] [--device cpu|cuda] [--json OUT.json] [--no-build] [--no-tuned-peers]
(--precisions fp16 is CUDA only.)
Prints a Markdown table (docs/performance.md uses it) and, with --json, writes every raw result.
The baseline column "vs PyTorch default" compares with PyTorch eager's defaults at the same
batch (float32, contiguous). Unless --no-tuned-peers, PyTorch runs twice more, to show where
the difference comes from: "sub-pixel" with the up-convolutions rewritten as our library
computes them on CPU (peer_subpixel.py), and "sub-pixel + kept memory" with, in addition,
glibc told to keep freed memory (MALLOC_MMAP_THRESHOLD_ and friends, KEEP_MEMORY below), which
is what our shim's caching CPU allocator does: without it every large activation is a fresh
mapping that the kernel zero-fills page by page, every step.
"""
import argparse
import itertools
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROJECT = os.path.join(ROOT, "benchmarks", "UNet.Segmentation.Benchmarks")
OURS_DLL = os.path.join(PROJECT, "bin", "Release", "net10.0", "UNet.Segmentation.Benchmarks.dll")
PEER = os.path.join(HERE, "peer_step.py")


# glibc malloc settings that keep freed memory for reuse instead of returning it to the kernel.
KEEP_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(4 << 30), "MALLOC_TRIM_THRESHOLD_": str(64 << 30), "MALLOC_TOP_PAD_": str(1 << 30)}


def run_json(cmd, env=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=None if env is None else {**os.environ, **env})
    if proc.returncode != 0:
        sys.exit(f"side-by-side: {' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr[-4000:]}")
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"side-by-side: no JSON line from {' '.join(cmd)}:\n{proc.stdout[-4000:]}")
    return json.loads(lines[-1])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--modes", default="train,infer")
    p.add_argument("--batches", default="1")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--formats", default="contiguous,channels-last")
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--size", type=int, default=572)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cpu")
    p.add_argument("--json")
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--no-tuned-peers", action="store_true")
    a = p.parse_args(argv)
    if not a.no_build:
        subprocess.run(["dotnet", "build", PROJECT, "-c", "Release", "-nologo", "-v", "quiet"], check=True, stdout=subprocess.DEVNULL)
    ours = ["dotnet", OURS_DLL]
    peer = ["/usr/bin/python3", PEER]
    common = ["--filters", str(a.filters), "--size", str(a.size), "--warmup", str(a.warmup), "--steps", str(a.steps), "--threads", str(a.threads), "--device", a.device]

    results, rates = [], {}

    def measure_rates():  # the floor is the best the machine did: keep the higher of two measurements
        for precision, fmt in itertools.product(a.precisions.split(","), a.formats.split(",")):
            args = ["--precision", precision, "--format", fmt, "--batch", "1", "--warmup", "1", "--steps", "5", "--threads", str(a.threads), "--device", a.device]
            rates[(precision, fmt)] = max(rates.get((precision, fmt), 0.0), run_json(ours + ["conv-rate"] + args)["gflops"])

    measure_rates()
    configs = list(itertools.product(a.modes.split(","), [int(b) for b in a.batches.split(",")], a.precisions.split(","), a.formats.split(",")))
    for i, (mode, batch, precision, fmt) in enumerate(configs):
        args = ["--mode", mode, "--batch", str(batch), "--precision", precision, "--format", fmt] + common
        runners = [("pytorch", peer, None), ("ours", ours + ["step"], None)]
        if not a.no_tuned_peers:
            runners.append(("pytorch_subpixel", peer + ["--upconv", "subpixel"], None))
            runners.append(("pytorch_subpixel_kept", peer + ["--upconv", "subpixel"], KEEP_MEMORY))
        order = runners[i % len(runners):] + runners[:i % len(runners)]  # who goes first rotates
        pair = {}
        for name, cmd, env in order:
            pair[name] = run_json(cmd + args, env)
            print(f"  {mode} batch {batch} {precision} {fmt}: {name} {pair[name]['images_per_second']:.4f} images/s", file=sys.stderr, flush=True)
        results.append({"mode": mode, "batch": batch, "precision": precision, "format": fmt, **pair,
                        "conv_gflops": rates[(precision, fmt)]})

    measure_rates()  # again at the end: one disturbed measurement cannot lower the floor
    print(f"| mode | batch | precision | memory format | PyTorch images/s | ours images/s | ours / PyTorch | ours / PyTorch default | PyTorch sub-pixel | ours / it | PyTorch sub-pixel + kept memory | ours / it | floor images/s | ours % of floor | peak RSS ours / PyTorch / PyTorch kept MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ours_ips, peer_ips = r["ours"]["images_per_second"], r["pytorch"]["images_per_second"]
        tuned = [r[k]["images_per_second"] if k in r else None for k in ("pytorch_subpixel", "pytorch_subpixel_kept")]
        tuned_cells = " | ".join("|" if t is None else f"{t:.4f} | {ours_ips / t:.2f}x" for t in tuned)
        kept_rss = f" / {r['pytorch_subpixel_kept']['peak_rss_mib']:.0f}" if "pytorch_subpixel_kept" in r else ""
        default = next((d["pytorch"]["images_per_second"] for d in results
                        if (d["mode"], d["batch"], d["precision"], d["format"]) == (r["mode"], r["batch"], "fp32", "contiguous")), None)
        floor = r["conv_gflops"] * 1e9 / r["ours"]["flops_per_image"]
        print(f"| {r['mode']} | {r['batch']} | {r['precision']} | {r['format']} | {peer_ips:.4f} | {ours_ips:.4f} | "
              f"{ours_ips / peer_ips:.2f}x | {'' if default is None else f'{ours_ips / default:.2f}x'} | {tuned_cells} | "
              f"{floor:.4f} | {100 * ours_ips / floor:.0f} % | "
              f"{r['ours']['peak_rss_mib']:.0f} / {r['pytorch']['peak_rss_mib']:.0f}{kept_rss} |")
    print()
    for (precision, fmt), g in rates.items():
        print(f"conv 64→64 3×3 at 570×570, {precision}, {fmt}: {g:.1f} GFLOP/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"conv_gflops": {f"{k[0]}/{k[1]}": v for k, v in rates.items()}, "results": results}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
