#!/usr/bin/env bash
# End-to-end tests of pgnspawn in a booted systemd test host (see tests/testhost.sh).
#
#   tests/e2e/run.sh BUILDDIR
#
# Boots a fresh copy of the cached test host with BUILDDIR installed into it and
# /etc/pgnspawn taken from tests/e2e/etc, drives it with busctl, dbus-send, psql and
# pgnspawnctl through nsenter, and powers it off at the end. Prints one line per test
# ("ok - NAME" / "not ok - NAME: why") and a final "e2e: N passed, M failed".
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

H() { bash "$testhost" exec "$@"; }
call() { H busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager "$@"; }
# dbus-send shows the error *name*, which busctl does not.
dsend() { H dbus-send --system --print-reply --reply-timeout=600000 --dest=org.pgnspawn1 /org/pgnspawn1 "org.pgnspawn1.Manager.$1" "${@:2}" 2>&1; }
psql_hw() { H env PGPASSWORD=helloworld psql -h 127.0.0.1 -p 5433 -U helloworld -d helloworld -XAtqc "$1" 2>&1; }
prop() { H busctl get-property org.pgnspawn1 "/org/pgnspawn1/instance/$1" org.pgnspawn1.Instance "$2"; }
now_ms() { date +%s%3N; }

# Each test runs in a subshell: fail ends the test there and then (so "cmd || fail ..."
# cannot be followed by checks that pass and hide it). The expect_* functions only
# report, returning 1, so that a test can clean up before it gives up.
fail() { echo "$*"; exit 1; }
mismatch() { echo "$*"; return 1; }
expect_eq() { [ "$1" = "$2" ] || mismatch "expected [$2], got [$1]${3:+ ($3)}"; }
expect_match() { printf '%s' "$1" | grep -Eq -- "$2" || mismatch "expected output matching /$2/, got [$1]"; }
expect_no_match() { ! printf '%s' "$1" | grep -Eq -- "$2" || mismatch "output must not match /$2/: [$1]"; }

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

# ---------------------------------------------------------------------------------------

t_introspect() {
    local m i
    m=$(H busctl introspect org.pgnspawn1 /org/pgnspawn1) || fail "introspect failed"
    for x in Start Stop GetAddress HealthCheck ListInstances GetConnectionUri StateChanged \
             org.freedesktop.DBus.Properties org.freedesktop.DBus.Peer org.freedesktop.DBus.Introspectable; do
        expect_match "$m" "$x" || return 1
    done
    i=$(H busctl introspect org.pgnspawn1 /org/pgnspawn1/instance/helloworld org.pgnspawn1.Instance) || fail "no instance object"
    for x in Name State Port Database User Image Unit Machine; do expect_match "$i" "\\.$x " || return 1; done
}

t_check_config_good() {
    local out; out=$(H pgnspawnd --check-config) || fail "check-config failed: $out"
    expect_match "$out" "OK, 2 instance"
}

t_check_config_bad() {
    local out rc
    H sh -c 'printf "[instances.x]\nport = 1\npasword = \"typo\"\n" > /tmp/bad.toml'
    out=$(H pgnspawnd --check-config --config /tmp/bad.toml 2>&1); rc=$?
    expect_eq "$rc" 1 "exit status" && expect_match "$out" '^/tmp/bad.toml:3:1: unknown key "pasword"'
}

t_start_cold() {
    local t0 t1
    H test ! -e /var/lib/pgnspawn/helloworld/data || fail "state exists before the first start"
    t0=$(now_ms); call Start s helloworld >/dev/null || fail "Start failed"; t1=$(now_ms)
    expect_eq "$(prop helloworld State)" 's "running"' && echo "cold start incl. D-Bus activation and initdb: $((t1 - t0)) ms"
}

t_machine_registered() {
    local out; out=$(H machinectl list --no-legend)
    expect_match "$out" '^pgnspawn-helloworld +container +systemd-nspawn'
}

t_get_address() { expect_eq "$(call GetAddress s helloworld)" 'sq "127.0.0.1" 5433'; }

t_psql_as_configured_user() {
    expect_eq "$(psql_hw 'select current_user, current_database()')" "helloworld|helloworld"
}

t_wrong_password_refused() {
    local out; out=$(H env PGPASSWORD=wrong psql -h 127.0.0.1 -p 5433 -U helloworld -d helloworld -XAtqc 'select 1' 2>&1)
    expect_match "$out" "password authentication failed"
}

t_health_running() {
    expect_match "$(call HealthCheck s helloworld)" '^bst true "SELECT 1 succeeded" [0-9]+$'
}

