#!/usr/bin/env bash
# What an idle instance costs in memory, in a booted test host (tests/testhost.sh): with
# 1, 10 and 30 instances of the host image running idle, the summed PSS of each instance's
# container processes (/proc/PID/smaps_rollup of every process in its unit's cgroup), the
# daemon's PSS, and the daemon's PSS per instance ((daemon at N - daemon at 0) / N).
# PSS divides a shared page among the processes that map it, so the instances share the
# server's binary and libraries and an instance costs less the more there are.
#
#   sudo bash bench/memory.sh [--counts "1 10 30"] [--settle SECONDS] [--results FILE] BUILDDIR
#
# Instances mem1..memN (ports 5701..) are written to a configuration of this script's
# own; they are started in groups of at most ten at once, first starts (initdb), then
# left alone SECONDS (default 10) before each reading. The table goes to stdout and to
# BUILDDIR/bench-memory.txt; --results FILE appends "pass bench_memory" or "fail
# bench_memory". Exit status 0 when every reading was made.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
counts="1 10 30" settle=10 results="" build=""
usage="usage: memory.sh [--counts \"1 10 30\"] [--settle SECONDS] [--results FILE] BUILDDIR"
for arg; do
    case "${opt:-}" in
        --counts) counts=$arg ;;
        --settle) settle=$arg ;;
        --results) results=$arg ;;
        "") case "$arg" in --counts | --settle | --results) opt=$arg; continue ;; -*) echo "$usage" >&2; exit 2 ;; *) build=$arg ;; esac ;;
    esac
    opt=""
done
testhost="$here/../tests/testhost.sh"
# shellcheck source=../tests/lib/e2e.sh
source "$here/../tests/lib/e2e.sh"  # H, daemon_pid

passed=0 booted=0 etc=""
finish() {
    [ "$booted" = 1 ] && bash "$testhost" shutdown >/dev/null 2>&1
    [ -n "$etc" ] && rm -rf "$etc"
    if [ -n "$results" ]; then
        if [ "$passed" = 1 ]; then echo "pass bench_memory" >>"$results"; else echo "fail bench_memory" >>"$results"; fi
    fi
}
trap finish EXIT
die() { echo "memory: $*" >&2; exit 1; }
build=$(cd "${build:?$usage}" && pwd) || die "no build directory"
max=0
for n in $counts; do
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "--counts takes numbers of instances, not \"$n\""
    [ "$n" -gt "$max" ] && max=$n
done

ninja -C "$build" >/dev/null || die "the build failed"
commit=$(git -C "$here/.." describe --always --dirty 2>/dev/null || echo '?')
etc=$(mktemp -d)
for i in $(seq "$max"); do
    printf '[instances.mem%d]\nport = %d\ndatabase = "bench"\nuser = "bench"\npassword = "bench"\n\n' "$i" $((5700 + i))
done >"$etc/pgnspawn.toml"
booted=1
PGNSPAWN_TESTHOST_ETC="$etc" bash "$testhost" boot "$build" >/dev/null || die "the test host did not boot"
mgr="busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager"
H $mgr ListInstances >/dev/null || die "the daemon does not answer"   # D-Bus activation

# pss PID...: the summed Pss (kB) of the processes; anon PID...: their Pss_Anon (the heap
# and stacks: what the daemon's shared libraries, whose share falls as nspawn and others
# map them too, do not blur).
pss_of='field() { f=$1; shift; for p in "$@"; do sed -n "s/^$f:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/$p/smaps_rollup 2>/dev/null; done | awk "{s += \$1} END {print s + 0}"; }
    pss() { field Pss "$@"; }; anon() { field Pss_Anon "$@"; }'
