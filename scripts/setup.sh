#!/usr/bin/env bash
# Installs what building and testing need on Debian 12, idempotently: libtorch (the engine) and
# Gloo's headers (c10d's ProcessGroupGloo.hpp includes them),
# CMake and g++ (the native shim), PyTorch for Python (the test peer), libtiff-tools and PIL
# (oracles for the image codecs). Skips apt entirely when everything is already there.
set -euo pipefail

packages=(libtorch-dev libgloo-dev python3-torch cmake g++ make libtiff-tools python3-pil)
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
