#!/usr/bin/env bash
# The package consumer test: packs UNet.Segmentation, UNet.Segmentation.Core and
# UNet.Segmentation.Onnx into a fresh local feed (artifacts/feed), copies tests/consumer and
# tests/consumer-onnx to a temporary folder outside the source tree, restores them from that
# feed and nuget.org (TorchSharp-cpu, the backend an app picks; ONNX Runtime), builds and runs
# them, and checks:
#   - no package carries native code of its own; UNet.Segmentation holds
#     buildTransitive/UNet.Segmentation.targets and depends on exactly UNet.Segmentation.Core,
#     TorchSharp 0.107.0 (managed, no backend), Microsoft.Extensions.Logging.Abstractions and
#     Google.Protobuf; UNet.Segmentation.Core on exactly BitMiracle.LibTiff.NET 2.4.660,
#     SkiaSharp 2.88.9 and SkiaSharp.NativeAssets.Linux.NoDependencies 2.88.9;
#     UNet.Segmentation.Onnx on exactly UNet.Segmentation.Core and Microsoft.ML.OnnxRuntime.Managed 1.31.0 (the app adds the native package);
#   - the lines "consumer: images ok" (a TIFF and a PNG written and read back, so LibTiff.NET and
#     the native libSkiaSharp.so load in a consumer) and
#     "consumer: ok 34512258 parameters 572->388 <loss>", and exit code 0;
#   - UNet.Segmentation restored as a package from the local feed, no project reference;
#   - the ONNX consumer (UNet.Segmentation.Onnx alone: no TorchSharp package in its
#     project.assets.json, no libtorch in its output) predicts the slice the first consumer
#     exported to ONNX within 1e-4 of TorchSharp, scores that prediction against the slice's labels
#     with UNet.Segmentation.Core's ChallengeScores ("onnx-consumer: scores slice V_rand … | V_info …"),
#     and when ISBI2012_DIR is set scores its prediction of the ISBI train volume's first slice
#     against train-labels ("onnx-consumer: scores isbi-train-0 …") and predicts the ISBI 2012
#     test volume (a printed reason otherwise): "onnx-consumer: ok <pages> pages <difference>".
#   - every package: PACKAGE.md (its readme) and LICENSE (the MIT text) packed and named in the
#     nuspec, the MIT expression, release notes, tags, and no torchsharp/libtorch tag on
#     UNet.Segmentation.Core and UNet.Segmentation.Onnx (package validation runs at every pack).
# Any stale copy of the same version in the NuGet cache is removed first. Ends with
# "consumer-test: passed" or "consumer-test: FAILED (<why>)". KEEP_CONSUMER=1 keeps the folder.
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
for project in UNet.Segmentation.Core UNet.Segmentation UNet.Segmentation.Onnx; do
  dotnet pack "src/$project/$project.csproj" -c "$configuration" -o "$feed" -nologo -v quiet || fail "dotnet pack $project"
done
ls "$feed"

# check_package ID FILES... -- DEPENDENCIES...: the files it must hold, no native runtimes, and
# exactly these dependencies (ids and versions, in every target framework group).
check_package() {
  local id=$1; shift
  local package="$feed/$id.$version.nupkg" listing nuspec dependencies expected files=() deps=()
  while [ "$1" != "--" ]; do files+=("$1"); shift; done; shift
  deps=("$@")
  # Listings go to variables first: `grep -q` stops reading early, and under pipefail the
  # writer's broken pipe would fail the check.
  listing=$(python3 -m zipfile -l "$package") || fail "listing $id"
  for f in "lib/net10.0/$id.dll" "${files[@]}"; do
    grep -q "$f" <<<"$listing" || fail "$id holds no $f"
  done
  grep -q 'runtimes/' <<<"$listing" && fail "$id carries native runtimes; they come from packages it depends on or the app adds"
  nuspec=$(python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith(".nuspec")][0]).decode())' "$package") \
    || fail "reading the nuspec of $id"
  dependencies=$(grep -o '<dependency id="[^"]*" version="[^"]*"' <<<"$nuspec" | sed 's/<dependency id="\([^"]*\)" version="\([^"]*\)"/\1 \2/' | sort -u)
  expected=$(printf '%s\n' "${deps[@]}" | sort)
  [ "$dependencies" = "$expected" ] || fail "$id depends on
