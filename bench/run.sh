#!/usr/bin/env bash
# pgnspawn's benchmark, run in a booted test host (tests/testhost.sh), side by side with
# bare PostgreSQL tools on the same file system. Medians over RUNS runs.
#
#   sudo bash bench/run.sh [--runs N] [--calls N] [--idle SECONDS] [--results FILE] BUILDDIR
#   sudo bash bench/run.sh --smoke --results FILE BUILDDIR     (CI: 1 run, 100 calls, 5 s idle,
#                                                               and a short --testdbs pass)
#   sudo bash bench/run.sh --testdbs [--runs N] [--calls N] BUILDDIR   (databases for tests only:
#           scratch databases, snapshot/restore, migrations, testcontainers' SQL; bench/testdbs.sh)
#
# cold      Start of an instance with no state (data directory, initdb, container,
#           provisioning, round trip as the user)  vs  initdb + pg_ctl start -w +
#           createuser + createdb
# warm      Start of an initialised, stopped instance  vs  pg_ctl start -w
# stop      Stop  vs  pg_ctl stop -m fast
# 10 cold   ten instances with no state started at once, until all are ready  vs  ten
#           bare clusters set up as in "cold" at once
# 10 warm   the same ten, initialised, started at once  vs  ten pg_ctl start -w at once;
#           and vs ten pg_ctl start -w each followed by a first login as the user over TCP
#           (psql), the round trip Start makes before it returns
# calls     GetAddress and HealthCheck: N sequential calls from one client over one
#           connection (bench/dbus_latency, sd-bus): p50, p99, calls per second
# idle      the daemon's CPU time, context switches (= wake-ups) and RSS over SECONDS
#           of idling with one instance running
#
# Times are wall clock inside the host around one busctl call or shell command. The
# table goes to stdout and to BUILDDIR/bench-results.txt (--smoke: bench-smoke.txt).
# --results FILE appends "pass bench" / "fail bench" (--smoke: bench_smoke) to FILE:
# pass means every measurement ran and produced a figure; the targets are reported,
# not judged, since they depend on the machine. Exit status 0 on pass.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=7 calls=2000 idle=60 smoke=0 testdbs=0 results="" build=""
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1 runs=1 calls=100 idle=5 ;;
        --testdbs) testdbs=1 ;;
        --runs) runs=$2; shift ;;
        --calls) calls=$2; shift ;;
        --idle) idle=$2; shift ;;
        --results) results=$2; shift ;;
        -*) echo "usage: run.sh [--smoke] [--runs N] [--calls N] [--idle S] [--results FILE] BUILDDIR" >&2; exit 2 ;;
        *) build=$1 ;;
    esac
    shift
done
verdict_name=bench; [ "$smoke" = 1 ] && verdict_name=bench_smoke
testhost="$here/../tests/testhost.sh"
# shellcheck source=../tests/lib/e2e.sh
source "$here/../tests/lib/e2e.sh"  # H

passed=0 booted=0
finish() {
    [ "$booted" = 1 ] && bash "$testhost" shutdown >/dev/null 2>&1
    if [ -n "$results" ]; then
        if [ "$passed" = 1 ]; then echo "pass $verdict_name" >>"$results"; else echo "fail $verdict_name" >>"$results"; fi
    fi
}
trap finish EXIT
die() {
    echo "bench: $*" >&2
    # What the failed command and the daemon said (the host is still up until finish()).
    [ "$booted" = 1 ] && H sh -c 'tail -n 5 /tmp/timed.err; journalctl -u pgnspawnd -n 15 --no-pager' >&2 2>/dev/null
    exit 1
}
build=$(cd "${build:?usage: run.sh [--smoke] [--runs N] [--calls N] [--idle S] [--results FILE] BUILDDIR}" && pwd) || die "no build directory"
out_file=$build/bench-results.txt; [ "$smoke" = 1 ] && out_file=$build/bench-smoke.txt

# What is measured is what the tree holds now.
ninja -C "$build" >/dev/null || die "the build failed"
commit=$(git -C "$here/.." describe --always --dirty 2>/dev/null || echo '?')
[ -x "$build/bench/dbus_latency" ] || die "$build/bench/dbus_latency was not built (meson -Dtests=true)"
booted=1
PGNSPAWN_TESTHOST_ETC="$here/etc" bash "$testhost" boot "$build" >/dev/null || die "the test host did not boot"
H sh -c 'cat > /usr/local/bin/dbus_latency && chmod 755 /usr/local/bin/dbus_latency' <"$build/bench/dbus_latency" ||
    die "cannot copy dbus_latency into the host"