t_properties() {
    expect_eq "$(prop helloworld Port)" "q 5433" && expect_eq "$(prop helloworld Database)" 's "helloworld"' &&
    expect_eq "$(prop helloworld User)" 's "helloworld"' && expect_eq "$(prop helloworld Image)" 's "host"' &&
    expect_eq "$(prop helloworld Unit)" 's "pgnspawn-helloworld.service"' &&
    expect_eq "$(prop helloworld Machine)" 's "pgnspawn-helloworld"' &&
    expect_no_match "$(H busctl introspect org.pgnspawn1 /org/pgnspawn1/instance/helloworld)" "helloworld\" *$|password"
}

t_list_instances() {
    expect_eq "$(call ListInstances)" \
        'a(sso) 2 "helloworld" "running" "/org/pgnspawn1/instance/helloworld" "second" "stopped" "/org/pgnspawn1/instance/second"'
}

t_connection_uri() {
    local uri; uri=$(call GetConnectionUri s helloworld)
    expect_eq "$uri" 's "postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld"' || return 1
    uri=${uri#s \"}; uri=${uri%\"}
    expect_eq "$(H psql "$uri" -XAtqc 'select 42')" 42
}

t_start_idempotent() {
    local leader before after
    before=$(H machinectl show pgnspawn-helloworld -p Leader --value)
    call Start s helloworld >/dev/null || fail "second Start failed"
    after=$(H machinectl show pgnspawn-helloworld -p Leader --value)
    expect_eq "$after" "$before" "the container must not be restarted"
}

t_write_rows() {
    expect_eq "$(psql_hw 'create table kept(id int primary key, note text); insert into kept select g, md5(g::text) from generate_series(1,1000) g; select count(*) from kept')" 1000
}

t_stop_clean() {
    local mon log
    # Watch the signals an IDE plugin would see, while stopping.
    H sh -c 'timeout 15 dbus-monitor --system "type=signal,sender=org.pgnspawn1" > /tmp/signals.txt 2>&1 & echo $! > /tmp/monitor.pid'
    sleep 0.5
    call Stop s helloworld >/dev/null || fail "Stop failed"
    expect_eq "$(prop helloworld State)" 's "stopped"' || return 1
    expect_no_match "$(H machinectl list --no-legend)" "pgnspawn-helloworld" || return 1
    H test ! -e /var/lib/pgnspawn/helloworld/data/postmaster.pid || fail "postmaster.pid left behind"
    log=$(H journalctl -u pgnspawn-helloworld.service --no-pager -o cat -n 20)
    expect_match "$log" "database system is shut down" || return 1
    H sh -c 'kill $(cat /tmp/monitor.pid)' 2>/dev/null
    local sig; sig=$(H cat /tmp/signals.txt)
    expect_match "$sig" 'member=StateChanged' && expect_match "$sig" 'string "stopping"' &&
    expect_match "$sig" 'member=PropertiesChanged' && expect_match "$sig" 'string "stopped"'
}

t_stop_idempotent() { call Stop s helloworld >/dev/null || fail "Stop of a stopped instance failed"; }

t_not_running_errors() {
    local out; out=$(dsend GetAddress string:helloworld)
    expect_match "$out" "^Error org.pgnspawn1.Error.NotRunning: instance helloworld is not running" || return 1
    expect_match "$(call HealthCheck s helloworld)" '^bst false "instance helloworld is stopped'
}

t_data_survives_restart() {
    local t0 t1
    t0=$(now_ms); call Start s helloworld >/dev/null || fail "Start failed"; t1=$(now_ms)
    expect_eq "$(psql_hw 'select count(*), sum(id) from kept')" "1000|500500" || return 1
    local log; log=$(H journalctl -u pgnspawn-helloworld.service --no-pager -o cat -n 30)
    expect_no_match "$log" "not properly shut down|automatic recovery in progress|redo starts" || return 1
    expect_match "$log" "database system was shut down at" && echo "warm start: $((t1 - t0)) ms"
}

t_concurrent_starts() {
    call Stop s helloworld >/dev/null || fail "Stop failed"
    H sh -c 'for i in 1 2 3 4 5 6 7 8; do busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Start s helloworld > /tmp/start.$i 2>&1 & done; wait' || true
    local i; for i in 1 2 3 4 5 6 7 8; do
        expect_eq "$(H cat /tmp/start.$i)" "" "Start #$i" || return 1
    done
    expect_eq "$(H machinectl list --no-legend | grep -c pgnspawn-helloworld)" 1 "machines" &&
    expect_eq "$(H journalctl -u pgnspawn-helloworld.service -o cat --no-pager | grep -c 'starting PostgreSQL')" 3 "PostgreSQL starts so far"
}

t_daemon_restart_adopts() {
    local before after pid_before pid_after
    before=$(H machinectl show pgnspawn-helloworld -p Leader --value)
    pid_before=$(H systemctl show pgnspawnd -p MainPID --value)
    H systemctl restart pgnspawnd || fail "restart failed"
    pid_after=$(H systemctl show pgnspawnd -p MainPID --value)
    [ "$pid_before" != "$pid_after" ] || fail "the daemon did not restart"
    expect_eq "$(prop helloworld State)" 's "running"' "state after restart" || return 1
    after=$(H machinectl show pgnspawn-helloworld -p Leader --value)
    expect_eq "$after" "$before" "container leader PID" || return 1
    call Start s helloworld >/dev/null || fail "Start after adoption failed"
    expect_eq "$(H machinectl show pgnspawn-helloworld -p Leader --value)" "$before" "Start must not restart an adopted container" || return 1
    expect_match "$(call HealthCheck s helloworld)" '^bst true' && expect_eq "$(psql_hw 'select count(*) from kept')" 1000
}

t_adopted_stop_clean() {
    call Stop s helloworld >/dev/null || fail "Stop after adoption failed"
    H test ! -e /var/lib/pgnspawn/helloworld/data/postmaster.pid || fail "postmaster.pid left behind"
}

t_bad_names() {
    local out name long
    long=$(head -c 10240 /dev/zero | tr '\0' a)
    for name in "" "../etc" "a/b" ".." "$long" "helloworld/../second" "HELLO WORLD" "pgnspawn-testhost"; do
        for m in Start Stop GetAddress HealthCheck GetConnectionUri; do
            out=$(dsend "$m" "string:$name")
            expect_match "$out" '^Error (org.freedesktop.DBus.Error.InvalidArgs|org.pgnspawn1.Error.NoSuchInstance): ' || return 1
        done
    done
    out=$(dsend Start string:nosuch)
    expect_match "$out" '^Error org.pgnspawn1.Error.NoSuchInstance: no instance named "nosuch"' || return 1
    out=$(dsend Start int32:5)
    expect_match "$out" '^Error org.freedesktop.DBus.Error.InvalidArgs' || return 1
    H test ! -e /var/lib/pgnspawn/etc -a ! -e /var/lib/etc || fail "a path was built from a bad name"
    expect_eq "$(H systemctl show pgnspawnd -p NRestarts --value)" 0 "daemon restarts"
}

t_password_file_instance() {
    call Start s second >/dev/null || fail "Start second failed"
    local out
    out=$(H env 'PGPASSWORD=S3cond p@ss:w/rd%' psql -h 127.0.0.1 -p 5434 -U app -d appdb -XAtqc 'select current_user')
    expect_eq "$out" app || return 1
    local uri; uri=$(call GetConnectionUri s second); uri=${uri#s \"}; uri=${uri%\"}
    expect_eq "$uri" "postgresql://app:S3cond%20p%40ss%3Aw%2Frd%25@127.0.0.1:5434/appdb" || return 1
    expect_eq "$(H psql "$uri" -XAtqc 'select current_database()')" appdb || return 1
    call Stop s second >/dev/null || fail "Stop second failed"
}

t_no_password_in_logs_or_argv() {
    call Start s second >/dev/null || fail "Start second failed"
    local ps; ps=$(H ps -eo args)
    expect_no_match "$ps" 'S3cond|p@ss' || return 1
    expect_no_match "$(H journalctl -b --no-pager -o cat)" 'S3cond|p@ss' || return 1
    call Stop s second >/dev/null
}

t_client() {
    local out rc
    out=$(H pgnspawnctl list) && expect_match "$out" "helloworld +running" || return 1
    out=$(H pgnspawnctl address helloworld) && expect_eq "$out" "127.0.0.1 5433" || return 1
    out=$(H pgnspawnctl health helloworld) && expect_match "$out" "^healthy" || return 1
    out=$(H pgnspawnctl health second); rc=$?
    expect_eq "$rc" 3 "health of a stopped instance" || return 1
    out=$(H pgnspawnctl address nosuch 2>&1); rc=$?
    expect_eq "$rc" 1 && expect_match "$out" '^pgnspawnctl: .*no instance named "nosuch"' || return 1
    out=$(H pgnspawnctl frobnicate 2>&1); rc=$?
    expect_eq "$rc" 2 "usage error" || return 1
    # Unprivileged callers reach the daemon through the policy's allow-list.
    out=$(H setpriv --reuid=nobody --regid=nogroup --clear-groups pgnspawnctl list) &&
        expect_match "$out" "helloworld +running"
}

t_unprivileged_limits() {
    local out nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
    out=$(H $nobody busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager GetAddress s helloworld) &&
        expect_eq "$out" 'sq "127.0.0.1" 5433' || return 1
    for m in "Start s second" "Stop s helloworld" "GetConnectionUri s helloworld"; do
        out=$(H $nobody dbus-send --system --print-reply --dest=org.pgnspawn1 /org/pgnspawn1 \
              "org.pgnspawn1.Manager.${m%% *}" "string:${m##* }" 2>&1)
        expect_match "$out" "^Error org.freedesktop.DBus.Error.AccessDenied" || return 1
    done
    expect_eq "$(prop second State)" 's "stopped"' && expect_eq "$(prop helloworld State)" 's "running"'
}

t_idle_no_wakeups() {
    # An idle daemon with a running instance must not wake up at all.
    local pid a b
    pid=$(H systemctl show pgnspawnd -p MainPID --value)
    a=$(H grep ctxt_switches "/proc/$pid/status" | awk '{s += $2} END {print s}')
    sleep 3
    b=$(H grep ctxt_switches "/proc/$pid/status" | awk '{s += $2} END {print s}')
    expect_eq "$b" "$a" "context switches of pgnspawnd over 3 s idle" || return 1
    # One event loop, no helper threads.
    expect_eq "$(H awk '/^Threads:/ {print $2}' "/proc/$pid/status")" 1 "threads"
}

t_port_taken_fails_fast() {
    local out t0 t1 holder
    holder=$(H sh -c 'perl -MIO::Socket::INET -e "my \$s = IO::Socket::INET->new(LocalAddr => q(127.0.0.1), LocalPort => 5434, Listen => 1, ReuseAddr => 1) or die; sleep 60" >/dev/null 2>&1 & echo $!')
    sleep 0.3
    t0=$(now_ms); out=$(dsend Start string:second); t1=$(now_ms)
    H kill "$holder"
    expect_match "$out" "^Error org.pgnspawn1.Error.StartFailed: Failed to start instance second: port 5434 on 127.0.0.1 is already in use by another process" || return 1
    expect_eq "$(prop second State)" 's "failed"' || return 1
    expect_match "$(prop second LastError)" "port 5434" || return 1
    expect_no_match "$(H machinectl list --no-legend)" "pgnspawn-second" || return 1
    call Start s second >/dev/null || fail "Start after the port was freed failed"
    call Stop s second >/dev/null
    echo "failed after $((t1 - t0)) ms"
}

t_container_failure_reports_log() {
    local out
    H mv /var/lib/pgnspawn/second/data/postgresql.conf /var/lib/pgnspawn/second/postgresql.conf.away
    out=$(dsend Start string:second)
    H mv /var/lib/pgnspawn/second/postgresql.conf.away /var/lib/pgnspawn/second/data/postgresql.conf
    expect_match "$out" "^Error org.pgnspawn1.Error.StartFailed: Failed to start instance second: .*Last log lines: .*postgresql.conf" || return 1
    expect_eq "$(prop second State)" 's "failed"' || return 1
    expect_no_match "$(H machinectl list --no-legend)" "pgnspawn-second" || return 1
    call Start s second >/dev/null || fail "Start after repair failed"
    expect_eq "$(H env 'PGPASSWORD=S3cond p@ss:w/rd%' psql -h 127.0.0.1 -p 5434 -U app -d appdb -XAtqc 'select 1')" 1 || return 1
    call Stop s second >/dev/null
}

# ---------------------------------------------------------------------------------------

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

core_tests=(introspect check_config_good check_config_bad start_cold machine_registered get_address
    psql_as_configured_user wrong_password_refused health_running properties list_instances
    connection_uri start_idempotent write_rows stop_clean stop_idempotent not_running_errors
    data_survives_restart concurrent_starts daemon_restart_adopts adopted_stop_clean bad_names
    password_file_instance no_password_in_logs_or_argv port_taken_fails_fast
    container_failure_reports_log)
for t in "${core_tests[@]}"; do run "$t"; done

# Further suites: tests/e2e/suites/*.sh define t_* functions and append their names to
# suite_tests, in the order they must run. Each leaves every instance stopped.
# E2E_SUITES="polkit faults" runs only those suites (for development; CI runs all).
suite_tests=()
for suite in "$here"/suites/*.sh; do
    [ -e "$suite" ] || continue
    if [ -n "${E2E_SUITES:-}" ] && [[ " $E2E_SUITES " != *" $(basename "$suite" .sh) "* ]]; then continue; fi
    # shellcheck source=/dev/null
    source "$suite"
done
for t in "${suite_tests[@]}"; do run "$t"; done

call Start s helloworld >/dev/null 2>&1
for t in client unprivileged_limits idle_no_wakeups; do run "$t"; done
for t in "${final_tests[@]}"; do run "$t"; done

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