$dependencies
instead of exactly
$expected"
  echo "consumer-test: $id depends on $(tr '\n' ';' <<<"$dependencies")"
  # Feed metadata: the readme and the license file packed and named in the nuspec, the MIT
  # expression, release notes, and tags; the engine-neutral packages carry no TorchSharp/libtorch tag.
  for f in PACKAGE.md LICENSE; do
    grep -qx "$f" <<<"$(python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$package")" \
      || fail "$id holds no $f at its root"
  done
  grep -q '<readme>PACKAGE.md</readme>' <<<"$nuspec" || fail "$id's nuspec names no PACKAGE.md readme"
  grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || fail "$id's nuspec has no MIT license expression"
  grep -q 'MIT License' <<<"$(python3 -c 'import sys,zipfile; print(zipfile.ZipFile(sys.argv[1]).read("LICENSE").decode())' "$package")" \
    || fail "$id's LICENSE is not the MIT text"
  grep -q '<releaseNotes>..*</releaseNotes>' <<<"$nuspec" || fail "$id's nuspec has no release notes"
  tags=$(sed -n 's:.*<tags>\(.*\)</tags>.*:\1:p' <<<"$nuspec")
  [ -n "$tags" ] || fail "$id's nuspec has no tags"
  if [ "$id" != UNet.Segmentation ] && grep -Eqiw 'torchsharp|libtorch' <<<"$tags"; then
    fail "$id is tagged '$tags' but holds no TorchSharp"
  fi
  echo "consumer-test: $id tags: $tags; readme PACKAGE.md, license MIT + LICENSE"
}
check_package UNet.Segmentation buildTransitive/UNet.Segmentation.targets buildTransitive/WeakGlibcxxNeed.cs -- \
  "Google.Protobuf 3.36.2" \
  "Microsoft.Extensions.Logging.Abstractions 10.0.14" \
  "TorchSharp 0.107.0" \
  "UNet.Segmentation.Core $version"
check_package UNet.Segmentation.Core -- \
  "BitMiracle.LibTiff.NET 2.4.660" \
  "SkiaSharp 2.88.9" \
  "SkiaSharp.NativeAssets.Linux.NoDependencies 2.88.9"
check_package UNet.Segmentation.Onnx -- \
  "Microsoft.ML.OnnxRuntime.Managed 1.31.0" \
  "UNet.Segmentation.Core $version"

