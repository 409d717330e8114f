#!/usr/bin/env bash
# The package consumer test: packs UNet.Segmentation.Torch and UNet.Segmentation into a fresh
# local feed (artifacts/feed), copies tests/consumer to a temporary folder outside the source
# tree, restores it from that feed only (nuget.org only for other packages) into an empty
# global-packages folder (so no stale package of the same version is ever used), builds and runs it, and checks:
#   - the output line "consumer: ok <loss> <n> pixels" and exit code 0;
#   - the native shim in the app's output (runtimes/linux-x64/native/libunet_segmentation_native.so);
#   - UNet.Segmentation.* restored as packages from the local feed, no project reference.
# Ends with "consumer-test: passed" or "consumer-test: FAILED (<why>)". KEEP_CONSUMER=1 keeps the
# temporary folder.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
configuration="${CONFIGURATION:-Release}"
feed="$repo/artifacts/feed"
work=$(mktemp -d "${TMPDIR:-/tmp}/unet-consumer.XXXXXX")
[ "${KEEP_CONSUMER:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
fail() { echo "consumer-test: FAILED ($*)"; exit 1; }

version=$(dotnet msbuild src/UNet.Segmentation/UNet.Segmentation.csproj -getProperty:Version -nologo) || fail "reading the version"
rm -rf "$feed" && mkdir -p "$feed"
for project in src/UNet.Segmentation.Torch/UNet.Segmentation.Torch.csproj src/UNet.Segmentation/UNet.Segmentation.csproj; do
  dotnet pack "$project" -c "$configuration" -o "$feed" -nologo -v quiet || fail "dotnet pack $project"
done
ls "$feed"
# The listing goes to a variable first: `grep -q` stops reading early, and under pipefail the
# writer's broken pipe would fail the check.
listing=$(python3 -m zipfile -l "$feed/UNet.Segmentation.Torch.$version.nupkg") || fail "listing the binding package"
grep -q 'runtimes/linux-x64/native/libunet_segmentation_native.so' <<<"$listing" \
  || fail "the binding package holds no runtimes/linux-x64/native/libunet_segmentation_native.so"

app="$work/consumer"
mkdir -p "$app"
cp tests/consumer/*.csproj tests/consumer/*.cs tests/consumer/nuget.config tests/consumer/Directory.Build.* "$app/"
dotnet nuget update source local --source "$feed" --configfile "$app/nuget.config" >/dev/null || fail "nuget.config"
grep -q ProjectReference "$app"/*.csproj && fail "the consumer has a project reference"

export NUGET_PACKAGES="$work/packages"
dotnet build "$app" -c Release -nologo -v quiet -p:UNetPackageVersion="$version" || fail "dotnet build of the consumer"
out="$app/bin/Release/net10.0"
[ -f "$out/runtimes/linux-x64/native/libunet_segmentation_native.so" ] || [ -f "$out/libunet_segmentation_native.so" ] \
  || fail "no libunet_segmentation_native.so in $out"
assets="$app/obj/project.assets.json"
grep -q "\"UNet.Segmentation/$version\": {" "$assets" || fail "UNet.Segmentation $version not restored"
grep -q '"type": "project"' "$assets" && fail "project.assets.json has a project reference"
for id in unet.segmentation unet.segmentation.torch; do
  grep -q "\"source\": \"$feed" "$NUGET_PACKAGES/$id/$version/.nupkg.metadata" 2>/dev/null || fail "$id was not restored from $feed"
done

# Nothing from the source tree: no override, no library path into artifacts/.
(cd "$work" && env -u UNET_SEGMENTATION_NATIVE LD_LIBRARY_PATH= dotnet "$out/UNet.Segmentation.Consumer.dll") >"$work/run.log" 2>&1
code=$?
cat "$work/run.log"
[ "$code" -eq 0 ] || fail "the consumer exited with $code"
line=$(tail -n 1 "$work/run.log")
[[ "$line" =~ ^consumer:\ ok\ [0-9.]+\ 4096\ pixels$ ]] || fail "unexpected output: $line"
echo "consumer-test: passed"
