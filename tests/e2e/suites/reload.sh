# Configuration reload (systemctl reload pgnspawnd, i.e. SIGHUP; issue 3): new instances
# appear, removed ones disappear only once stopped, a running container is never
# restarted, and a broken file is refused with FILE:LINE:COLUMN while the old
# configuration keeps serving. Sourced by run.sh; restores /etc/pgnspawn/pgnspawn.toml
# and leaves every instance stopped.

reload_conf=/etc/pgnspawn/pgnspawn.toml
reload_third_password='Th1rd-reload-pw'

# The e2e configuration without "second", plus "third" (inline password).
reload_third_toml() {
    cat <<EOF
[instances.helloworld]
image = "host"
port = 5433
database = "helloworld"
user = "helloworld"
password = "helloworld"

[instances.third]
port = 5435
password = "$reload_third_password"
EOF
}

reload_write() { H sh -c "cat > $reload_conf"; }
reload_now() { H systemctl reload pgnspawnd || fail "systemctl reload failed"; }
# Waits (up to 10 s) until ListInstances matches, or does not match with "!": a reload
# is applied when the daemon handles SIGHUP, just after systemctl reload returns.
reload_wait_list() {
    local negate="" i out
    if [ "$1" = "!" ]; then negate=1; shift; fi
    for i in $(seq 1 100); do
        out=$(call ListInstances)
        if printf '%s' "$out" | grep -Eq -- "$1"; then [ -z "$negate" ] && return 0
        else [ -n "$negate" ] && return 0; fi
        sleep 0.1
    done
    fail "ListInstances ${negate:+still }${negate:-never }matched /$1/ within 10 s: [$out]"
}
# Waits (up to 10 s) until the daemon's journal since $1 (epoch seconds) matches $2.
reload_wait_journal() {
    local i out
    for i in $(seq 1 100); do
        out=$(H journalctl -u pgnspawnd -o cat --no-pager --since "@$1")
        printf '%s' "$out" | grep -Eq -- "$2" && return 0
        sleep 0.1
    done
    fail "the journal never showed /$2/ within 10 s; it has: [$(printf '%s' "$out" | tail -n 5)]"
}
reload_host_now() { H date +%s; }

t_reload_adds_and_removes() {
    local leader since sig pid
    H cp -p "$reload_conf" "$reload_conf.reload-orig" || fail "backup failed"
    call Start s helloworld >/dev/null || fail "Start helloworld failed"
    leader=$(leader_of helloworld)
    pid=$(daemon_pid)
    since=$(reload_host_now)
    H sh -c 'timeout 20 dbus-monitor --system "type=signal,sender=org.pgnspawn1,interface=org.pgnspawn1.Manager" > /tmp/reload-signals.txt 2>&1 & echo $! > /tmp/reload-monitor.pid'
    sleep 0.5
    reload_third_toml | reload_write
    reload_now || return 1
    reload_wait_list '"third"' || return 1
    expect_eq "$(call ListInstances)" \
        'a(sso) 2 "helloworld" "running" "/org/pgnspawn1/instance/helloworld" "third" "stopped" "/org/pgnspawn1/instance/third"' ||
        return 1
    expect_eq "$(leader_of helloworld)" "$leader" "helloworld's container must not be restarted" || return 1
    expect_eq "$(prop helloworld State)" 's "running"' || return 1
    expect_eq "$(psql_hw 'select 1')" 1 || return 1
    expect_eq "$(prop third Port)" "q 5435" && expect_eq "$(prop third User)" 's "third"' || return 1
    ! H busctl introspect org.pgnspawn1 /org/pgnspawn1/instance/second >/dev/null 2>&1 ||
        fail "the object of the removed instance second still exists" || return 1
    expect_match "$(dsend Start string:second)" '^Error org.pgnspawn1.Error.NoSuchInstance' || return 1
    reload_wait_journal "$since" 'Reloaded the configuration from /etc/pgnspawn/pgnspawn.toml: added third; removed second; changed none' ||
        return 1
    expect_eq "$(daemon_pid)" "$pid" "pgnspawnd must not restart" || return 1
    H sh -c 'kill $(cat /tmp/reload-monitor.pid)' 2>/dev/null
    sig=$(H cat /tmp/reload-signals.txt)
    expect_match "$sig" 'member=InstanceAdded' && expect_match "$sig" 'string "third"' &&
        expect_match "$sig" 'object path "/org/pgnspawn1/instance/third"' &&
        expect_match "$sig" 'member=InstanceRemoved' && expect_match "$sig" 'string "second"' || return 1
    echo "helloworld kept leader PID $leader"
}

