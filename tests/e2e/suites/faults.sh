# Faults the daemon must survive without losing a row (issue 3). Sourced by run.sh.


# Polls (the test, not the daemon) until a property has a value; prints the wait in ms.
wait_prop() {
    local name=$1 property=$2 want=$3 limit_ms=${4:-10000} t0 now
    t0=$(now_ms)
    while :; do
        [ "$(prop "$name" "$property" 2>/dev/null)" = "$want" ] && { echo $(($(now_ms) - t0)); return 0; }
        now=$(now_ms)
        [ $((now - t0)) -lt "$limit_ms" ] || { echo "timeout"; return 1; }
        sleep 0.02
    done
}

t_kill9_daemon_keeps_sessions() {
    local leader pid_before pid_after restarts_before out
    call Start s helloworld >/dev/null || fail "Start failed"
    leader=$(leader_of helloworld)
    pid_before=$(daemon_pid)
    restarts_before=$(H systemctl show pgnspawnd -p NRestarts --value)
    # One psql session that spans the crash: it writes, waits, then writes again.
    H sh -c 'rm -f /tmp/session.out; (echo "create table if not exists survived(at text); insert into survived values ('"'"'before'"'"'); select '"'"'first'"'"';"; sleep 3; echo "insert into survived values ('"'"'after'"'"'); select count(*) from survived;") |
        PGPASSWORD=helloworld psql -h 127.0.0.1 -p 5433 -U helloworld -d helloworld -XAtq >/tmp/session.out 2>&1 & echo $! >/tmp/session.pid'
    sleep 1
    H kill -9 "$pid_before" || fail "kill -9 failed"
    # systemd restarts it (Restart=on-failure); wait for the new process to serve.
    pid_after=$(wait_daemon_restart "$pid_before") || fail "the daemon was not restarted"
    expect_eq "$(H systemctl show pgnspawnd -p NRestarts --value)" "$((restarts_before + 1))" "NRestarts" || return 1
    expect_eq "$(prop helloworld State)" 's "running"' "state after the restart" || return 1
    expect_eq "$(leader_of helloworld)" "$leader" "the container must not be restarted" || return 1
    expect_match "$(call HealthCheck s helloworld)" '^bst true' || return 1
    H sh -c 'while kill -0 $(cat /tmp/session.pid) 2>/dev/null; do sleep 0.1; done'
    out=$(H cat /tmp/session.out)
    expect_eq "$out" "$(printf 'first\n2')" "the psql session across the crash" || return 1
    psql_hw 'drop table survived' >/dev/null
    call Stop s helloworld >/dev/null || fail "Stop failed"
    echo "restarted as PID $pid_after"
}

t_postmaster_killed_fails_fast() {
    local leader waited sig health
    call Start s helloworld >/dev/null || fail "Start failed"
    expect_eq "$(psql_hw 'create table crash(id int); insert into crash select generate_series(1, 5000); select count(*) from crash')" 5000 || return 1
    H sh -c 'timeout 20 dbus-monitor --system "type=signal,sender=org.pgnspawn1" > /tmp/crash-signals.txt 2>&1 & echo $! > /tmp/crash-monitor.pid'
    sleep 0.5
    leader=$(leader_of helloworld)
    [ -n "$leader" ] || fail "no container leader"
    H kill -9 "$leader"
    waited=$(wait_prop helloworld State 's "failed"' 5000) || fail "the instance did not become failed: $(prop helloworld State)"
    [ "$waited" -lt 1000 ] || fail "state failed only after $waited ms"
    sleep 0.3
    H sh -c 'kill $(cat /tmp/crash-monitor.pid)' 2>/dev/null
    sig=$(H cat /tmp/crash-signals.txt)
    expect_match "$sig" 'member=StateChanged' && expect_match "$sig" 'string "failed"' &&
        expect_match "$sig" 'member=PropertiesChanged' || return 1
    health=$(call HealthCheck s helloworld)
    expect_match "$health" '^bst false "instance helloworld is failed: the container stopped unexpectedly' || return 1
    expect_match "$(prop helloworld LastError)" "stopped unexpectedly" || return 1
    expect_no_match "$(H machinectl list --no-legend)" "pgnspawn-helloworld" || return 1
    call Start s helloworld >/dev/null || fail "Start after the crash failed"
    expect_eq "$(psql_hw 'select count(*) from crash')" 5000 "committed rows after crash recovery" || return 1
    psql_hw 'drop table crash' >/dev/null
    call Stop s helloworld >/dev/null || fail "Stop failed"
    echo "failed after ${waited} ms"
}

