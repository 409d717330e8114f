#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), builds the solution, runs
# every xunit project and the package consumer test (scripts/consumer-test.sh, counted as one
# test), lists the tests that were skipped with their reasons (a test that cannot run here - no
# mpirun, no ISBI2012_DIR, no CUDA - reports itself skipped through xunit v3's Assert.Skip; see
# tests/Shared/Requirement.cs), and prints one closing line "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

configuration="${CONFIGURATION:-Release}"
dotnet build UNet.Segmentation.sln -c "$configuration" -nologo -v minimal || exit 1

passed=0; failed=0; skipped=0; status=0
log=$(mktemp); reasons=$(mktemp)

for project in $(find tests -name '*.Tests.csproj' | sort); do
  # The tests discovered, to check below that each one reported a result: xunit.v3 4.0.3 drops
  # the result of a test whose output holds an ESC character, even a failure. A theory whose
  # data cannot be serialized is listed once but reports one result per row, so the check is
  # "no fewer results than tests listed".
  listed=$(dotnet test "$project" -c "$configuration" --no-build -nologo --list-tests 2>/dev/null | grep -c '^    ')
  dotnet test "$project" -c "$configuration" --no-build -nologo 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  [ "$code" -eq 0 ] || status=1
  # dotnet test's closing line: "Passed!", "Failed!" or, when every test was skipped, "Skipped!".
  line=$(grep -E '(Passed|Failed|Skipped)! +- Failed: ' "$log" | tail -n 1)
  # Requirement.Skip sends "skipped <test>: <reason>" as an xunit diagnostic message.
  grep -E '^\[xUnit\.net [0-9:.]+\] [^ ]+: skipped ' "$log" | sed -E 's/^\[xUnit\.net [0-9:.]+\] [^ ]+: //' >> "$reasons"
  if [ -n "$line" ]; then
    f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")
    p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
    s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ $((f + p + s)) -lt "$listed" ]; then
      echo "$project: $((f + p + s)) results for $listed tests listed: the missing ones count as failed"
      failed=$((failed + listed - f - p - s)); status=1
    fi
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
if [ -s "$reasons" ]; then
  echo "skipped tests, with their reasons:"
  sed 's/^/  /' "$reasons"
fi
rm -f "$reasons"
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
