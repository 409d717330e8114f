#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), builds the solution, runs
# every xunit project and the package consumer test (scripts/consumer-test.sh, counted as one
# test), and prints one closing line "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

configuration="${CONFIGURATION:-Release}"
dotnet build UNet.Segmentation.sln -c "$configuration" -nologo -v minimal || exit 1

passed=0; failed=0; skipped=0; status=0
log=$(mktemp)

for project in $(find tests -name '*.Tests.csproj' | sort); do
  dotnet test "$project" -c "$configuration" --no-build -nologo 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  [ "$code" -eq 0 ] || status=1
  line=$(grep -E '(Passed|Failed)! +- Failed: ' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")
    p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
    s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  elif [ "$code" -ne 0 ]; then
    failed=$((failed + 1))
  fi
done
rm -f "$log"

# The packages: pack into a local feed, restore and run tests/consumer from it (one test).
if bash scripts/consumer-test.sh; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); status=1
fi
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
