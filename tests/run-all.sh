#!/usr/bin/env bash
# The project's test command: installs dependencies, builds, runs the unit tests and the
# end-to-end tests in a booted systemd test host, then does it all again with a build
# under AddressSanitizer + UndefinedBehaviorSanitizer (BUILDDIR-asan; unit tests, one
# e2e pass whose last test fails on any sanitizer report from the daemon or the clients,
# and the configuration fuzzer, tests/fuzz/config_fuzz.sh),
# and ends with "N passed, M failed" over every test case of both builds.
#
#   sudo bash tests/run-all.sh [BUILDDIR]     (default BUILDDIR: build-tests)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tests}
build=${build%/}
sanitized=$build-asan
t_start=$(date +%s)

bash tests/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# Any sanitizer report fails the process: ASan always halts, UBSan is built with
# -fno-sanitize-recover and told to halt too; LeakSanitizer checks at exit.
sanitizer_asan_options=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1
sanitizer_ubsan_options=print_stacktrace=1:halt_on_error=1

# stage DIR E2E_EXTRA [MESON_OPTION...]: configure DIR once, build it, run its unit tests
# and one e2e pass. Stale reports are removed first, so a stage that does not get as far
# as writing them counts as failed below.
stage() {
    local dir=$1 extra=$2; shift 2
    local asan="" ubsan=""
    rm -f "$dir"/tests/*.json "$dir/meson-logs/testlog.json" "$dir/e2e-results.txt" "$dir/e2e-rc"
    if [ -n "$extra" ]; then asan=$sanitizer_asan_options ubsan=$sanitizer_ubsan_options; fi
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" --prefix=/usr --sysconfdir=/etc --localstatedir=/var -Dwerror=true "$@" >/dev/null ||
            { echo "meson setup of $dir failed"; return 1; }
    fi
    ninja -C "$dir" || { echo "build of $dir failed"; return 1; }
    ASAN_OPTIONS=$asan UBSAN_OPTIONS=$ubsan meson test -C "$dir" --suite unit --print-errorlogs
    E2E_EXTRA=$extra E2E_RESULTS=$dir/e2e-results.txt bash tests/e2e/run.sh "$dir"
    echo $? >"$dir/e2e-rc"
}

# The daemon as nix/package.nix builds it (store paths for its programs), for the e2e
# suite nixstore of both stages; only the daemon target. A failed build leaves no daemon,
# so that suite fails rather than running a stale one.
export PGNSPAWN_NIXSTORE_BUILD=$build-nixstore
bash tests/e2e/nixstore-build.sh "$PGNSPAWN_NIXSTORE_BUILD" >"$PGNSPAWN_NIXSTORE_BUILD.log" 2>&1 ||
    { tail -n 20 "$PGNSPAWN_NIXSTORE_BUILD.log"; echo "build of $PGNSPAWN_NIXSTORE_BUILD failed"
      rm -f "$PGNSPAWN_NIXSTORE_BUILD/daemon/pgnspawnd"; }

stage "$build" ""

# Checks outside the builds' own tests; each appends "pass NAME" / "fail NAME" lines.
checks=$build/checks-results.txt
: >"$checks"
bash tests/nix/check.sh "$checks" || true
bash tests/docs/check.sh "$checks" || true
bash bench/run.sh --smoke --results "$checks" "$build" || true
# The configuration fuzzer: briefly in the plain build (a crash is a signal there), at
# length under ASan+UBSan below (where any report fails it).
bash tests/fuzz/config_fuzz.sh "$build" "$checks" 20 config_fuzz || true
t_plain=$(date +%s)
stage "$sanitized" tests/e2e/sanitizers \
    -Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args=-fno-sanitize-recover=undefined
ASAN_OPTIONS=$sanitizer_asan_options UBSAN_OPTIONS=$sanitizer_ubsan_options \
    bash tests/fuzz/config_fuzz.sh "$sanitized" "$checks" 75 config_fuzz_asan_ubsan || true
t_end=$(date +%s)
echo "time: build $build + tests $((t_plain - t_start)) s, sanitizer stage $((t_end - t_plain)) s, total $((t_end - t_start)) s"

# Count individual test cases of both builds: every unit test program's gtest JSON report
# (a program that is missing from meson's log, wrote no report, or exited non-zero
# without a failed case, e.g. crashed or a sanitizer report at exit, counts as one
# failure) and the e2e results file (missing, or run.sh failing without a recorded
# failure, counts as one failure).
python3 - "$build" "$sanitized" <<'PY'
import json, os, subprocess, sys
passed = failed = 0
GOOD = {"OK", "SKIP", "EXPECTEDFAIL"}

def cases(report):
    p = f = 0
    with open(report) as fh:
        data = json.load(fh)
    for suite in data.get("testsuites", []):
        for case in suite.get("testsuite", []):
            if case.get("failures"):
                f += 1
            else:
                p += 1
    return p, f

def unit(build):
    p = f = 0
    notes = []
    try:
        tests = json.loads(subprocess.run(["meson", "introspect", build, "--tests"],
                                          capture_output=True, check=True).stdout)
        expected = {t["name"] for t in tests if any(s.split(":")[-1] == "unit" for s in t["suite"])}
    except Exception:
        expected = set()
        f += 1; notes.append("not configured")
    ran = set()
    try:
        with open(f"{build}/meson-logs/testlog.json") as fh:
            log = [json.loads(line) for line in fh if line.strip()]
    except (FileNotFoundError, json.JSONDecodeError):
        log = []          # every expected program counts as "did not run" below
        notes.append("no unit test log")
    for entry in log:
        ran.add(entry["name"])
        ok = entry.get("result") in GOOD
        cmd = entry.get("command") or []
        cmd = cmd if isinstance(cmd, list) else cmd.split()
        report = next((a.split(":", 1)[1] for a in cmd if a.startswith("--gtest_output=json:")), None)
        if report is None:
            p, f = (p + 1, f) if ok else (p, f + 1)
            continue
        try:
            cp, cf = cases(report)
        except (FileNotFoundError, json.JSONDecodeError):
            f += 1; notes.append(f"{entry['name']}: no report ({entry.get('result')})")
            continue
        p += cp; f += cf
        if not ok and cf == 0:
            f += 1; notes.append(f"{entry['name']}: {entry.get('result')}, exit {entry.get('returncode')}")
    for name in sorted(expected - ran):
        f += 1; notes.append(f"{name}: did not run")
    return p, f, notes

def results(path):
    """Counts the "pass NAME" / "fail NAME" lines of a results file; None when it is missing."""
    p = f = 0
    try:
        with open(path) as fh:
            for line in fh:
                verdict = line.split(" ", 1)[0]
                p += verdict == "pass"
                f += verdict == "fail"
    except FileNotFoundError:
        return None
    return p, f

def e2e(build):
    notes = []
    counted = results(f"{build}/e2e-results.txt")
    if counted is None:
        return 0, 1, ["no results"]
    p, f = counted
    try:
        rc = int(open(f"{build}/e2e-rc").read())
    except (FileNotFoundError, ValueError):
        rc = -1
    if rc != 0 and f == 0:
        f += 1; notes.append(f"run.sh exit {rc} without a recorded failure")
    return p, f, notes

def checks(build):
    """The checks' results; a check that must run (the fuzzer, in both builds) and left
    no line counts as a failure."""
    path = f"{build}/checks-results.txt"
    counted = results(path)
    if counted is None:
        return 0, 1
    p, f = counted
    with open(path) as fh:
        names = {line.split()[1] for line in fh if len(line.split()) > 1}
    for required in ("config_fuzz", "config_fuzz_asan_ubsan"):
        if required not in names:
            f += 1
            print(f"checks: {required} did not run")
    return p, f

cp, cf = checks(sys.argv[1])
passed += cp
failed += cf
print(f"checks (nix, docs, bench smoke, config fuzz): {cp} passed, {cf} failed")

for build in sys.argv[1:]:
    up, uf, un = unit(build)
    ep, ef, en = e2e(build)
    passed += up + ep
    failed += uf + ef
    print(f"{build}: unit {up} passed, {uf} failed; e2e {ep} passed, {ef} failed"
          + (f" ({'; '.join(un + en)})" if un or en else ""))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
