#!/usr/bin/env bash
# Where the time of "10 at once, warm" goes: ten warm Starts of par1..par10 sent together,
# then the same ten containers started without the daemon (bench/no_daemon.py: the units
# the daemon ran, through systemd-run, then postmaster.pid and a round trip as the user),
# then ten bare `pg_ctl start -w` together, then ten bare `pg_ctl start -w` each followed by
# a first login as the user (psql over TCP: what Start promises), in the same booted test
# host, ROUNDS times each, alternating; for each round a per-phase timeline (bench/trace_timeline.py: the
# daemon's journal lines, machined's and systemd's about the units, PostgreSQL's own "ready
# to accept connections", the client's return) as offsets from the moment the ten were sent.
#
# With --after-cold, each round's ten clusters are new: removed, made by ten cold Starts
# and stopped, then the spare cluster awaited, as bench/run.sh does before its warm round.
#
#   sudo bash bench/trace.sh [--rounds N] [--after-cold] BUILDDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=3 build="" after_cold=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift ;;
        --after-cold) after_cold=1 ;;
        *) build=$1 ;;
    esac
    shift
done
testhost="$here/../tests/testhost.sh"
# shellcheck source=../tests/lib/e2e.sh
source "$here/../tests/lib/e2e.sh"  # H
die() { echo "trace: $*" >&2; exit 1; }
build=$(cd "${build:?usage: trace.sh [--rounds N] BUILDDIR}" && pwd) || die "no build directory"
# The daemon's debug lines: one per step of each start.
host_etc=$(mktemp -d)
trap 'bash "$testhost" shutdown >/dev/null 2>&1; rm -rf "$host_etc"' EXIT
mkdir -p "$host_etc/systemd/system/pgnspawnd.service.d"
printf '[Service]\nEnvironment=PGNSPAWN_LOG_LEVEL=debug\n' >"$host_etc/systemd/system/pgnspawnd.service.d/debug.conf"
PGNSPAWN_TESTHOST_HOST_ETC="$host_etc" PGNSPAWN_TESTHOST_ETC="$here/etc" bash "$testhost" boot "$build" >/dev/null || die "the test host did not boot"
H sh -c 'cat > /usr/local/bin/trace_timeline && chmod 755 /usr/local/bin/trace_timeline' <"$here/trace_timeline.py"
H sh -c 'cat > /usr/local/bin/no_daemon && chmod 755 /usr/local/bin/no_daemon' <"$here/no_daemon.py"
bin=$(H sh -c 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1')
mgr="busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager"
pgctl="runuser -u postgres -- $bin/pg_ctl -D /var/lib/bare/\$i/data -o \"-c port=\$((5600 + \$i)) -c listen_addresses=127.0.0.1 -c unix_socket_directories=/var/lib/bare/\$i -c log_line_prefix='%n '\" -l /var/lib/bare/\$i/log"
# CPU time (ms) the start cost each part: the system's services (their main processes'
# /proc/PID/stat, with reaped children, in ticks: the test hosts of several engineers may
# share one cgroup tree, so a service's cgroup is not its own), the ten containers' units (nspawn + PostgreSQL; units_payload: what runs in the container, from
# nspawn's inner child to PostgreSQL and the backends it forked) or the ten bare
# postmasters (with their reaped children). Not the clients (busctl, runuser + pg_ctl).
cpu_snap='cg=/sys/fs/cgroup; [ -d $cg/unified ] && cg=$cg/unified; hz=$(getconf CLK_TCK)
    t() { for p in "$@"; do cut -d" " -f14-17 /proc/$p/stat; done | awk -v hz=$hz "{s += \$1 + \$2 + \$3 + \$4} END {print s * 1000000 / hz}"; }
    m() { t $(systemctl show -p MainPID --value $1); }
    echo daemon=$(m pgnspawnd) systemd=$(t 1) dbus=$(m dbus) journald=$(m systemd-journald) machined=$(m systemd-machined) units=$(cat $cg/machine.slice/pgnspawn-par*.service/cpu.stat $cg/machine.slice/nodaemon-par*.service/cpu.stat 2>/dev/null | awk "/^usage_usec/ {s += \$2} END {print s + 0}") units_payload=$(cat $cg/machine.slice/pgnspawn-par*.service/payload/cpu.stat $cg/machine.slice/nodaemon-par*.service/payload/cpu.stat 2>/dev/null | awk "/^usage_usec/ {s += \$2} END {print s + 0}") postmasters=$(t $(for f in /var/lib/bare/*/data/postmaster.pid; do [ -f $f ] && head -n1 $f; done))'
cpu_delta='awk "{for (i = 1; i <= NF; i++) {split(\$i, kv, \"=\"); v[NR, kv[1]] = kv[2]; k[i] = kv[1]}} END {printf \"  CPU ms:\"; for (i = 1; i <= NF; i++) printf \" %s %.0f\", k[i], (v[2, k[i]] - v[1, k[i]]) / 1000; print \"\"}"'
ten() { echo "for i in 1 2 3 4 5 6 7 8 9 10; do ( $1 ) & done; wait"; }
# The whole machine's busy CPU time in ms (/proc/stat, 10 ms ticks), read right before the
# ten are sent and right after the last has returned: on 2 cores, ten starts at once are
# bound by it. Nothing else should run on the machine meanwhile.
busy='$(awk "/^cpu / {print (\$2 + \$3 + \$4 + \$7 + \$8) * 10}" /proc/stat)'

# Initialise both sides once: ten instances (cold Start, Stop) and ten bare clusters.
H sh -c "$(ten "$mgr Start s par\$i >/dev/null && $mgr Stop s par\$i >/dev/null")" || die "initialising failed"
H sh -c "rm -rf /var/lib/bare; install -d -o postgres -g postgres /var/lib/bare; $(ten "install -d -o postgres -g postgres /var/lib/bare/\$i && runuser -u postgres -- $bin/initdb -D /var/lib/bare/\$i/data -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null")" ||
    die "initdb failed"
# In each bare cluster the role and database of the instances (bench/etc: user, password and
# database "bench"), for the round with a first login after pg_ctl.
login="PGPASSWORD=bench $bin/psql -h 127.0.0.1 -p \$((5600 + \$i)) -U bench -d bench -XAtqc 'SELECT 1'"
H sh -c "$(ten "$pgctl start -w >/dev/null && runuser -u postgres -- $bin/psql -h /var/lib/bare/\$i -p \$((5600 + \$i)) -U postgres -XAtqc \"CREATE ROLE bench LOGIN PASSWORD 'bench'\" >/dev/null && runuser -u postgres -- $bin/createdb -h /var/lib/bare/\$i -p \$((5600 + \$i)) -O bench bench && $pgctl stop -m fast >/dev/null")" ||
    die "cannot make the role in the bare clusters"
# The spare cluster the first starts asked for, made before anything is measured.
await_spare() { spare_ready || die "no spare cluster within 60 s"; }
await_spare
sleep 2
for r in $(seq "$rounds"); do
    if [ "$after_cold" = 1 ]; then
        H sh -c "rm -rf /var/lib/pgnspawn/par*; $(ten "$mgr Start s par\$i >/dev/null") && $(ten "$mgr Stop s par\$i >/dev/null")" ||
            die "the cold round failed"
        await_spare
    fi
    echo "== round $r of $rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    H sh -c "rm -rf /tmp/ends; mkdir /tmp/ends; sleep 1; { $cpu_snap; } > /tmp/cpu; b0=$busy; t0=\$(date +%s%N);
        $(ten "$mgr Start s par\$i >/dev/null; date +%s%N > /tmp/ends/par\$i")
        t1=\$(date +%s%N); b1=$busy; echo \"all ten: \$(( (t1 - t0) / 1000000 )) ms, machine CPU \$((b1 - b0)) ms\"; sleep 1
        { $cpu_snap; } >> /tmp/cpu; $cpu_delta /tmp/cpu
        /usr/local/bin/trace_timeline pgnspawn \$t0 /tmp/ends
        rm -rf /tmp/units; mkdir /tmp/units; cp /run/systemd/transient/pgnspawn-par*.service /tmp/units/" ||
        die "pgnspawn round failed"
    H sh -c "$(ten "$mgr Stop s par\$i >/dev/null")"
    # The same ten containers, the same units, without the daemon (bench/no_daemon.py).
    H sh -c "rm -rf /tmp/ends; mkdir /tmp/ends; sleep 1; { $cpu_snap; } > /tmp/cpu
        b0=$busy; /usr/local/bin/no_daemon /tmp/units /tmp/t0 /tmp/ends bench bench bench par1 par2 par3 par4 par5 par6 par7 par8 par9 par10
        b1=$busy; echo \"all ten: \$(( (\$(cat /tmp/ends/* | sort -n | tail -n1) - \$(cat /tmp/t0)) / 1000000 )) ms, machine CPU \$((b1 - b0)) ms (no daemon: systemd-run + nspawn, postmaster.pid, a round trip as the user)\"
        sleep 1; { $cpu_snap; } >> /tmp/cpu; $cpu_delta /tmp/cpu
        $(ten "systemctl stop nodaemon-par\$i")" || die "the round without the daemon failed"
    H sh -c "rm -rf /tmp/ends; mkdir /tmp/ends; rm -f /var/lib/bare/*/log; sleep 1; { $cpu_snap; } > /tmp/cpu; b0=$busy; t0=\$(date +%s%N);
        $(ten "$pgctl start -w >/dev/null; date +%s%N > /tmp/ends/\$i")
        t1=\$(date +%s%N); b1=$busy; echo \"all ten: \$(( (t1 - t0) / 1000000 )) ms, machine CPU \$((b1 - b0)) ms\"; sleep 1
        { $cpu_snap; } >> /tmp/cpu; $cpu_delta /tmp/cpu
        /usr/local/bin/trace_timeline bare \$t0 /tmp/ends /var/lib/bare/*/log" || die "bare round failed"
    H sh -c "$(ten "$pgctl stop -m fast >/dev/null")"
    # What Start promises, by hand: pg_ctl start -w, then a first login as the user over TCP.
    H sh -c "sleep 1; b0=$busy; t0=\$(date +%s%N);
        $(ten "$pgctl start -w >/dev/null && $login >/dev/null")
        t1=\$(date +%s%N); b1=$busy; echo \"all ten: \$(( (t1 - t0) / 1000000 )) ms, machine CPU \$((b1 - b0)) ms (bare pg_ctl start -w, then psql as the user over TCP)\"" ||
        die "the bare round with a login failed"
    H sh -c "$(ten "$pgctl stop -m fast >/dev/null")"
done