app="$work/consumer"
mkdir -p "$app"
cp tests/consumer/*.csproj tests/consumer/*.cs tests/consumer/nuget.config tests/consumer/Directory.Build.* "$app/"
dotnet nuget update source local --source "$feed" --configfile "$app/nuget.config" >/dev/null || fail "nuget.config"
grep -q ProjectReference "$app"/*.csproj && fail "the consumer has a project reference"

cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
rm -rf "$cache/unet.segmentation/$version" "$cache/unet.segmentation.core/$version" "$cache/unet.segmentation.onnx/$version"
dotnet build "$app" -c Release -nologo -v quiet -p:UNetPackageVersion="$version" || fail "dotnet build of the consumer"
out="$app/bin/Release/net10.0"
assets="$app/obj/project.assets.json"
grep -q "\"UNet.Segmentation/$version\": {" "$assets" || fail "UNet.Segmentation $version not restored"
grep -q '"type": "project"' "$assets" && fail "project.assets.json has a project reference"
grep -q "\"source\": \"$feed" "$cache/unet.segmentation/$version/.nupkg.metadata" 2>/dev/null || fail "UNet.Segmentation was not restored from $feed"

shared="$work/shared"
(cd "$work" && LD_LIBRARY_PATH= dotnet "$out/UNet.Segmentation.Consumer.dll" "$shared") >"$work/run.log" 2>&1
code=$?
cat "$work/run.log"
[ "$code" -eq 0 ] || fail "the consumer exited with $code"
grep -qx 'consumer: images ok' "$work/run.log" || fail "the consumer did not write and read back its images"
[ -f "$out/runtimes/linux-x64/native/libSkiaSharp.so" ] || fail "the consumer's output has no runtimes/linux-x64/native/libSkiaSharp.so"
line=$(tail -n 1 "$work/run.log")
[[ "$line" =~ ^consumer:\ ok\ 34512258\ parameters\ 572-\>388\ [0-9.]+$ ]] || fail "unexpected output: $line"
grep -q '^consumer: exported ' "$work/run.log" || fail "the consumer did not export its model to ONNX"

# The ONNX consumer: UNet.Segmentation.Onnx alone.
onnx_app="$work/consumer-onnx"
mkdir -p "$onnx_app"
cp tests/consumer-onnx/*.csproj tests/consumer-onnx/*.cs tests/consumer-onnx/nuget.config tests/consumer-onnx/Directory.Build.* "$onnx_app/"
dotnet nuget update source local --source "$feed" --configfile "$onnx_app/nuget.config" >/dev/null || fail "nuget.config of the ONNX consumer"
dotnet build "$onnx_app" -c Release -nologo -v quiet -p:UNetPackageVersion="$version" || fail "dotnet build of the ONNX consumer"
onnx_assets="$onnx_app/obj/project.assets.json"
grep -q "\"UNet.Segmentation.Onnx/$version\": {" "$onnx_assets" || fail "UNet.Segmentation.Onnx $version not restored"
grep -qi '"torchsharp' "$onnx_assets" && fail "TorchSharp is in the ONNX consumer's dependency graph"
grep -q '"UNet.Segmentation/' "$onnx_assets" && fail "the TorchSharp library is in the ONNX consumer's dependency graph"
onnx_out="$onnx_app/bin/Release/net10.0"
ls "$onnx_out" | grep -qi 'torch' && fail "the ONNX consumer's output holds libtorch or TorchSharp files"
volume=()
if [ -n "${ISBI2012_DIR:-}" ] && [ -f "$ISBI2012_DIR/test-volume.tif" ] && [ -f "$ISBI2012_DIR/train-volume.tif" ] \
  && [ -f "$ISBI2012_DIR/train-labels.tif" ]; then
  volume=("$ISBI2012_DIR")
else
  echo "consumer-test: ISBI2012_DIR is unset: the ONNX consumer predicts and scores the exported slice only"
fi
(cd "$work" && LD_LIBRARY_PATH= dotnet "$onnx_out/UNet.Segmentation.Onnx.Consumer.dll" "$shared/unet.onnx" "$shared/slice.tif" \
  "$shared/torch-probabilities.tif" "$shared/slice-labels.tif" "$work/onnx-out" "${volume[@]}") >"$work/onnx.log" 2>&1
code=$?
cat "$work/onnx.log"
[ "$code" -eq 0 ] || fail "the ONNX consumer exited with $code"
# The challenge's scores, computed by an app without TorchSharp: "V_rand 0.xxxx (t 0.x) | V_info 0.xxxx (t 0.x) | …".
scores='V_rand [01]\.[0-9]{4} \(t 0\.[1-9]\) \| V_info [01]\.[0-9]{4} \(t 0\.[1-9]\) \| at t 0\.5: '
grep -Eq "^onnx-consumer: scores slice $scores" "$work/onnx.log" || fail "the ONNX consumer printed no challenge scores of the slice"
if [ ${#volume[@]} -eq 1 ]; then
  grep -Eq "^onnx-consumer: scores isbi-train-0 $scores" "$work/onnx.log" \
    || fail "the ONNX consumer printed no challenge scores of the ISBI train volume's first slice"
fi
line=$(tail -n 1 "$work/onnx.log")
pages=0; [ ${#volume[@]} -eq 1 ] && pages=30
[[ "$line" =~ ^onnx-consumer:\ ok\ $pages\ pages\ [0-9.E+-]+$ ]] || fail "unexpected ONNX consumer output: $line"

# The same app with ONNX Runtime's CUDA package instead of the CPU one: it restores and builds
# against the library (no GPU here to run it), so the library does not tie an app to one build.
gpu_app="$work/consumer-onnx-gpu"
mkdir -p "$gpu_app"
cp "$onnx_app"/*.csproj "$onnx_app"/*.cs "$onnx_app"/nuget.config "$onnx_app"/Directory.Build.* "$gpu_app/"
dotnet build "$gpu_app" -c Release -nologo -v quiet -p:UNetPackageVersion="$version" -p:OnnxRuntimePackage=Microsoft.ML.OnnxRuntime.Gpu.Linux -p:OnnxRuntimePackageVersion=1.31.0 \
  || fail "dotnet build of the ONNX consumer with Microsoft.ML.OnnxRuntime.Gpu.Linux"
grep -q '"Microsoft.ML.OnnxRuntime.Gpu.Linux/1.31.0"' "$gpu_app/obj/project.assets.json" || fail "the GPU consumer did not restore Microsoft.ML.OnnxRuntime.Gpu.Linux"
grep -q '"Microsoft.ML.OnnxRuntime/1.31.1"' "$gpu_app/obj/project.assets.json" && fail "the GPU consumer also pulled the CPU Microsoft.ML.OnnxRuntime"
echo "consumer-test: the ONNX consumer restores and builds with Microsoft.ML.OnnxRuntime.Gpu.Linux too"
echo "consumer-test: passed"
