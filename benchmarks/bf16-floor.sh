#!/bin/bash
# bfloat16 training step and inference against the compute floor, in one run: the library's
# working-copy path (this checkout's build) and, when OLD names another build of the benchmarks
# (a folder holding UNet.Segmentation.Benchmarks.dll, e.g. one built from a commit before the
# working copy), the former per-layer-cast path too, alternating so both see the same machine.
# The floor's rate is conv-rate's best 3×3 convolution in bfloat16, measured before and after
# the steps (the higher kept). Usage: benchmarks/bf16-floor.sh [STEPS] (default 5, after 1 warm-up).
# Prints one JSON line per measurement, then a table: images/s and s/image, floor s/image, ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-5}
new=benchmarks/UNet.Segmentation.Benchmarks/bin/Release/net10.0/UNet.Segmentation.Benchmarks.dll
builds=("new=$new")
[ -n "${OLD:-}" ] && builds+=("old=$OLD/UNet.Segmentation.Benchmarks.dll")
out=$(mktemp)
run() { local label=$1; shift; echo -n "{\"build\":\"$label\",\"line\":" >> "$out"; dotnet "$@" | tr -d '\n' >> "$out"; echo "}" >> "$out"; tail -1 "$out"; }
echo "load before: $(uptime)"
for f in contiguous channels-last; do run floor "$new" conv-rate --precision bf16 --format $f --warmup 1 --steps 5; done
for f in channels-last contiguous; do
  for mode in train infer; do
    for b in "${builds[@]}"; do run "${b%%=*}" "${b#*=}" step --mode $mode --precision bf16 --format $f --warmup 1 --steps "$steps"; done
  done
done
for f in contiguous channels-last; do run floor "$new" conv-rate --precision bf16 --format $f --warmup 1 --steps 5; done
echo "load after: $(uptime)"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rate = {}
for r in rows:
    l = r["line"]
    if l["mode"] == "conv": rate[l["format"]] = max(rate.get(l["format"], 0), l["gflops"])
print("| mode | format | build | images/s | s/image | floor s/image | / floor |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    l = r["line"]
    if l["mode"] == "conv": continue
    floor = l["flops_per_image"] / 1e9 / rate[l["format"]]
    s = 1 / l["images_per_second"]
    print(f"| {l['mode']} | {l['format']} | {r['build']} | {l['images_per_second']:.4f} | {s:.2f} | {l['flops_per_image']/1e9:.1f} / {rate[l['format']]:.0f} = {floor:.2f} | {s/floor:.2f}x |")
PY
rm -f "$out"