t_reload_new_instance_serves() {
    local out
    call Start s third >/dev/null || fail "Start third failed: $(dsend Start string:third)"
    expect_eq "$(prop third State)" 's "running"' || return 1
    out=$(psql_at 127.0.0.1 5435 third third "$reload_third_password" \
        'create table t(x int); insert into t values (7); select current_user, current_database(), sum(x) from t')
    expect_eq "$out" "third|third|7" || return 1
    expect_eq "$(call GetAddress s third)" 'sq "127.0.0.1" 5435' || return 1
    call Stop s third >/dev/null || fail "Stop third failed"
    expect_eq "$(prop third State)" 's "stopped"'
}

t_reload_running_instance_stays_until_stopped() {
    local leader out
    # Back to the original file: second comes back, third (stopped) goes at once.
    H cp -p "$reload_conf.reload-orig" "$reload_conf"
    reload_now || return 1
    reload_wait_list '"second"' || return 1
    reload_wait_list ! '"third"' || return 1
    call Start s second >/dev/null || fail "Start second failed"
    leader=$(leader_of second)

    reload_third_toml | reload_write
    reload_now || return 1
    reload_wait_list '"third"' || return 1
    # Dropped from the file but running: it stays, listed after the configured ones.
    expect_eq "$(call ListInstances)" \
        'a(sso) 3 "helloworld" "running" "/org/pgnspawn1/instance/helloworld" "third" "stopped" "/org/pgnspawn1/instance/third" "second" "running" "/org/pgnspawn1/instance/second"' ||
        return 1
    expect_eq "$(prop second State)" 's "running"' || return 1
    expect_eq "$(leader_of second)" "$leader" "second's container must not be restarted" || return 1
    out=$(psql_second 'select 1')
    expect_eq "$out" 1 "second still serves" || return 1
    expect_match "$(call HealthCheck s second)" '^bst true' || return 1
    expect_match "$(dsend Start string:second)" \
        '^Error org.pgnspawn1.Error.NoSuchInstance: instance second was removed from /etc/pgnspawn/pgnspawn.toml; it is kept only until it stops' ||
        return 1
    call Stop s second >/dev/null || fail "Stop second (pending removal) failed"
    reload_wait_list ! '"second"' || return 1
    ! H busctl introspect org.pgnspawn1 /org/pgnspawn1/instance/second >/dev/null 2>&1 ||
        fail "the object of second still exists after it stopped" || return 1
    H test ! -e /var/lib/pgnspawn/second/data/postmaster.pid || fail "second did not stop cleanly"
}

# A new instance given the port of a removed one that still runs is refused at Start,
# naming the instance that holds the port, instead of "port in use by another process".
t_reload_port_held_by_removed_instance() {
    local out
    call Start s third >/dev/null || fail "Start third failed"
    { reload_third_toml | sed 's/^\[instances.third\]$/[instances.fourth]/'; } | reload_write
    reload_now || return 1
    reload_wait_list '"fourth"' || return 1
    out=$(dsend Start string:fourth)
    call Stop s third >/dev/null || fail "Stop third failed"
    reload_wait_list ! '"third"' || return 1
    call Start s fourth >/dev/null || fail "Start fourth after third stopped failed: $(dsend Start string:fourth)"
    call Stop s fourth >/dev/null || fail "Stop fourth failed"
    reload_third_toml | reload_write
    reload_now || return 1
    reload_wait_list '"third"' && reload_wait_list ! '"fourth"' || return 1
    expect_match "$out" \
        '^Error org.pgnspawn1.Error.StartFailed: instance fourth cannot start: port 5435 on 127.0.0.1 is still taken by instance third, which was removed from /etc/pgnspawn/pgnspawn.toml but is still running; stop it first \(pgnspawnctl stop third\)'
}

