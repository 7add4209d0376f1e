#!/usr/bin/env bash
# Start/stop latency of pgnspawn beside bare PostgreSQL tools, in the same booted test
# host (see tests/testhost.sh), as medians over RUNS runs.
#
#   sudo bash bench/startup.sh BUILDDIR [RUNS]      (default RUNS=7)
#
# cold  pgnspawn: Start of an instance with no state (initdb, provisioning, round trip)
#       bare:     initdb + pg_ctl start -w + createuser + createdb
# warm  pgnspawn: Start of an initialised, stopped instance
#       bare:     pg_ctl start -w on an initialised data directory
# stop  pgnspawn: Stop;  bare: pg_ctl stop -m fast
# Every figure is wall-clock time measured inside the test host around one busctl call
# or one shell command. Results go to stdout and BUILDDIR/bench-startup.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: startup.sh BUILDDIR [RUNS]}" && pwd)
runs=${2:-7}
testhost="$here/../tests/testhost.sh"
H() { bash "$testhost" exec "$@"; }
trap 'bash "$testhost" shutdown' EXIT

PGNSPAWN_TESTHOST_ETC="$here/etc" bash "$testhost" boot "$build" >/dev/null
bin=$(H sh -c 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1')

# One timed shell snippet inside the host; prints milliseconds.
timed() { H sh -c "t0=\$(date +%s%N); $1 >/dev/null; t1=\$(date +%s%N); echo \$(( (t1 - t0) / 1000000 ))"; }
call() { echo "busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager $1 s bench"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

H busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager ListInstances >/dev/null  # activate the daemon

declare -a cold warm stop bcold bwarm bstop
for i in $(seq "$runs"); do
    H rm -rf /var/lib/pgnspawn/bench
    cold+=("$(timed "$(call Start)")")
    stop+=("$(timed "$(call Stop)")")
    warm+=("$(timed "$(call Start)")")
    H sh -c "$(call Stop)" >/dev/null

    # The bare cluster lives on the same file system as pgnspawn's state: the host's /tmp
    # is a tmpfs, where fsync costs nothing.
    H rm -rf /var/lib/bare; H install -d -o postgres -g postgres /var/lib/bare
    pgctl="runuser -u postgres -- $bin/pg_ctl -D /var/lib/bare/data -o '-c port=5499 -c listen_addresses=127.0.0.1 -c unix_socket_directories=/var/lib/bare' -l /var/lib/bare/log"
    bcold+=("$(timed "runuser -u postgres -- $bin/initdb -D /var/lib/bare/data -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null && $pgctl start -w >/dev/null && runuser -u postgres -- $bin/createuser -h /var/lib/bare -p 5499 bench && runuser -u postgres -- $bin/createdb -h /var/lib/bare -p 5499 -O bench bench")")
    bstop+=("$(timed "$pgctl stop -m fast")")
    bwarm+=("$(timed "$pgctl start -w")")
    H sh -c "$pgctl stop -m fast" >/dev/null
done

row() { printf '| %-6s | %8s ms | %8s ms | %5s |\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" 'BEGIN {printf "%.2f", a / b}')"; }
{
    echo "pgnspawn $(git -C "$here/.." describe --always --dirty 2>/dev/null || echo '?'), PostgreSQL $(basename "$(dirname "$bin")"), $runs runs, medians, $(date -u +%Y-%m-%d)"
    echo
    echo "| phase  |    pgnspawn |        bare | ratio |"
    echo "|--------|-------------|-------------|-------|"
    row cold "$(printf '%s\n' "${cold[@]}" | median)" "$(printf '%s\n' "${bcold[@]}" | median)"
    row warm "$(printf '%s\n' "${warm[@]}" | median)" "$(printf '%s\n' "${bwarm[@]}" | median)"
    row stop "$(printf '%s\n' "${stop[@]}" | median)" "$(printf '%s\n' "${bstop[@]}" | median)"
    echo
    echo "raw (ms): cold ${cold[*]} | bare cold ${bcold[*]} | warm ${warm[*]} | bare warm ${bwarm[*]} | stop ${stop[*]} | bare stop ${bstop[*]}"
} | tee "$build/bench-startup.txt"
