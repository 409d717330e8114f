#!/usr/bin/env bash
# Installs what the tests need on Debian 12, idempotently: PyTorch for Python (the parity peer),
# SciPy (with NumPy: the thinned challenge scores' peer, tests/peer/thinned_scores_peer.py),
# Open MPI (the data-parallel tests start real mpirun jobs), gcc (the NCCL binding test compiles a
# stand-in libnccl)
# and libtiff-tools + PIL + nibabel (oracles for the image and NIfTI files) + onnx (the checker of the exported ONNX files). Building and running the library needs
# none of these: TorchSharp-cpu comes from NuGet. Skips apt when everything is already there.
set -euo pipefail

packages=(python3-torch python3-scipy libtiff-tools python3-pil python3-nibabel python3-onnx openmpi-bin libopenmpi-dev gcc chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: apt packages present (${packages[*]})"
fi

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (https://dot.net)"; exit 1; }
