# First starts take a spare cluster that the daemon initialised ahead of time, instead of
# running initdb on the critical path. Sourced by run.sh.

wait_journal_count() {  # wait_journal_count PATTERN N: until the daemon logged PATTERN N times (30 s)
    local i
    for i in $(seq 1 300); do
        [ "$(H journalctl -u pgnspawnd -o cat --no-pager | grep -c -- "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

t_first_start_takes_spare_cluster() {
    local ready_before took_before t0 t1
    # A spare is made 3 s after the last start, when missing. The suite before this one may
    # have taken it and restarted the daemon within those 3 s (a restart makes none): then
    # one start of an initialised instance asks for it, as a user's next start would.
    if ! H test -f /var/lib/pgnspawn/.spare-15/PG_VERSION; then
        call Start s helloworld >/dev/null && call Stop s helloworld >/dev/null || fail "Start/Stop helloworld failed"
    fi
    local i; for i in $(seq 1 300); do
        H test -f /var/lib/pgnspawn/.spare-15/PG_VERSION && break
        sleep 0.1
    done
    H test -f /var/lib/pgnspawn/.spare-15/PG_VERSION || fail "no /var/lib/pgnspawn/.spare-15 within 30 s"
    expect_eq "$(H stat -c '%U %a' /var/lib/pgnspawn/.spare-15)" "postgres 700" "spare owner and mode" || return 1
    ready_before=$(H journalctl -u pgnspawnd -o cat --no-pager | grep -c "A spare PostgreSQL 15 cluster is ready")
    took_before=$(H journalctl -u pgnspawnd -o cat --no-pager | grep -c "Took the spare PostgreSQL 15 cluster for instance second")
    call Stop s second >/dev/null
    H rm -rf /var/lib/pgnspawn/second
    t0=$(now_ms); call Start s second >/dev/null || fail "first Start of second failed"; t1=$(now_ms)
    expect_eq "$(H journalctl -u pgnspawnd -o cat --no-pager | grep -c "Took the spare PostgreSQL 15 cluster for instance second")" \
        "$((took_before + 1))" "spare taken" || return 1
    expect_eq "$(psql_second 'create table t(x int); insert into t values (1); select count(*) from t')" 1 || return 1
    # ...and a new spare is made for the next one.
    wait_journal_count "A spare PostgreSQL 15 cluster is ready" "$((ready_before + 1))" || fail "no new spare after the first start"
    H test -f /var/lib/pgnspawn/.spare-15/PG_VERSION || fail "the new spare is not there"
    call Stop s second >/dev/null || fail "Stop failed"
    echo "first start from a spare: $((t1 - t0)) ms"
}

# The spare is made a moment after the last start, not during a restart that follows; and
# if the daemon dies while its initdb runs, the initdb dies with it (KillMode=control-group)
# instead of writing on into .spare-15.new while the next attempt starts over there.
t_spare_initdb_dies_with_the_daemon() {
    local i seen=0 pid_before pid_after ready_before t_start
    ready_before=$(H journalctl -u pgnspawnd -o cat --no-pager | grep -c "A spare PostgreSQL 15 cluster is ready")
    call Stop s helloworld >/dev/null || fail "Stop failed"
    H rm -rf /var/lib/pgnspawn/.spare-15
    t_start=$(now_ms)
    call Start s helloworld >/dev/null || fail "Start failed"
    # Not at once: the spare waits for a quiet moment after the start.
    H pgrep -x initdb >/dev/null && fail "a spare initdb ran right after the start"
    for i in $(seq 1 200); do
        H pgrep -x initdb >/dev/null && { seen=1; break; }
        sleep 0.05
    done
    [ "$seen" = 1 ] || fail "no spare initdb within 10 s of the start"
    local waited=$(( $(now_ms) - t_start ))
    pid_before=$(daemon_pid)
    H kill -9 "$pid_before" || fail "kill -9 failed"
    pid_after=$(wait_daemon_restart "$pid_before") || fail "the daemon was not restarted"
    local left; left=$(H pgrep -a 'initdb|postgres' | grep -v -- '-D /var/lib/postgresql/data' | grep -v 'postgres: ')
    expect_eq "$left" "" "initdb or its postgres left running after the daemon died" || return 1
    expect_eq "$(H ls -d /var/lib/pgnspawn/.spare-15 2>/dev/null)" "" "a spare from the killed initdb" || return 1
    # The instance was re-adopted; the next start (after a stop) makes a whole spare.
    expect_eq "$(prop helloworld State)" 's "running"' || return 1
    call Stop s helloworld >/dev/null && call Start s helloworld >/dev/null || fail "stop/start after the restart failed"
    wait_journal_count "A spare PostgreSQL 15 cluster is ready" "$((ready_before + 1))" || fail "no spare after the restart"
    H test -f /var/lib/pgnspawn/.spare-15/PG_VERSION || fail "the new spare is not there"
    call Stop s helloworld >/dev/null
    echo "spare initdb began ${waited} ms after the start"
}

suite_tests+=(first_start_takes_spare_cluster spare_initdb_dies_with_the_daemon)
