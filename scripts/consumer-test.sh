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
#   - the unet tool (samples/UNet.Segmentation.Cli, packed into the same feed): a pointer package
#     UNet.Segmentation.Cli (DotnetTool, no dependencies, readme, license, release notes, tags)
#     and one package per platform (linux-x64, osx-arm64, win-x64), each holding its own platform's
#     native libraries only; installed with `dotnet tool install --tool-path`, `unet --help` runs
#     in a fresh shell (env -i: HOME and PATH only), and so do a 2-step training, an ONNX export,
#     an ONNX Runtime prediction and a plot, so libtorch, ONNX Runtime and SkiaSharp load from the
#     tool's install;
#   - other platforms: both consumer apps publish for linux-arm64, osx-arm64 and win-x64 (the
#     TorchSharp one framework-dependent, the ONNX one self-contained); scripts/check-publish.py
#     finds each platform's native libraries there (TorchSharp ships none for linux-arm64: that
#     output must hold no libtorch) and no managed assembly tied to another architecture; the
#     GLIBCXX fix, forced, runs for linux-x64 and does nothing for osx-arm64 and win-x64;
#   - an app without its native package names the package to add: the TorchSharp consumer without
#     TorchSharp-cpu stops with TorchNativeLibraryException, the ONNX consumer without
#     Microsoft.ML.OnnxRuntime with OnnxRuntimeNativeLibraryException, each naming linux-x64's packages.
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
# The unet tool: a pointer package and one package per platform (docs/packages.md#the-unet-tool).
dotnet pack samples/UNet.Segmentation.Cli/UNet.Segmentation.Cli.csproj -c "$configuration" -o "$feed" -nologo -v quiet || fail "dotnet pack UNet.Segmentation.Cli"
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

# check_tool_package: the pointer package names the platform packages and depends on nothing; each
# platform package holds unet.dll and that platform's native libraries, no other platform's.
check_tool_package() {
  local id=UNet.Segmentation.Cli package="$feed/UNet.Segmentation.Cli.$version.nupkg" nuspec listing settings rid
  nuspec=$(python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith(".nuspec")][0]).decode())' "$package") \
    || fail "reading the nuspec of $id"
  grep -q '<packageType name="DotnetTool"' <<<"$nuspec" || fail "$id is not a DotnetTool package"
  grep -q '<dependency' <<<"$nuspec" && fail "$id has dependencies"
  listing=$(python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$package") || fail "listing $id"
  for f in PACKAGE.md LICENSE; do grep -qx "$f" <<<"$listing" || fail "$id holds no $f at its root"; done
  grep -q '<readme>PACKAGE.md</readme>' <<<"$nuspec" || fail "$id's nuspec names no PACKAGE.md readme"
  grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || fail "$id's nuspec has no MIT license expression"
  grep -q '<releaseNotes>..*</releaseNotes>' <<<"$nuspec" || fail "$id's nuspec has no release notes"
  grep -q '<tags>.*dotnet-tool.*</tags>' <<<"$nuspec" || fail "$id's nuspec has no dotnet-tool tag"
  settings=$(python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith("DotnetToolSettings.xml")][0]).decode("utf-8-sig"))' "$package")
  grep -q '<Command Name="unet"' <<<"$settings" || fail "$id's command is not unet"
  for rid in linux-x64 osx-arm64 win-x64; do
    grep -q "RuntimeIdentifier=\"$rid\" Id=\"$id.$rid\"" <<<"$settings" || fail "$id names no package for $rid"
    package="$feed/$id.$rid.$version.nupkg"
    listing=$(python3 -m zipfile -l "$package") || fail "listing $id.$rid"
    case $rid in
      linux-x64) own=(unet unet.dll libLibTorchSharp.so libtorch_cpu.so libonnxruntime.so libSkiaSharp.so); foreign='\.dylib |(torch_cpu|onnxruntime|LibTorchSharp)\.dll ' ;;
      osx-arm64) own=(unet unet.dll libLibTorchSharp.dylib libtorch_cpu.dylib libonnxruntime.dylib libSkiaSharp.dylib); foreign='\.so |(torch_cpu|LibTorchSharp)\.dll ' ;;
      win-x64) own=(unet.exe unet.dll LibTorchSharp.dll torch_cpu.dll onnxruntime.dll libSkiaSharp.dll); foreign='\.so |\.dylib ' ;;
    esac
    for f in "${own[@]}"; do grep -q "tools/net10.0/$rid/$f " <<<"$listing" || fail "$id.$rid holds no tools/net10.0/$rid/$f"; done
    grep -Eq "$foreign" <<<"$listing" && fail "$id.$rid holds another platform's native libraries"
    grep -q 'runtimes/' <<<"$listing" && fail "$id.$rid holds a runtimes/ folder: it should hold $rid's libraries only"
    echo "consumer-test: $id.$rid: $(( $(stat -c %s "$package") / 1000000 )) MB, $rid's native libraries only"
  done
}
check_tool_package

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

