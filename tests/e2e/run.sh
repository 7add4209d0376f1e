#!/usr/bin/env bash
# End-to-end tests of pgnspawn in a booted systemd test host (see tests/testhost.sh).
#
#   tests/e2e/run.sh BUILDDIR
#
# Boots a fresh copy of the cached test host with BUILDDIR installed into it and
# /etc/pgnspawn taken from tests/e2e/etc, runs the suites of tests/e2e/suites/ in the
# order of $suite_order below (they drive it with busctl, dbus-send, psql and
# pgnspawnctl through nsenter; helpers in tests/lib/e2e.sh), and powers it off at the
# end. Prints one line per test ("ok - NAME" / "not ok - NAME: why") and a final
# "e2e: N passed, M failed".
# Results also go to $E2E_RESULTS (default BUILDDIR/e2e-results.txt), one "pass NAME"
# or "fail NAME" per line.
# E2E_EXTRA=DIR adds a pass-specific layer (e.g. tests/e2e/sanitizers): DIR/etc is copied
# over the host's /etc before it boots, DIR/tests.sh is sourced once it has booted and may
# export settings and append t_* names to final_tests, which run last, before power-off.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILDDIR}" && pwd)
testhost="$here/../testhost.sh"
results=${E2E_RESULTS:-$build/e2e-results.txt}
: >"$results"

# shellcheck source=../lib/e2e.sh
source "$here/../lib/e2e.sh"

passed=0 failed=0
run() {
    local name=$1 out
    if out=$("t_$name" 2>&1); then
        passed=$((passed + 1)); echo "ok - $name${out:+ ($out)}"; echo "pass $name" >>"$results"
    else
        failed=$((failed + 1)); echo "not ok - $name: $out"; echo "fail $name" >>"$results"
    fi
}

cleanup() { bash "$testhost" shutdown; }
trap cleanup EXIT

# The suites, in the order they run. Each defines t_* functions, appends their names to
# suite_tests in the order they must run, and leaves every instance stopped. lifecycle
# runs first (its first test needs an instance that has never started); reboot runs
# last (the rest would run on a rebooted host).
suite_order=(lifecycle api credentials badconfig client directory nixos faults fuzz hardening nix polkit provision
    snapshots scratch reload created spare testdbs declare nixstore reboot)

# Every suite on disk is in the order, and every suite in the order is on disk.
t_suites_all_ordered() {
    local f name listed missing=""
    for f in "$here"/suites/*.sh; do
        name=$(basename "$f" .sh)
        [[ " ${suite_order[*]} " == *" $name "* ]] || missing+=" $name"
    done
    [ -z "$missing" ] || fail "suites not in run.sh's suite_order (they would never run):$missing"
    for listed in "${suite_order[@]}"; do
        [ -f "$here/suites/$listed.sh" ] || fail "suite_order names $listed, but there is no suites/$listed.sh"
    done
}

echo "e2e: booting the test host"
extra=${E2E_EXTRA:+$(cd "$E2E_EXTRA" && pwd)}
if [ -n "${E2E_EXTRA:-}" ] && [ ! -f "$extra/tests.sh" ]; then
    echo "not ok - e2e_extra: no tests.sh in E2E_EXTRA=$E2E_EXTRA"; echo "fail e2e_extra" >>"$results"
    exit 1
fi
if ! PGNSPAWN_TESTHOST_ETC="$here/etc" PGNSPAWN_TESTHOST_HOST_ETC=${extra:+$extra/etc} \
        bash "$testhost" boot "$build"; then
    echo "not ok - boot: the test host did not boot"; echo "fail boot" >>"$results"
    echo "e2e: 0 passed, 1 failed"
    exit 1
fi
final_tests=()
# shellcheck source=/dev/null
if [ -n "$extra" ]; then source "$extra/tests.sh"; fi

run suites_all_ordered

# E2E_SUITES="polkit faults" runs only those suites (for development; CI runs all).
suite_tests=()
for suite in "${suite_order[@]}"; do
    [ -f "$here/suites/$suite.sh" ] || continue
    if [ -n "${E2E_SUITES:-}" ] && [[ " $E2E_SUITES " != *" $suite "* ]]; then continue; fi
    # shellcheck source=/dev/null
    source "$here/suites/$suite.sh"
done
for t in "${suite_tests[@]}"; do run "$t"; done
for t in "${final_tests[@]}"; do run "$t"; done

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
