# First starts take a spare cluster that the daemon initialised ahead of time, instead of
# running initdb on the critical path (issue 5). Sourced by run.sh.

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
    # Earlier starts have made a spare by now (it is made after any start, once).
    wait_journal_count "A spare PostgreSQL 15 cluster is ready" 1 || fail "no spare cluster was ever made"
    H test -f /var/lib/pgnspawn/.spare-15/PG_VERSION || fail "no /var/lib/pgnspawn/.spare-15"
    expect_eq "$(H stat -c '%U %a' /var/lib/pgnspawn/.spare-15)" "postgres 700" "spare owner and mode" || return 1
    ready_before=$(H journalctl -u pgnspawnd -o cat --no-pager | grep -c "A spare PostgreSQL 15 cluster is ready")
    took_before=$(H journalctl -u pgnspawnd -o cat --no-pager | grep -c "Took the spare PostgreSQL 15 cluster for instance second")
    call Stop s second >/dev/null
    H rm -rf /var/lib/pgnspawn/second
    t0=$(now_ms); call Start s second >/dev/null || fail "first Start of second failed"; t1=$(now_ms)
    expect_eq "$(H journalctl -u pgnspawnd -o cat --no-pager | grep -c "Took the spare PostgreSQL 15 cluster for instance second")" \
        "$((took_before + 1))" "spare taken" || return 1
    expect_eq "$(H env 'PGPASSWORD=S3cond p@ss:w/rd%' psql -h 127.0.0.1 -p 5434 -U app -d appdb -XAtqc \
        'create table t(x int); insert into t values (1); select count(*) from t')" 1 || return 1
    # ...and a new spare is made for the next one.
    wait_journal_count "A spare PostgreSQL 15 cluster is ready" "$((ready_before + 1))" || fail "no new spare after the first start"
    H test -f /var/lib/pgnspawn/.spare-15/PG_VERSION || fail "the new spare is not there"
    call Stop s second >/dev/null || fail "Stop failed"
    echo "first start from a spare: $((t1 - t0)) ms"
}

suite_tests+=(first_start_takes_spare_cluster)