# The unet tool, installed from the feed into a folder of its own, run from a fresh shell that has
# only HOME and PATH (the tool folder and the system's), as a user who installed it would.
tools="$work/tools"
(cd "$work" && dotnet tool install --tool-path "$tools" --add-source "$feed" UNet.Segmentation.Cli --version "$version") || fail "dotnet tool install UNet.Segmentation.Cli"
[ -x "$tools/unet" ] || fail "the tool install made no $tools/unet"
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
fresh=(env -i HOME="$work/home" PATH="$tools:/usr/bin:/bin")
# The tool's apphost finds .NET in /usr/share/dotnet or /usr/lib/dotnet by itself; elsewhere a user sets DOTNET_ROOT.
case "$dotnet_root" in /usr/share/dotnet|/usr/lib/dotnet) ;; *) fresh+=(DOTNET_ROOT="$dotnet_root") ;; esac
mkdir -p "$work/home" "$work/tool-run"
help=$("${fresh[@]}" bash -c 'cd "$1" && unet --help' bash "$work/tool-run" 2>&1) || fail "unet --help in a fresh shell: $help"
for expected in 'unet \[command\] \[options\]' '--exec-mode' '^  score ' '^  predict ' '^  export '; do
  grep -Eq -- "$expected" <<<"$help" || fail "unet --help printed no '$expected'"
done
echo "consumer-test: unet --help runs from the installed tool in a fresh shell"
# A real run: train 2 steps (libtorch from the tool's install), export to ONNX, predict a PNG on
# ONNX Runtime, draw the training curves (SkiaSharp, HarfBuzz).
"${fresh[@]}" bash -c 'set -e; cd "$1"
  unet --exec-mode train --max-steps 2 --filters 4 --batch-size 1 --log-every 1 --model-dir m
  unet export --checkpoint m/checkpoints/step-00000002.safetensors --onnx m/unet.onnx
  unet show-batch --out batch --batch-size 1
  unet predict --onnx m/unet.onnx --input batch/plain-0-image.png --output-dir predictions
  unet plot --metrics m/metrics.jsonl --output m/curves.png' bash "$work/tool-run" >"$work/tool.log" 2>&1 \
  || { tail -n 20 "$work/tool.log"; fail "the installed unet tool failed a real run (log above)"; }
for f in m/checkpoints/step-00000002.safetensors m/unet.onnx predictions/plain-0-image-mask.png m/curves.png; do
  [ -s "$work/tool-run/$f" ] || fail "the installed unet tool wrote no $f"
done
grep -q 'engine: ONNX Runtime' "$work/tool.log" || fail "unet predict --onnx did not say it ran on ONNX Runtime"
echo "consumer-test: the installed unet tool trained, exported, predicted on ONNX Runtime and plotted"

# Other platforms: both apps publish for linux-arm64, osx-arm64 and win-x64 (nothing in the packages
# is x64- or Linux-only); the TorchSharp app framework-dependent, the ONNX app self-contained (.NET's
# runtime packs restore too). Nothing is run: this machine is Linux x64. The GLIBCXX fix is forced
# on every publish: it must run for linux-x64 only.
publish() { # publish NAME PROJECT RID [ARGS...]: into $work/publish/NAME-RID, its log in $work/publish/NAME-RID.log
  local name=$1 project=$2 rid=$3; shift 3
  dotnet publish "$project" -c Release -r "$rid" -o "$work/publish/$name-$rid" -nologo -v n -p:UNetPackageVersion="$version" "$@" \
    >"$work/publish/$name-$rid.log" 2>&1 || { tail -n 20 "$work/publish/$name-$rid.log"; fail "dotnet publish $name -r $rid"; }
}
mkdir -p "$work/publish"
publish consumer "$app" linux-x64 -p:UNetPatchLibTorchSharp=true
grep -q 'GLIBCXX_3.4.32 need' "$work/publish/consumer-linux-x64.log" || fail "the forced GLIBCXX fix did not run for linux-x64"
for rid in linux-arm64 osx-arm64 win-x64; do
  publish consumer "$app" "$rid" -p:UNetPatchLibTorchSharp=true
  grep -q 'GLIBCXX_3.4.32 need' "$work/publish/consumer-$rid.log" && fail "the GLIBCXX fix ran for $rid"
  publish consumer-onnx "$onnx_app" "$rid" --self-contained