t_twenty_concurrent_starts() {
    local before after i
    call Stop s helloworld >/dev/null
    before=$(H journalctl -u pgnspawn-helloworld.service -o cat --no-pager | grep -c 'starting PostgreSQL')
    H sh -c 'for i in $(seq 1 20); do busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Start s helloworld > /tmp/start20.$i 2>&1 & done; wait'
    for i in $(seq 1 20); do
        expect_eq "$(H cat /tmp/start20.$i)" "" "Start #$i" || return 1
    done
    after=$(H journalctl -u pgnspawn-helloworld.service -o cat --no-pager | grep -c 'starting PostgreSQL')
    expect_eq "$(H machinectl list --no-legend | grep -c pgnspawn-helloworld)" 1 "machines" &&
        expect_eq "$((after - before))" 1 "PostgreSQL starts for 20 Start calls" &&
        expect_eq "$(prop helloworld State)" 's "running"' || return 1
    call Stop s helloworld >/dev/null || fail "Stop failed"
}

t_start_races_stop() {
    local round state machines
    for round in 1 2 3 4 5 6; do
        # Both orders, with the second call arriving while the first is under way.
        if [ $((round % 2)) = 1 ]; then
            H sh -c 'busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Start s helloworld >/tmp/race.a 2>&1 & sleep 0.0$((RANDOM % 9)); busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Stop s helloworld >/tmp/race.b 2>&1 & wait'
        else
            H sh -c 'busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Stop s helloworld >/tmp/race.a 2>&1 & busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Start s helloworld >/tmp/race.b 2>&1 & wait'
        fi
        expect_eq "$(H cat /tmp/race.a /tmp/race.b)" "" "round $round: both calls succeed" || return 1
        state=$(prop helloworld State)
        machines=$(H machinectl list --no-legend | grep -c pgnspawn-helloworld)
        case "$state" in
            's "running"') expect_eq "$machines" 1 "round $round: running needs its machine" || return 1
                           expect_match "$(call HealthCheck s helloworld)" '^bst true' || return 1 ;;
            's "stopped"') expect_eq "$machines" 0 "round $round: stopped leaves no machine" || return 1
                           H test ! -e /var/lib/pgnspawn/helloworld/data/postmaster.pid || fail "round $round: postmaster.pid left" ;;
            *) fail "round $round: inconsistent state $state" ;;
        esac
    done
    call Stop s helloworld >/dev/null || fail "Stop failed"
    expect_eq "$(H machinectl list --no-legend | grep -c pgnspawn-)" 0 "orphan machines"
}

t_stale_unit_cleaned() {
    # A unit of the instance's name that the daemon does not know of, as a crash mid-start
    # could leave: Start stops it instead of failing with "Unit already exists".
    H systemd-run --quiet --unit=pgnspawn-second.service sleep 600 || fail "cannot make the stale unit"
    call Start s second >/dev/null || fail "Start with a stale unit failed"
    expect_eq "$(psql_second 'select 1')" 1 || return 1
    expect_no_match "$(H ps -eo args)" '^sleep 600' || return 1
    expect_match "$(H journalctl -u pgnspawnd -o cat --no-pager)" "Stopping leftover unit pgnspawn-second.service" || return 1
    call Stop s second >/dev/null || fail "Stop failed"
}

t_stale_machine_cleaned() {
    # A machine registration left behind under the instance's machine name.
    local leader
    H systemd-run --quiet --unit=pgnspawn-test-stale-leader.service sleep 600 || fail "cannot start the stale leader"
    leader=$(H systemctl show pgnspawn-test-stale-leader.service -p MainPID --value)
    H busctl call org.freedesktop.machine1 /org/freedesktop/machine1 org.freedesktop.machine1.Manager \
        RegisterMachine sayssus pgnspawn-second 0 pgnspawn-test container "$leader" "" >/dev/null || fail "cannot register the stale machine"
    expect_match "$(H machinectl list --no-legend)" "^pgnspawn-second +container +pgnspawn-test" || return 1
    call Start s second >/dev/null || fail "Start with a stale machine failed"
    expect_match "$(H machinectl list --no-legend)" "^pgnspawn-second +container +systemd-nspawn" || return 1
    expect_eq "$(H systemctl is-active pgnspawn-test-stale-leader.service)" inactive "the stale machine's unit" || return 1
    expect_eq "$(psql_second 'select 1')" 1 || return 1
    call Stop s second >/dev/null || fail "Stop failed"
}

suite_tests+=(kill9_daemon_keeps_sessions postmaster_killed_fails_fast twenty_concurrent_starts start_races_stop
              stale_unit_cleaned stale_machine_cleaned)