bin=$(H sh -c 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1')
[ -n "$bin" ] || die "no PostgreSQL in the host"
cores=$(H nproc)

mgr="busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager"
# timed SNIPPET: runs SNIPPET in the host, prints its wall time in ms; fails if it fails.
timed() {
    local ms
    ms=$(H sh -c "t0=\$(date +%s%N); { $1 ; } >/dev/null 2>/tmp/timed.err || exit 1; t1=\$(date +%s%N); echo \$(( (t1 - t0) / 1000000 ))") &&
        [ -n "$ms" ] && echo "$ms"
}
# ten SNIPPET: a snippet running SNIPPET (with $i = 1..10) ten times at once, failing if any fails.
ten() { echo "pids=''; for i in 1 2 3 4 5 6 7 8 9 10; do ( $1 ) & pids=\"\$pids \$!\"; done; rc=0; for p in \$pids; do wait \$p || rc=1; done; [ \$rc = 0 ]"; }
# quiet: until the daemon's spare cluster is there (it is made in the background 3 s after
# a first start took the last one), so that its initdb runs in no measurement, pgnspawn's
# or the bare tools'. At most 60 s.
quiet() { spare_ready || die "no spare cluster within 60 s"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "?"; else print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
med() { printf '%s\n' "$@" | median; }

# The bare clusters live on the same file system as pgnspawn's state (the host's /tmp is
# a tmpfs, where fsync costs nothing). Cluster k: /var/lib/bare/k, port 5600+k.
initdb_cmd() { echo "runuser -u postgres -- $bin/initdb -D /var/lib/bare/$1/data -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8"; }
pgctl() { echo "runuser -u postgres -- $bin/pg_ctl -D /var/lib/bare/$1/data -o \"-c port=\$((5600 + $1)) -c listen_addresses=127.0.0.1 -c unix_socket_directories=/var/lib/bare/$1\" -l /var/lib/bare/$1/log"; }
bare_cold() { echo "install -d -o postgres -g postgres /var/lib/bare/$1 && $(initdb_cmd "$1") && $(pgctl "$1") start -w && runuser -u postgres -- $bin/createuser -h /var/lib/bare/$1 -p \$((5600 + $1)) bench && runuser -u postgres -- $bin/createdb -h /var/lib/bare/$1 -p \$((5600 + $1)) -O bench bench"; }
# After bare_cold, outside any measurement: the role gets the instances' password (bench/etc).
bare_password() { echo "runuser -u postgres -- $bin/psql -h /var/lib/bare/$1 -p \$((5600 + $1)) -U postgres -XAtqc \"ALTER ROLE bench PASSWORD 'bench'\""; }
# A first login as the user over TCP: what pgnspawn's Start makes before it returns.
bare_login() { echo "PGPASSWORD=bench $bin/psql -h 127.0.0.1 -p \$((5600 + $1)) -U bench -d bench -XAtqc 'SELECT 1'"; }

H $mgr ListInstances >/dev/null || die "the daemon does not answer"   # D-Bus activation

if [ "$testdbs" = 1 ]; then
    out_file=$build/bench-testdbs.txt; : >"$out_file"
    # shellcheck source=testdbs.sh
    source "$here/testdbs.sh"
    passed=1
    exit 0
fi

declare -a cold warm stop bcold bwarm bstop pcold pwarm bpcold bpwarm bplogin
declare -a ga50 ga99 garate hc50 hc99 hcrate
hc_calls=$(( calls / 4 > 100 ? calls / 4 : calls ))   # HealthCheck is a libpq round trip: fewer
for run in $(seq "$runs"); do
    echo "bench: run $run of $runs" >&2
    # One instance: cold, stop, warm.
    H rm -rf /var/lib/pgnspawn/bench
    cold+=("$(timed "$mgr Start s bench")") || die "cold Start failed"
    stop+=("$(timed "$mgr Stop s bench")") || die "Stop failed"
    warm+=("$(timed "$mgr Start s bench")") || die "warm Start failed"

    # Calls from one client while it runs.
    for m in GetAddress HealthCheck; do
        n=$calls; [ "$m" = HealthCheck ] && n=$hc_calls
        line=$(H /usr/local/bin/dbus_latency --method "$m" --name bench --calls "$n" 2>&1) || die "dbus_latency $m: $line"
        p50=$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$line"); p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line")
        rate=$(sed -n 's/.*calls_per_s=\([0-9]*\).*/\1/p' <<<"$line")
        [ -n "$p50" ] && [ -n "$p99" ] && [ -n "$rate" ] || die "unexpected dbus_latency output: $line"
        if [ "$m" = GetAddress ]; then ga50+=("$p50"); ga99+=("$p99"); garate+=("$rate")
        else hc50+=("$p50"); hc99+=("$p99"); hcrate+=("$rate"); fi
    done
    H sh -c "$mgr Stop s bench" >/dev/null || die "Stop failed"

    # Bare tools on cluster 0.
    quiet
    H rm -rf /var/lib/bare; H install -d -o postgres -g postgres /var/lib/bare
    bcold+=("$(timed "$(bare_cold 0)")") || die "bare cold start failed"
    bstop+=("$(timed "$(pgctl 0) stop -m fast")") || die "bare stop failed"
    bwarm+=("$(timed "$(pgctl 0) start -w")") || die "bare warm start failed"
    H sh -c "$(pgctl 0) stop -m fast" >/dev/null || die "bare stop failed"

    # Ten at once.
    H sh -c 'rm -rf /var/lib/pgnspawn/par*'
    pcold+=("$(timed "$(ten "$mgr Start s par\$i")")") || die "10 cold Starts at once failed"
    H sh -c "$(ten "$mgr Stop s par\$i")" >/dev/null || die "10 Stops failed"
    quiet
    pwarm+=("$(timed "$(ten "$mgr Start s par\$i")")") || die "10 warm Starts at once failed"
    H sh -c "$(ten "$mgr Stop s par\$i")" >/dev/null || die "10 Stops failed"
    quiet
    bpcold+=("$(timed "$(ten "$(bare_cold '$i')")")") || die "10 bare cold starts at once failed"
    H sh -c "$(ten "$(bare_password '$i')")" >/dev/null || die "setting the bare roles' password failed"
    H sh -c "$(ten "$(pgctl '$i') stop -m fast")" >/dev/null || die "10 bare stops failed"
    bpwarm+=("$(timed "$(ten "$(pgctl '$i') start -w")")") || die "10 bare warm starts at once failed"
    H sh -c "$(ten "$(pgctl '$i') stop -m fast")" >/dev/null || die "10 bare stops failed"
    bplogin+=("$(timed "$(ten "$(pgctl '$i') start -w && $(bare_login '$i')")")") ||
        die "10 bare warm starts with a login at once failed"
    H sh -c "$(ten "$(pgctl '$i') stop -m fast")" >/dev/null || die "10 bare stops failed"
done

# Idle: one instance running, nothing calling. Counters of every thread of the daemon.
echo "bench: idling ${idle} s" >&2
H sh -c "$mgr Start s bench" >/dev/null || die "Start before idling failed"
pid=$(daemon_pid)
[ -n "$pid" ] && [ "$pid" != 0 ] || die "no pgnspawnd MainPID"
snapshot() {
    H sh -c "set -e; read -r stat < /proc/$pid/stat; set -- \${stat##*) }; vol=0; inv=0
        for t in /proc/$pid/task/*/status; do
            vol=\$((vol + \$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' \$t)))
            inv=\$((inv + \$(sed -n 's/^nonvoluntary_ctxt_switches:[[:space:]]*//p' \$t)))
        done
        echo \$((\${12} + \${13})) \$vol \$inv \$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$pid/status) \$(ls /proc/$pid/task | wc -l)"
}
sleep 1
read -r ticks0 vol0 inv0 _ _ <<<"$(snapshot)" || die "cannot read /proc/$pid"
sleep "$idle"
read -r ticks1 vol1 inv1 rss threads <<<"$(snapshot)" || die "cannot read /proc/$pid"
[ -n "${threads:-}" ] || die "cannot read /proc/$pid"
hz=$(H getconf CLK_TCK)
idle_cpu_ms=$(( (ticks1 - ticks0) * 1000 / hz )) idle_vol=$((vol1 - vol0)) idle_inv=$((inv1 - inv0))
H sh -c "$mgr Stop s bench" >/dev/null || die "Stop after idling failed"