done
echo "consumer-test: the forced GLIBCXX fix ran for linux-x64 and did nothing for linux-arm64's, osx-arm64's and win-x64's publish"
check() { python3 scripts/check-publish.py "$@" || fail "the publish folder $1 for $2"; }
check "$work/publish/consumer-osx-arm64" osx-arm64 libLibTorchSharp.dylib libtorch.dylib libtorch_cpu.dylib libc10.dylib libSkiaSharp.dylib UNet.Segmentation.Consumer
check "$work/publish/consumer-win-x64" win-x64 LibTorchSharp.dll torch.dll torch_cpu.dll c10.dll libSkiaSharp.dll UNet.Segmentation.Consumer.exe
check "$work/publish/consumer-linux-arm64" linux-arm64 libSkiaSharp.so UNet.Segmentation.Consumer
ls "$work/publish/consumer-linux-arm64" | grep -Eq 'torch.*\.so' && fail "the linux-arm64 publish holds libtorch files, which TorchSharp 0.107 does not ship for linux-arm64"
echo "consumer-test: linux-arm64: the TorchSharp app publishes but holds no libtorch (TorchSharp 0.107 ships none for linux-arm64; its first model would stop with TorchNativeLibraryException)"
check "$work/publish/consumer-onnx-linux-arm64" linux-arm64 libonnxruntime.so libSkiaSharp.so libcoreclr.so UNet.Segmentation.Onnx.Consumer
check "$work/publish/consumer-onnx-osx-arm64" osx-arm64 libonnxruntime.dylib libSkiaSharp.dylib libcoreclr.dylib UNet.Segmentation.Onnx.Consumer
check "$work/publish/consumer-onnx-win-x64" win-x64 onnxruntime.dll libSkiaSharp.dll coreclr.dll UNet.Segmentation.Onnx.Consumer.exe
# The check itself fails on an assembly for another architecture: win-x64's app read as osx-arm64's.
negative=$(python3 scripts/check-publish.py "$work/publish/consumer-win-x64" osx-arm64) \
  && fail "check-publish.py accepted win-x64's output as osx-arm64's"
grep -q 'UNet.Segmentation.Consumer.dll is a managed assembly for x64, not AnyCPU or arm64' <<<"$negative" \
  || fail "check-publish.py did not name the x64 app assembly: $negative"

# An app without its native package: the first use names the package to add on this platform.
# without_native NAME SOURCE PACKAGE-PATTERN DLL EXCEPTION MESSAGE -- ARGS...: copies the app at
# SOURCE to $work/NAME with the PackageReference matching PACKAGE-PATTERN removed, builds it, runs
# DLL with ARGS and checks that it fails with EXCEPTION and prints MESSAGE.
without_native() {
  local name=$1 source=$2 package=$3 dll=$4 exception=$5 message=$6; shift 7
  local dir="$work/$name" log="$work/$name.log"
  mkdir -p "$dir"
  cp "$source"/*.csproj "$source"/*.cs "$source"/nuget.config "$source"/Directory.Build.* "$dir/"
  sed -i "/<PackageReference Include=\"$package\"/d" "$dir"/*.csproj
  grep -qF "Include=\"$package\"" "$dir"/*.csproj && fail "$name still references $package"
  dotnet build "$dir" -c Release -nologo -v quiet -p:UNetPackageVersion="$version" || fail "dotnet build of $name"
  (cd "$work" && LD_LIBRARY_PATH= dotnet "$dir/bin/Release/net10.0/$dll" "$@") >"$log" 2>&1 && fail "$name ran"
  grep -m1 "$exception" "$log" || fail "$name did not stop with $exception: $(head -n 3 "$log")"
  grep -qF "$message" "$log" || fail "$name was not told which package to add"
}
without_native consumer-no-backend "$app" 'TorchSharp-cpu' UNet.Segmentation.Consumer.dll TorchNativeLibraryException \
  'add a backend package to the application — on linux-x64: TorchSharp-cpu (CPU) or TorchSharp-cuda-linux (CUDA)' --
without_native consumer-onnx-no-native "$onnx_app" '$(OnnxRuntimePackage)' UNet.Segmentation.Onnx.Consumer.dll OnnxRuntimeNativeLibraryException \
  'on linux-x64: Microsoft.ML.OnnxRuntime (CPU) or Microsoft.ML.OnnxRuntime.Gpu.Linux (CUDA)' -- \
  "$shared/unet.onnx" "$shared/slice.tif" "$shared/torch-probabilities.tif" "$shared/slice-labels.tif" "$work/onnx-no-native-out"
echo "consumer-test: passed"
