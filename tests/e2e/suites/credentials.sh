# Credentials: the connection URI (percent-encoded) works with psql, a password read from
# password_file, and no password in any process's argv or in the journal. Sourced by
# run.sh; leaves every instance stopped.

t_connection_uri() {
    local uri
    call Start s helloworld >/dev/null || fail "Start failed"
    uri=$(call GetConnectionUri s helloworld)
    expect_eq "$uri" 's "postgresql://helloworld:helloworld@127.0.0.1:5433/helloworld"' || return 1
    uri=${uri#s \"}; uri=${uri%\"}
    local answer; answer=$(H psql "$uri" -XAtqc 'select 42' 2>&1)
    call Stop s helloworld >/dev/null || fail "Stop failed"
    expect_eq "$answer" 42
}

t_password_file_instance() {
    call Start s second >/dev/null || fail "Start second failed"
    local out
    out=$(psql_second 'select current_user')
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

suite_tests+=(connection_uri password_file_instance no_password_in_logs_or_argv)