t_reload_broken_config_keeps_old() {
    local pid since before out
    pid=$(daemon_pid)
    before=$(call ListInstances)
    # An unknown key at the end of the file (line 11, column 1), then a TOML syntax error.
    since=$(reload_host_now)
    { reload_third_toml; printf 'colour = "blue"\n'; } | reload_write
    expect_eq "$(H sed -n 11p "$reload_conf")" 'colour = "blue"' "test file layout" || return 1
    reload_now || return 1
    reload_wait_journal "$since" \
        'Failed to reload the configuration, keeping the old one: /etc/pgnspawn/pgnspawn.toml:11:1: unknown key "colour" in instance "third"' ||
        return 1
    since=$(reload_host_now)
    printf '[instances.helloworld\nport = 5433\n' | reload_write
    reload_now || return 1
    reload_wait_journal "$since" \
        'Failed to reload the configuration, keeping the old one: /etc/pgnspawn/pgnspawn.toml:1:[0-9]+: ' || return 1
    expect_eq "$(H systemctl is-active pgnspawnd)" active "pgnspawnd after a bad reload" || return 1
    expect_eq "$(daemon_pid)" "$pid" "the daemon must keep running" || return 1
    expect_eq "$(call ListInstances)" "$before" "instances after a bad reload" || return 1
    expect_eq "$(psql_hw 'select 1')" 1 "helloworld still serves" || return 1
    call Start s third >/dev/null || fail "Start third after a bad reload failed"
    call Stop s third >/dev/null || fail "Stop third failed"
    out=$(H journalctl -u pgnspawnd -o cat --no-pager)
    expect_no_match "$out" "$reload_third_password|S3cond" || return 1
    echo "$(printf '%s' "$out" | grep -c 'Failed to reload the configuration') refused reloads logged"
}

# A reload of a file that crashed toml++ (one key of 60,000 dotted parts) is refused
# like any bad file: the daemon keeps running with the old configuration.
t_reload_deep_key_keeps_old() {
    local pid since before
    pid=$(daemon_pid)
    before=$(call ListInstances)
    since=$(reload_host_now)
    H sh -c "awk 'BEGIN { for (i = 1; i < 60000; i++) printf \"a.\"; print \"b = 1\" }' > $reload_conf"
    reload_now || return 1
    reload_wait_journal "$since" \
        'Failed to reload the configuration, keeping the old one: /etc/pgnspawn/pgnspawn.toml:1:64: a key of more than 32 dotted parts' ||
        return 1
    expect_eq "$(daemon_pid)" "$pid" "the daemon must keep running" &&
        expect_eq "$(call ListInstances)" "$before" "instances after the refused reload"
}

# Always runs: puts the original file back and stops everything.
t_reload_restore() {
    H test -e "$reload_conf.reload-orig" || fail "no backup of $reload_conf" || return 1
    H mv "$reload_conf.reload-orig" "$reload_conf"
    reload_now || return 1
    reload_wait_list '"second"' || return 1
    call Stop s third >/dev/null 2>&1  # only if an earlier test left it running
    call Stop s helloworld >/dev/null || fail "Stop helloworld failed"
    call Stop s second >/dev/null || fail "Stop second failed"
    reload_wait_list ! '"third"' || return 1
    expect_eq "$(call ListInstances)" \
        'a(sso) 2 "helloworld" "stopped" "/org/pgnspawn1/instance/helloworld" "second" "stopped" "/org/pgnspawn1/instance/second"' ||
        return 1
    expect_no_match "$(H machinectl list --no-legend)" 'pgnspawn-'
}

suite_tests+=(reload_adds_and_removes reload_new_instance_serves reload_running_instance_stays_until_stopped
    reload_port_held_by_removed_instance reload_broken_config_keeps_old reload_deep_key_keeps_old reload_restore)
