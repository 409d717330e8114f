#!/usr/bin/env bash
# Load test of the web service sample (docs/serving.md): starts the Release build of
# samples/UNet.Segmentation.Web on a U-Net exported to ONNX, then measures POST /segment of one
# 512x512 slice (PNG) at 1, 4 and 16 concurrent clients with hey (apt: hey), and prints a Markdown
# table of requests/s and p50/p95 latency, with the machine and its load average.
#
#   scripts/serve-bench.sh [--onnx FILE] [--filters N] [--requests-per-client N] [--port P] [--out DIR]
#
# Each level sends max(8, clients x N) requests (N = 2 by default). requests/s is the responses
# over the run's wall time; p50 and p95 are nearest-rank percentiles of every response's latency
# (with 8 responses, p95 is the slowest). hey's per-request CSV is kept in DIR (artifacts/serve-bench).
#
# Without --onnx it makes the model: the reference U-Net (--filters 64, 572 -> 388 tiles) after
# one training step on synthetic data (unet --exec-mode train), exported with unet export; its
# speed does not depend on its weights. The slice is page 1 of train-volume.tif from ISBI2012_DIR
# (or ../shared/data/isbi2012) when there, else a synthetic 512x512 slice. The service runs with
# its appsettings.json defaults (overlap tiles, 2 predictions at once, 16 queued) except a request
# timeout of 600 s, so that queued requests at 16 clients wait rather than get 503.
set -euo pipefail
cd "$(dirname "$0")/.."

onnx="" filters=64 per_client=2 port=5081 out=artifacts/serve-bench
while (($#)); do
  case "$1" in
    --onnx) onnx="$2"; shift 2 ;;
    --filters) filters="$2"; shift 2 ;;
    --requests-per-client) per_client="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "serve-bench: unknown argument '$1' (see the header of $0)"; exit 2 ;;
  esac
done
command -v hey >/dev/null || { echo "serve-bench: needs hey: sudo apt-get install -y hey"; exit 1; }
command -v curl >/dev/null || { echo "serve-bench: needs curl: sudo apt-get install -y curl"; exit 1; }
/usr/bin/python3 -c 'import PIL' 2>/dev/null || { echo "serve-bench: needs Pillow for /usr/bin/python3: sudo apt-get install -y python3-pil"; exit 1; }
mkdir -p "$out"

echo "serve-bench: building the CLI and the web service (Release)" >&2
dotnet build samples/UNet.Segmentation.Cli -c Release -nologo -v quiet >&2
dotnet build samples/UNet.Segmentation.Web -c Release -nologo -v quiet >&2
cli=(dotnet samples/UNet.Segmentation.Cli/bin/Release/net10.0/unet.dll)

if [ -z "$onnx" ]; then
  onnx="$out/unet-f$filters.onnx"
  if [ ! -f "$onnx" ]; then
    echo "serve-bench: making $onnx (U-Net with $filters base filters, one synthetic training step)" >&2
    rm -rf "$out/model-f$filters"
    "${cli[@]}" --exec-mode train --model-dir "$out/model-f$filters" --filters "$filters" --max-steps 1 --batch-size 1 >&2
    checkpoint=$(ls -t "$out/model-f$filters"/checkpoints/*.safetensors | head -n 1)
    "${cli[@]}" export --checkpoint "$checkpoint" --onnx "$onnx" >&2
    rm -rf "$out/model-f$filters" # the training checkpoint (weights and Adam's state: ~0.4 GB at 64 filters) is not needed any more
  fi
fi
[ -f "$onnx" ] || { echo "serve-bench: --onnx $onnx does not exist"; exit 1; }

isbi="${ISBI2012_DIR:-}"
[ -z "$isbi" ] && [ -d ../shared/data/isbi2012 ] && isbi=../shared/data/isbi2012
slice="$out/slice-512.png"
/usr/bin/python3 - "$slice" "$isbi" <<'PY'
import sys, random
from PIL import Image
path, isbi = sys.argv[1], sys.argv[2]
if isbi:
    volume = Image.open(f"{isbi}/train-volume.tif")
    volume.seek(0)
    volume.convert("L").save(path)
    print(f"serve-bench: the slice is page 1 of {isbi}/train-volume.tif", file=sys.stderr)
else:
    random.seed(1)
    image = Image.new("L", (512, 512))
    image.putdata([min(255, max(0, 140 + ((x // 24 + y // 24) % 2) * 60 - 30 + random.randint(-25, 25))) for y in range(512) for x in range(512)])
    image.save(path)
    print("serve-bench: ISBI2012_DIR is not set: the slice is synthetic", file=sys.stderr)
PY

dll=samples/UNet.Segmentation.Web/bin/Release/net10.0/UNet.Segmentation.Web.dll
dotnet "$dll" --urls "http://127.0.0.1:$port" --Segmentation:ModelPath="$onnx" --Segmentation:RequestTimeoutSeconds=600 \
  >"$out/service.log" 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null || true; wait "$service" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/health" >"$out/health.json" 2>/dev/null && break
  kill -0 "$service" 2>/dev/null || { echo "serve-bench: the service stopped:"; cat "$out/service.log"; exit 1; }
  sleep 0.5
done
[ -s "$out/health.json" ] || { echo "serve-bench: the service did not answer /health in 60 s"; exit 1; }
echo "serve-bench: service up: $(cat "$out/health.json")" >&2

url="http://127.0.0.1:$port/segment"
curl -fsS -o /dev/null -H 'Content-Type: image/png' --data-binary @"$slice" "$url" # warm-up, not counted

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
for clients in 1 4 16; do
  n=$((clients * per_client > 8 ? clients * per_client : 8))
  echo "serve-bench: $n requests from $clients client(s)" >&2
  start=$(date +%s.%N)
  hey -n "$n" -c "$clients" -t 0 -o csv -m POST -T image/png -D "$slice" "$url" >"$out/hey-c$clients.csv"
  end=$(date +%s.%N)
  # requests/s over the wall time of the run; latencies by nearest rank over every response.
  rows+=("$(/usr/bin/python3 - "$out/hey-c$clients.csv" "$clients" "$n" "$start" "$end" <<'PY'
import csv, math, sys
path, clients, n, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
rows = list(csv.DictReader(open(path)))
times = sorted(float(r["response-time"]) for r in rows)
ok = sum(1 for r in rows if r["status-code"] == "200")
rank = lambda p: times[max(0, math.ceil(p / 100 * len(times)) - 1)]
print(f"| {clients} | {n} | {ok} | {len(rows) / (end - start):.3f} | {rank(50):.2f} | {rank(95):.2f} |")
PY
)")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')
echo
echo "POST /segment, one ${slice##*/} ($(wc -c <"$slice") bytes), model $(basename "$onnx") ($filters base filters unless --onnx), service defaults but a 600 s timeout"
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(free -g | awk '/Mem:/ {print $2}') GiB; load average before $load_before, after $load_after"
echo
echo "| clients | requests | 200 answers | requests/s | p50 latency (s) | p95 latency (s) |"
echo "|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
