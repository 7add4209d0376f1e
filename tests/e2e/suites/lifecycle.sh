# An instance's life: the first (cold) start, what a running instance offers, stop, a
# warm start that keeps the data, concurrent starts, a daemon restart that adopts the
# running container, and starts that fail fast with the reason. Runs first: t_start_cold
# needs an instance that has never started. Sourced by run.sh; leaves every instance
# stopped.

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
    local out; out=$(psql_at 127.0.0.1 5433 helloworld helloworld wrong 'select 1')
    expect_match "$out" "password authentication failed"
}

t_health_running() {
    expect_match "$(call HealthCheck s helloworld)" '^bst true "SELECT 1 succeeded" [0-9]+$'
}

t_start_idempotent() {
    local leader before after
    before=$(leader_of helloworld)
    call Start s helloworld >/dev/null || fail "second Start failed"
    after=$(leader_of helloworld)
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
    before=$(leader_of helloworld)
    pid_before=$(daemon_pid)
    H systemctl restart pgnspawnd || fail "restart failed"
    pid_after=$(daemon_pid)
    [ "$pid_before" != "$pid_after" ] || fail "the daemon did not restart"
    expect_eq "$(prop helloworld State)" 's "running"' "state after restart" || return 1
    after=$(leader_of helloworld)
    expect_eq "$after" "$before" "container leader PID" || return 1
    call Start s helloworld >/dev/null || fail "Start after adoption failed"
    expect_eq "$(leader_of helloworld)" "$before" "Start must not restart an adopted container" || return 1
    expect_match "$(call HealthCheck s helloworld)" '^bst true' && expect_eq "$(psql_hw 'select count(*) from kept')" 1000
}

t_adopted_stop_clean() {
    call Stop s helloworld >/dev/null || fail "Stop after adoption failed"
    H test ! -e /var/lib/pgnspawn/helloworld/data/postmaster.pid || fail "postmaster.pid left behind"
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
    expect_eq "$(psql_second 'select 1')" 1 || return 1
    call Stop s second >/dev/null
}

suite_tests+=(start_cold machine_registered get_address psql_as_configured_user wrong_password_refused
    health_running start_idempotent write_rows stop_clean stop_idempotent not_running_errors
    data_survives_restart concurrent_starts daemon_restart_adopts adopted_stop_clean port_taken_fails_fast
    container_failure_reports_log)
