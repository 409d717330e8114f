#!/usr/bin/env bash
# Deployed size of a prediction app on each engine: packs the three packages into a temporary
# feed, publishes the two consumer apps of scripts/consumer-test.sh (tests/consumer: TorchSharp
# with TorchSharp-cpu; tests/consumer-onnx: UNet.Segmentation.Onnx alone) framework-dependent for
# linux-x64 (the .NET runtime itself is not counted, the same for both), and prints each
# published folder's size in MB (10^6 bytes) with its largest files.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/unet-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(dotnet msbuild src/UNet.Segmentation/UNet.Segmentation.csproj -getProperty:Version -nologo)
for project in UNet.Segmentation.Core UNet.Segmentation UNet.Segmentation.Onnx; do
  dotnet pack "src/$project/$project.csproj" -c Release -o "$work/feed" -nologo -v quiet >/dev/null
done
cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
rm -rf "$cache/unet.segmentation/$version" "$cache/unet.segmentation.core/$version" "$cache/unet.segmentation.onnx/$version"
for app in consumer consumer-onnx; do
  mkdir -p "$work/$app"
  cp tests/$app/*.csproj tests/$app/*.cs tests/$app/nuget.config tests/$app/Directory.Build.* "$work/$app/"
  dotnet nuget update source local --source "$work/feed" --configfile "$work/$app/nuget.config" >/dev/null
  dotnet publish "$work/$app" -c Release -r linux-x64 --self-contained false -nologo -v quiet -p:UNetPackageVersion="$version" -o "$work/publish-$app" >/dev/null
  bytes=$(du -sb "$work/publish-$app" | cut -f1)
  printf '%s: %.1f MB in %d files; largest:' "$app" "$(echo "$bytes / 1000000" | bc -l)" "$(find "$work/publish-$app" -type f | wc -l)"
  find "$work/publish-$app" -type f -printf '%s %f\n' | sort -rn | head -3 | awk '{ printf " %s %.1f MB;", $2, $1 / 1e6 }'
  echo
done
