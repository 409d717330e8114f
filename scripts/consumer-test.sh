#!/usr/bin/env bash
# The package consumer test: packs UNet.Segmentation into a fresh local feed (artifacts/feed),
# copies tests/consumer to a temporary folder outside the source tree, restores it from that
# feed (UNet.Segmentation) and nuget.org (TorchSharp-cpu, the backend an app picks), builds and
# runs it, and checks:
#   - the package holds buildTransitive/UNet.Segmentation.targets, carries no native code of its
#     own, and depends on exactly: TorchSharp 0.107.0 (managed, no backend),
#     Microsoft.Extensions.Logging.Abstractions, BitMiracle.LibTiff.NET 2.4.660, SkiaSharp 2.88.9,
#     SkiaSharp.NativeAssets.Linux.NoDependencies 2.88.9 and Google.Protobuf 3.36.2 (ONNX export);
#   - the lines "consumer: images ok" (a TIFF and a PNG written and read back, so LibTiff.NET and
#     the native libSkiaSharp.so load in a consumer) and
#     "consumer: ok 34512258 parameters 572->388 <loss>", and exit code 0;
#   - UNet.Segmentation restored as a package from the local feed, no project reference.
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
dotnet pack src/UNet.Segmentation/UNet.Segmentation.csproj -c "$configuration" -o "$feed" -nologo -v quiet || fail "dotnet pack"
ls "$feed"
package="$feed/UNet.Segmentation.$version.nupkg"
# Listings go to variables first: `grep -q` stops reading early, and under pipefail the
# writer's broken pipe would fail the check.
listing=$(python3 -m zipfile -l "$package") || fail "listing the package"
for f in buildTransitive/UNet.Segmentation.targets buildTransitive/WeakGlibcxxNeed.cs lib/net10.0/UNet.Segmentation.dll; do
  grep -q "$f" <<<"$listing" || fail "the package holds no $f"
done
grep -q 'runtimes/' <<<"$listing" && fail "the package carries native runtimes; they come from packages it depends on (SkiaSharp's native assets) or the app adds (the TorchSharp backend)"
nuspec=$(python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.read([n for n in z.namelist() if n.endswith(".nuspec")][0]).decode())' "$package") \
  || fail "reading the nuspec"
# The exact set of dependencies (ids and versions), in every target framework group.
dependencies=$(grep -o '<dependency id="[^"]*" version="[^"]*"' <<<"$nuspec" | sed 's/<dependency id="\([^"]*\)" version="\([^"]*\)"/\1 \2/' | sort -u)
expected=$(printf '%s\n' \
  "BitMiracle.LibTiff.NET 2.4.660" \
  "Google.Protobuf 3.36.2" \
  "Microsoft.Extensions.Logging.Abstractions 10.0.14" \
  "SkiaSharp 2.88.9" \
  "SkiaSharp.NativeAssets.Linux.NoDependencies 2.88.9" \
  "TorchSharp 0.107.0" | sort)
[ "$dependencies" = "$expected" ] || fail "the package depends on
$dependencies
instead of exactly
$expected"
echo "consumer-test: dependencies $(tr '\n' ';' <<<"$dependencies")"

app="$work/consumer"
mkdir -p "$app"
cp tests/consumer/*.csproj tests/consumer/*.cs tests/consumer/nuget.config tests/consumer/Directory.Build.* "$app/"
dotnet nuget update source local --source "$feed" --configfile "$app/nuget.config" >/dev/null || fail "nuget.config"
grep -q ProjectReference "$app"/*.csproj && fail "the consumer has a project reference"

cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
rm -rf "$cache/unet.segmentation/$version"
dotnet build "$app" -c Release -nologo -v quiet -p:UNetPackageVersion="$version" || fail "dotnet build of the consumer"
out="$app/bin/Release/net10.0"
assets="$app/obj/project.assets.json"
grep -q "\"UNet.Segmentation/$version\": {" "$assets" || fail "UNet.Segmentation $version not restored"
grep -q '"type": "project"' "$assets" && fail "project.assets.json has a project reference"
grep -q "\"source\": \"$feed" "$cache/unet.segmentation/$version/.nupkg.metadata" 2>/dev/null || fail "UNet.Segmentation was not restored from $feed"

(cd "$work" && LD_LIBRARY_PATH= dotnet "$out/UNet.Segmentation.Consumer.dll") >"$work/run.log" 2>&1
code=$?
cat "$work/run.log"
[ "$code" -eq 0 ] || fail "the consumer exited with $code"
grep -qx 'consumer: images ok' "$work/run.log" || fail "the consumer did not write and read back its images"
[ -f "$out/runtimes/linux-x64/native/libSkiaSharp.so" ] || fail "the consumer's output has no runtimes/linux-x64/native/libSkiaSharp.so"
line=$(tail -n 1 "$work/run.log")
[[ "$line" =~ ^consumer:\ ok\ 34512258\ parameters\ 572-\>388\ [0-9.]+$ ]] || fail "unexpected output: $line"
echo "consumer-test: passed"
