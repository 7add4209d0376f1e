# A warm start writes nothing when the role, its password and the database are as
# configured: the round trip as the user comes first, and the role and database are
# provisioned again only when it fails (issue 5: warm start speed). Uses instance
# "second" (user app, database appdb, password in /etc/pgnspawn/second.pass).
# Sourced by run.sh.

prov_pass() { H cat /etc/pgnspawn/second.pass; }
prov_su() { H psql -h /var/lib/pgnspawn/second/run -p 5434 -U postgres -d postgres -XAtqc "$1" 2>&1; }
prov_as_app() { psql_at 127.0.0.1 5434 app appdb "$1" "$2"; }
prov_verifier() { prov_su "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'"; }
prov_reprovisioned() { H journalctl -u pgnspawnd -o cat --no-pager --since "@$1" | grep -c 'Provisioning the role and database of instance second again'; }
# A start of "second" from stopped, returning the epoch second it began (for --since).
prov_restart() {
    call Stop s second >/dev/null || fail "Stop of second failed"
    sleep 1  # journalctl --since has a resolution of one second
    prov_t=$(date +%s)
    call Start s second >/dev/null || fail "Start of second failed"
}

t_warm_start_writes_nothing() {
    local v1 v2 out
    call Start s second >/dev/null || fail "Start of second failed"
    v1=$(prov_verifier)
    expect_match "$v1" '^SCRAM-SHA-256\$4096:' || return 1
    prov_restart
    v2=$(prov_verifier)
    # A new ALTER ROLE ... PASSWORD would have a new random salt, so an equal verifier
    # means the role was not written.
    expect_eq "$v2" "$v1" "the role's SCRAM verifier after a warm start" || return 1
    expect_eq "$(prov_reprovisioned "$prov_t")" 0 "re-provisioning logged" || return 1
    expect_eq "$(prop second Phase)" 's "ready"' || return 1
    out=$(prov_as_app "$(prov_pass)" 'select 1') && expect_eq "$out" 1 "psql as app"
}

t_warm_start_restores_changed_password() {
    local out v1 v2
    call Start s second >/dev/null || fail "Start of second failed"
    out=$(prov_su "ALTER ROLE app PASSWORD 'changed-in-the-database'") || fail "ALTER ROLE failed: $out"
    v1=$(prov_verifier)
    prov_restart
    v2=$(prov_verifier)
    expect_eq "$(prov_reprovisioned "$prov_t")" 1 "re-provisioning logged once" || return 1
    [ "$v1" != "$v2" ] || fail "the verifier was not rewritten"
    out=$(prov_as_app "$(prov_pass)" 'select 1') && expect_eq "$out" 1 "configured password works again" || return 1
    out=$(prov_as_app changed-in-the-database 'select 1')
    expect_match "$out" 'password authentication failed' || return 1
    # The log names the failed round trip, never a password.
    expect_no_match "$(H journalctl -u pgnspawnd -o cat --no-pager --since "@$prov_t")" "changed-in-the-database|$(prov_pass)"
}

t_warm_start_recreates_dropped_database() {
    local out
    call Start s second >/dev/null || fail "Start of second failed"
    out=$(prov_su 'DROP DATABASE appdb WITH (FORCE)') || fail "DROP DATABASE failed: $out"
    prov_restart
    expect_eq "$(prov_reprovisioned "$prov_t")" 1 "re-provisioning logged once" || return 1
    expect_eq "$(prov_su "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'")" app \
        "appdb exists again, owned by app" || return 1
    out=$(prov_as_app "$(prov_pass)" 'select current_database()') && expect_eq "$out" appdb
}

t_warm_start_follows_new_password_file() {
    local old new='N3w second pass' out
    old=$(prov_pass)
    call Stop s second >/dev/null || fail "Stop of second failed"
    H sh -c "printf '%s\n' '$new' > /etc/pgnspawn/second.pass" || fail "cannot write second.pass"
    H systemctl reload pgnspawnd || fail "reload failed"
    sleep 1
    prov_t=$(date +%s)
    call Start s second >/dev/null || fail "Start with the new password failed"
    local reprov; reprov=$(prov_reprovisioned "$prov_t")
    local new_ok; new_ok=$(prov_as_app "$new" 'select 1')
    local old_out; old_out=$(prov_as_app "$old" 'select 1')
    # Put the old password back for the suites that follow.
    call Stop s second >/dev/null
    H sh -c "printf '%s\n' '$old' > /etc/pgnspawn/second.pass"
    H systemctl reload pgnspawnd; sleep 1
    call Start s second >/dev/null || fail "Start with the old password again failed"
    out=$(prov_as_app "$old" 'select 1')
    call Stop s second >/dev/null
    expect_eq "$reprov" 1 "re-provisioning logged once" && expect_eq "$new_ok" 1 "new password" &&
        expect_match "$old_out" 'password authentication failed' && expect_eq "$out" 1 "old password restored"
}

suite_tests+=(warm_start_writes_nothing warm_start_restores_changed_password warm_start_recreates_dropped_database
              warm_start_follows_new_password_file)