# unit_pss NAME: the summed Pss of every process in the instance's unit's cgroup (nspawn,
# PostgreSQL and its children, in whichever sub-cgroup nspawn put them), how many, and the
# Pss of nspawn's own process (the "supervisor" sub-cgroup): what a bare server would not have.
unit_pss() {
    H sh -c "$pss_of; cg=\$(systemctl show -p ControlGroup --value pgnspawn-$1.service); [ -n \"\$cg\" ] || exit 1
        root=/sys/fs/cgroup; [ -d \$root/unified ] && root=\$root/unified   # a hybrid hierarchy
        cg=\$root\$cg; [ -d \$cg ] || exit 1
        pids=\$(find \$cg -name cgroup.procs -exec cat {} +); echo \$(pss \$pids) \$(echo \$pids | wc -w) \$(pss \$(cat \$cg/supervisor/cgroup.procs 2>/dev/null))"
}
daemon_pss() { H sh -c "$pss_of; echo \$(pss $(daemon_pid)) \$(anon $(daemon_pid))"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "?"; else print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

sleep "$settle"
read -r d0 a0 <<<"$(daemon_pss)"
[ -n "${a0:-}" ] && [ "$d0" -gt 0 ] || die "cannot read the daemon's PSS"
rows=() running=0
for n in $counts; do
    # Start mem(running+1)..memN, ten at a time.
    while [ "$running" -lt "$n" ]; do
        last=$(( running + 10 < n ? running + 10 : n ))
        echo "memory: starting mem$((running + 1))..mem$last" >&2
        H sh -c "rc=0; for i in \$(seq $((running + 1)) $last); do $mgr Start s mem\$i >/dev/null & done
                 for j in \$(jobs -p); do wait \$j || rc=1; done; exit \$rc" || die "starting mem$((running + 1))..mem$last failed"
        running=$last
    done
    sleep "$settle"
    per=() procs=() nspawn=() total=0
    for i in $(seq "$n"); do
        read -r kb np ns <<<"$(unit_pss "mem$i")" || die "cannot read the processes of mem$i"
        [ -n "${kb:-}" ] && [ "$kb" -gt 0 ] || die "no PSS for mem$i"
        per+=("$kb") procs+=("$np") nspawn+=("${ns:-0}") total=$((total + kb))
    done
    read -r dn an <<<"$(daemon_pss)"
    [ -n "${an:-}" ] && [ "$dn" -gt 0 ] || die "cannot read the daemon's PSS"
    med=$(printf '%s\n' "${per[@]}" | median)
    lo=$(printf '%s\n' "${per[@]}" | sort -n | head -n1) hi=$(printf '%s\n' "${per[@]}" | sort -n | tail -n1)
    nprocs=$(printf '%s\n' "${procs[@]}" | median) med_nspawn=$(printf '%s\n' "${nspawn[@]}" | median)
    per_inst=$(awk -v a="$dn" -v b="$d0" -v n="$n" 'BEGIN {printf "%.0f", (a - b) / n}')
    anon_inst=$(awk -v a="$an" -v b="$a0" -v n="$n" 'BEGIN {printf "%.0f", (a - b) / n}')
    rows+=("$(printf '| %9s | %6s MiB (%s–%s, %s processes) | %6s MiB | %8s MiB | %6s MiB | %6s kB | %6s kB |' "$n" \
        "$(mib "$med")" "$(mib "$lo")" "$(mib "$hi")" "$nprocs" "$(mib "$med_nspawn")" "$(mib "$total")" "$(mib "$dn")" \
        "$per_inst" "$anon_inst")")
done

{
    echo "pgnspawn $commit, idle instances (host image), PSS after ${settle} s idle, $(date -u '+%Y-%m-%d %H:%M UTC'); daemon with none running: PSS $(mib "$d0") MiB ($d0 kB), Pss_Anon $a0 kB"
    echo
    echo "| instances | one instance's container, median (min–max)  | of which nspawn | all instances | daemon PSS | daemon PSS per instance | daemon Pss_Anon per instance |"
    echo "|-----------|---------------------------------------------|-----------------|---------------|------------|-------------------------|------------------------------|"
    printf '%s\n' "${rows[@]}"
} | tee "$build/bench-memory.txt"
passed=1
