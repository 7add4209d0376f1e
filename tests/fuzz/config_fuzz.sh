#!/usr/bin/env bash
# Runs the configuration fuzzer (tests/fuzz/config_fuzz.cpp) of BUILDDIR against its
# parser and its pgnspawnd --check-config, bounded in time, and appends
# "pass NAME" / "fail NAME" to RESULTS (tests/run-all.sh counts them).
#
#   tests/fuzz/config_fuzz.sh BUILDDIR RESULTS [SECONDS] [NAME]
#
# CONFIG_FUZZ_SEED=S replays a run. ASAN_OPTIONS/UBSAN_OPTIONS are passed through, so
# under a sanitizer build any report fails the run; a crash leaves the case in
# BUILDDIR/config_fuzz-crash.toml (config_fuzz --replay FILE parses it again).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: config_fuzz.sh BUILDDIR RESULTS [SECONDS] [NAME]}
results=${2:?usage: config_fuzz.sh BUILDDIR RESULTS [SECONDS] [NAME]}
seconds=${3:-60}
name=${4:-config_fuzz}
failed=0
# shellcheck source=../lib/verdict.sh
source "$here/../lib/verdict.sh"

fuzzer=$build/tests/config_fuzz daemon=$build/daemon/pgnspawnd
if [ ! -x "$fuzzer" ] || [ ! -x "$daemon" ]; then
    verdict "$name" 1 "$fuzzer or $daemon was not built"
    exit 1
fi
rm -f "$build/config_fuzz-crash.toml"
out=$("$fuzzer" --cases 1000000 --time-limit "$seconds" --check-config "$daemon" --exec-every 25 \
    --save "$build/config_fuzz-crash.toml" ${CONFIG_FUZZ_SEED:+--seed "$CONFIG_FUZZ_SEED"} 2>&1)
rc=$?
printf '%s\n' "$out" | tail -n 40
cases=$(printf '%s' "$out" | sed -n 's/^config_fuzz: OK, \([0-9]*\) cases.*/\1/p')
if [ "$rc" -eq 0 ] && [ "${cases:-0}" -lt 1000 ]; then
    verdict "$name" 1 "only ${cases:-0} cases in $seconds s; at least 1000 are needed"
else
    verdict "$name" "$rc" "exit $rc (a case that crashed is in $build/config_fuzz-crash.toml)"
fi
[ "$failed" -eq 0 ]
