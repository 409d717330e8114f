#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the sample app. Arguments go to the
# app (see `scripts/main.sh --help`); without a data folder it trains on synthetic images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet run --project samples/UNet.Segmentation.Quickstart -c Release -- "$@"