# The table.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
row() { printf '| %-27s | %8s ms | %8s ms | %5s |\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
yes_no() { if awk "BEGIN {exit !($1)}"; then echo met; else echo "NOT met"; fi; }
m_cold=$(med "${cold[@]}") m_warm=$(med "${warm[@]}") m_bwarm=$(med "${bwarm[@]}") m_ga99=$(med "${ga99[@]}")
{
    echo "pgnspawn $commit, PostgreSQL $(basename "$(dirname "$bin")"), $runs run(s), medians, $(date -u '+%Y-%m-%d %H:%M UTC'), $cores cores"
    echo
    echo "| start-to-ready / stop       |    pgnspawn |        bare | ratio |"
    echo "|-----------------------------|-------------|-------------|-------|"
    row "cold start" "$m_cold" "$(med "${bcold[@]}")"
    row "warm start" "$m_warm" "$m_bwarm"
    row "stop" "$(med "${stop[@]}")" "$(med "${bstop[@]}")"
    row "10 at once, cold, all ready" "$(med "${pcold[@]}")" "$(med "${bpcold[@]}")"
    row "10 at once, warm, all ready" "$(med "${pwarm[@]}")" "$(med "${bpwarm[@]}")"
    row "  the same, bare + a login" "$(med "${pwarm[@]}")" "$(med "${bplogin[@]}")"
    echo
    echo "| call from one client        |     calls |      p50 |      p99 | calls/s |"
    echo "|-----------------------------|-----------|----------|----------|---------|"
    printf '| %-27s | %9s | %5s µs | %5s µs | %7s |\n' GetAddress "$calls" "$(med "${ga50[@]}")" "$m_ga99" "$(med "${garate[@]}")"
    printf '| %-27s | %9s | %5s µs | %5s µs | %7s |\n' HealthCheck "$hc_calls" "$(med "${hc50[@]}")" "$(med "${hc99[@]}")" "$(med "${hcrate[@]}")"
    echo
    echo "idle ${idle} s, one instance running: CPU $idle_cpu_ms ms (utime+stime), context switches $idle_vol voluntary + $idle_inv involuntary, RSS $((rss / 1024)) MiB ($rss kB), $threads thread(s)"
    echo
    echo "targets: warm <= 1.1 x bare pg_ctl start -w: $(yes_no "$m_warm <= 1.1 * $m_bwarm") ($(ratio "$m_warm" "$m_bwarm") x)"
    echo "         cold <= warm + 300 ms: $(yes_no "$m_cold <= $m_warm + 300") (cold $m_cold ms, warm + 300 = $(awk -v w="$m_warm" 'BEGIN {print w + 300}') ms)"
    echo "         GetAddress p99 < 1 ms: $(yes_no "$m_ga99 < 1000") ($m_ga99 µs)"
    echo "         no wake-ups when idle: $(yes_no "$idle_vol + $idle_inv == 0") ($((idle_vol + idle_inv)) context switches in ${idle} s)"
    echo "         10 warm at once <= 1.1 x ten bare pg_ctl start -w: $(yes_no "$(med "${pwarm[@]}") <= 1.1 * $(med "${bpwarm[@]}")") ($(ratio "$(med "${pwarm[@]}")" "$(med "${bpwarm[@]}")") x); with a first login after each pg_ctl, as Start makes: $(yes_no "$(med "${pwarm[@]}") <= 1.1 * $(med "${bplogin[@]}")") ($(ratio "$(med "${pwarm[@]}")" "$(med "${bplogin[@]}")") x)"
    echo
    echo "raw (ms): cold ${cold[*]} | bare ${bcold[*]}"
    echo "          warm ${warm[*]} | bare ${bwarm[*]}"
    echo "          stop ${stop[*]} | bare ${bstop[*]}"
    echo "          10 cold ${pcold[*]} | bare ${bpcold[*]}"
    echo "          10 warm ${pwarm[*]} | bare ${bpwarm[*]} | bare + a login ${bplogin[*]}"
    echo "raw (µs): GetAddress p50 ${ga50[*]} p99 ${ga99[*]} | HealthCheck p50 ${hc50[*]} p99 ${hc99[*]}"
} | tee "$out_file"
# CI's smoke run covers the databases-for-tests pass too, so that it cannot rot.
if [ "$smoke" = 1 ]; then
    # shellcheck source=testdbs.sh
    source "$here/testdbs.sh"
fi
passed=1
