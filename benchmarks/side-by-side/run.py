#!/usr/bin/python3
"""Side-by-side speed: the same U-Net step (model, batch, threads, precision, memory format) run
by three runners in one run, alternating which goes first for each configuration:
  ours             our library (UNet.Segmentation.Benchmarks `step`);
  plain TorchSharp the same U-Net written plainly in TorchSharp as its tutorials teach
                   (PlainTorchSharp/: Module, nn.Conv2d/ConvTranspose2d, Adam, a dispose scope
                   per step; same TorchSharp and libtorch as ours, none of our library's work);
                   float32 contiguous only, so it runs once per mode and batch;
  PyTorch          the peer (peer_step.py: tests/peer/unet_peer.py in eager PyTorch 1.13).
Each prints one JSON line with mean images/s. Also measures the machine's convolution rate
(ours `conv-rate`, before and after the configurations, the higher kept) and sets every
configuration against its compute floor: FLOPs per image (src/UNet.Segmentation/Model/FlopCount.cs)
/ measured conv FLOP/s.

--model nnunet runs the same three runners on the 3-D nnU-Net at the BraTS patch instead (128³,
4 channels, 4 classes, filters 32 at the top; `--size` / `--filters` change them): ours
`nnunet-step`, plain TorchSharp's `--model nnunet` (PlainTorchSharp/NnUNet.cs) and the peer
nnU-Net of tests/peer/nnunet_peer.py (peer_nnunet_step.py); contiguous only; FLOPs from
FlopCount.NnUNet.cs, the floor from `conv-rate --dims 3` (3×3×3 convolutions at the nnU-Net's
shapes). Every runner that reports its parameter count must agree with ours, or the run stops.

usage: benchmarks/side-by-side/run.py [--model unet|nnunet] [--modes train,infer] [--batches 1]
         [--precisions fp32,bf16] [--formats contiguous,channels-last] [--filters 64] [--size 572]
         [--warmup 1] [--steps 3] [--threads N] [--device cpu|cuda] [--json OUT.json] [--no-build]
(--precisions fp16 is CUDA only. The plain TorchSharp runner is built against TorchSharp-cpu,
so it runs only with --device cpu; its columns stay empty otherwise.)
Builds both .NET projects (Release) unless --no-build. Prints a Markdown table
(docs/performance.md uses it) and, with --json, writes every raw result. Columns: images/s of
each runner; ours / plain (float32 contiguous rows only, the one configuration plain runs);
ours / plain fp32 (every row against plain's float32 contiguous result at the same mode and
batch, so what ours gains from bf16 or channels-last shows too); ours / PyTorch (same
configuration); FLOPs per image; the floor and ours as a percentage of it; peak resident memory
(VmHWM) of ours, plain (float32 contiguous rows) and PyTorch.
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
PLAIN_PROJECT = os.path.join(HERE, "PlainTorchSharp")
PLAIN_DLL = os.path.join(PLAIN_PROJECT, "bin", "Release", "net10.0", "PlainTorchSharp.dll")
PLAIN_CONFIG = ("fp32", "contiguous")  # the only precision and memory format the plain form has
# What differs between the models: ours' command, the peer's script, plain's and conv-rate's extra
# flags, the defaults, and the words of the output.
MODELS = {
    "unet": {"ours": "step", "peer": "peer_step.py", "plain": [], "rate": [], "filters": 64, "size": 572,
             "formats": "contiguous,channels-last", "unit": "images/s", "conv": "C→C 3×3 at the U-Net's shapes"},
    "nnunet": {"ours": "nnunet-step", "peer": "peer_nnunet_step.py", "plain": ["--model", "nnunet"], "rate": ["--dims", "3"],
               "filters": 32, "size": 128, "formats": "contiguous", "unit": "patches/s", "conv": "C→C 3×3×3 at the nnU-Net's shapes"},
}


def run_json(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"side-by-side: {' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr[-4000:]}")
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"side-by-side: no JSON line from {' '.join(cmd)}:\n{proc.stdout[-4000:]}")
    return json.loads(lines[-1])


def ratio(a, b):
    return "" if a is None or b is None else f"{a / b:.2f}x"


def same_network(row):
    """Every runner that reports its parameter count has built the network ours has."""
    counts = {name: r["parameters"] for name, r in row.items() if "parameters" in r}
    if len(set(counts.values())) > 1:
        sys.exit(f"side-by-side: the runners built different networks: parameters {counts}")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=sorted(MODELS), default="unet")
    p.add_argument("--modes", default="train,infer")
    p.add_argument("--batches", default="1")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--formats")
    p.add_argument("--filters", type=int)
    p.add_argument("--size", type=int)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cpu")
    p.add_argument("--json")
    p.add_argument("--no-build", action="store_true")
    a = p.parse_args(argv)
    spec = MODELS[a.model]
    a.formats = a.formats or spec["formats"]
    a.filters = a.filters or spec["filters"]
    a.size = a.size or spec["size"]
    if not a.no_build:
        for project in (PROJECT, PLAIN_PROJECT):
            subprocess.run(["dotnet", "build", project, "-c", "Release", "-nologo", "-v", "quiet"], check=True, stdout=subprocess.DEVNULL)
    ours = ["dotnet", OURS_DLL]
    plain = ["dotnet", PLAIN_DLL] + spec["plain"]
    peer = ["/usr/bin/python3", os.path.join(HERE, spec["peer"])]
    with_plain = a.device == "cpu"
    common = ["--filters", str(a.filters), "--size", str(a.size), "--warmup", str(a.warmup), "--steps", str(a.steps), "--threads", str(a.threads), "--device", a.device]

    results, rates = [], {}
    plain_fp32 = {}  # (mode, batch) -> plain TorchSharp's float32 contiguous result

    def measure_rates():  # the floor is the best the machine did: keep the higher of two measurements
        for precision, fmt in itertools.product(a.precisions.split(","), a.formats.split(",")):
            args = spec["rate"] + ["--precision", precision, "--format", fmt, "--batch", "1", "--warmup", "1", "--steps", "5", "--threads", str(a.threads), "--device", a.device]
            rates[(precision, fmt)] = max(rates.get((precision, fmt), 0.0), run_json(ours + ["conv-rate"] + args)["gflops"])

    measure_rates()
    configs = list(itertools.product(a.modes.split(","), [int(b) for b in a.batches.split(",")], a.precisions.split(","), a.formats.split(",")))
    for i, (mode, batch, precision, fmt) in enumerate(configs):
        args = ["--mode", mode, "--batch", str(batch), "--precision", precision, "--format", fmt] + common
        runners = [("ours", ours + [spec["ours"]] + args), ("pytorch", peer + args)]
        # Plain runs once per mode and batch: with the float32 contiguous configuration, or, where
        # that one was not asked for, with the first configuration, in float32 contiguous anyway.
        has_fp32_row = PLAIN_CONFIG in itertools.product(a.precisions.split(","), a.formats.split(","))
        if with_plain and (mode, batch) not in plain_fp32 and ((precision, fmt) == PLAIN_CONFIG or not has_fp32_row):
            plain_args = ["--mode", mode, "--batch", str(batch), "--precision", PLAIN_CONFIG[0], "--format", PLAIN_CONFIG[1]] + common
            runners.insert(1, ("plain_torchsharp", plain + plain_args))
        order = runners[i % len(runners):] + runners[:i % len(runners)]  # who goes first rotates
        row = {}
        for name, cmd in order:
            row[name] = run_json(cmd)
            got = row[name]  # its own precision and format: plain's are float32 contiguous in every row
            print(f"  {mode} batch {batch} {got['precision']} {got['format']}: {name} {got['images_per_second']:.4f} {spec['unit']}", file=sys.stderr, flush=True)
        same_network(row)
        if "plain_torchsharp" in row:
            plain_fp32[(mode, batch)] = row["plain_torchsharp"]
        results.append({"mode": mode, "batch": batch, "precision": precision, "format": fmt, **row,
                        "conv_gflops": rates[(precision, fmt)]})

    measure_rates()  # again at the end: one disturbed measurement cannot lower the floor
    unit = spec["unit"]
    print(f"| mode | batch | precision | memory format | ours {unit} | plain TorchSharp {unit} | PyTorch {unit} | "
          f"ours / plain | ours / plain fp32 | ours / PyTorch | GFLOP per image | floor {unit} | ours % of floor | peak RSS ours / plain / PyTorch MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ours_ips, peer_ips = r["ours"]["images_per_second"], r["pytorch"]["images_per_second"]
        base = plain_fp32.get((r["mode"], r["batch"]))
        base_ips = None if base is None else base["images_per_second"]
        same = (r["precision"], r["format"]) == PLAIN_CONFIG and base is not None  # plain ran this very configuration
        plain_ips = base_ips if same else None
        plain_rss = f"{base['peak_rss_mib']:.0f}" if same else "–"
        floor = rates[(r["precision"], r["format"])] * 1e9 / r["ours"]["flops_per_image"]  # the best of both measurements
        print(f"| {r['mode']} | {r['batch']} | {r['precision']} | {r['format']} | {ours_ips:.4f} | "
              f"{'' if plain_ips is None else f'{plain_ips:.4f}'} | {peer_ips:.4f} | "
              f"{ratio(ours_ips, plain_ips)} | {ratio(ours_ips, base_ips)} | {ratio(ours_ips, peer_ips)} | "
              f"{r['ours']['flops_per_image'] / 1e9:.1f} | {floor:.4f} | {100 * ours_ips / floor:.0f} % | "
              f"{r['ours']['peak_rss_mib']:.0f} / {plain_rss} / {r['pytorch']['peak_rss_mib']:.0f} |")
    print()
    for r in results:  # the same runs as mean seconds per step (ratios of the means, not of the rates above)
        runs = [(n, r[n]) for n in ("ours", "plain_torchsharp", "pytorch") if n in r]
        print(f"{r['mode']} batch {r['batch']} {r['precision']} {r['format']}, mean s/step: " +
              ", ".join(f"{n} {sum(g['step_seconds']) / len(g['step_seconds']):.2f}" for n, g in runs))
    for (precision, fmt), g in rates.items():
        print(f"conv rate ({spec['conv']}, the best), {precision}, {fmt}: {g:.1f} GFLOP/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": a.model, "conv_gflops": {f"{k[0]}/{k[1]}": v for k, v in rates.items()},
                       "plain_torchsharp_fp32": [{"mode": k[0], "batch": k[1], **v} for k, v in plain_fp32.items()],
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
