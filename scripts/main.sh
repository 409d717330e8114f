#!/usr/bin/env bash
# The main job: builds (NuGet brings TorchSharp-cpu; no apt step) and runs the sample app's
# train_and_evaluate then predict modes. Extra arguments go to both runs (see `dotnet run --project
# samples/UNet.Segmentation.Cli -- --help`); without --data-dir it uses synthetic data.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "main: the .NET 10 SDK is required (https://dot.net)"; exit 1; }
# Train and evaluate on fold 0, then predict the test volume with the newest checkpoint.
# Without --data-dir: the synthetic dataset and a CPU-sized recipe (a few minutes on 2 cores).
dotnet build samples/UNet.Segmentation.Cli -c Release -nologo -v quiet
cli=(dotnet samples/UNet.Segmentation.Cli/bin/Release/net10.0/unet.dll)
"${cli[@]}" --exec-mode train_and_evaluate "$@"
"${cli[@]}" --exec-mode predict "$@"
