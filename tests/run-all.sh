#!/usr/bin/env bash
# The project's test command: installs dependencies, builds, runs the unit tests and the
# end-to-end tests in a booted systemd test host, and ends with "N passed, M failed".
#
#   sudo bash tests/run-all.sh [BUILDDIR]     (default BUILDDIR: build-tests)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tests}

bash tests/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --prefix=/usr --sysconfdir=/etc --localstatedir=/var -Dwerror=true >/dev/null ||
        { echo "meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$build"; then
    echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

rm -f "$build"/tests/*.json
meson test -C "$build" --suite unit --print-errorlogs
unit_rc=$?

bash tests/e2e/run.sh "$build"
e2e_rc=$?

# Count individual test cases: gtest's JSON reports and the e2e results file.
python3 - "$build" "$unit_rc" <<'PY'
import glob, json, sys
build, unit_rc = sys.argv[1], int(sys.argv[2])
passed = failed = 0
reports = glob.glob(f"{build}/tests/*.json")
for report in reports:
    with open(report) as f:
        data = json.load(f)
    for suite in data.get("testsuites", []):
        for case in suite.get("testsuite", []):
            if case.get("failures"):
                failed += 1
            else:
                passed += 1
if unit_rc != 0 and failed == 0:
    failed += 1          # a test binary crashed or never reported
try:
    with open(f"{build}/e2e-results.txt") as f:
        for line in f:
            verdict = line.split(" ", 1)[0]
            passed += verdict == "pass"
            failed += verdict == "fail"
except FileNotFoundError:
    failed += 1
print(f"unit reports: {len(reports)}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
