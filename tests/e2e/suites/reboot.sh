# Reboot of the test host: data written before survives, and an instance marked
# autostart comes back by itself once pgnspawnd is enabled. Last in run.sh's
# suite_order: the host it leaves behind has been rebooted (only the final tests, such
# as the sanitizer pass's, run on it after). Restores /etc/pgnspawn/pgnspawn.toml and
# the enablement, and leaves every instance stopped.

reboot_conf=/etc/pgnspawn/pgnspawn.toml
reboot_run_dir=${PGNSPAWN_TESTHOST_DIR:-/var/tmp/pgnspawn-testhost}

t_reboot_prepare() {
    local out
    H cp -p "$reboot_conf" "$reboot_conf.reboot-orig" || fail "backup failed"
    H sed -i '/^\[instances\.second\]$/a autostart = true' "$reboot_conf"
    expect_match "$(H grep -A1 '^\[instances.second\]' "$reboot_conf")" 'autostart = true' || return 1
    out=$(H pgnspawnd --check-config) || fail "check-config: $out" || return 1
    H systemctl enable pgnspawnd >/dev/null 2>&1 || fail "systemctl enable pgnspawnd failed"
    H systemctl reload pgnspawnd || fail "systemctl reload failed"
    call Start s helloworld >/dev/null || fail "Start helloworld failed"
    call Start s second >/dev/null || fail "Start second failed"
    expect_eq "$(psql_hw 'create table before_reboot(id int primary key, note text); insert into before_reboot select g, md5(g::text) from generate_series(1,2000) g; select count(*) from before_reboot')" 2000 ||
        return 1
    expect_eq "$(psql_second 'create table before_reboot(id int primary key); insert into before_reboot select generate_series(1,3000); select count(*) from before_reboot')" 3000
}

t_reboot_host() {
    local t0 t1 leader_before uptime
    leader_before=$(cat "$reboot_run_dir/leader.pid" 2>/dev/null)
    t0=$(now_ms)
    bash "$testhost" reboot >/dev/null 2>&1 || fail "tests/testhost.sh reboot failed"
    t1=$(now_ms)
    # A new systemd-nspawn, and the host's PID 1 has only been up since the reboot.
    [ "$(cat "$reboot_run_dir/leader.pid" 2>/dev/null)" != "$leader_before" ] || fail "the host was not booted again" ||
        return 1
    uptime=$(H ps -o etimes= -p 1 | tr -d ' ')
    [ "$uptime" -le $(((t1 - t0) / 1000 + 1)) ] || fail "PID 1 has been up for ${uptime} s: no reboot" || return 1
    expect_match "$(H systemctl is-system-running)" 'running|degraded' || return 1
    expect_eq "$(H systemctl is-enabled pgnspawnd)" enabled || return 1
    echo "rebooted in $((t1 - t0)) ms"
}

t_reboot_daemon_started_at_boot() {
    # Checked before any D-Bus call could activate it.
    expect_eq "$(H systemctl is-active pgnspawnd)" active "pgnspawnd right after boot" || return 1
    expect_match "$(H journalctl -b -u pgnspawnd -o cat --no-pager)" 'Starting instance second \(autostart\)'
}

t_reboot_autostart_instance_is_back() {
    local i state
    # Nobody calls Start: wait for second's State to become running (60 s at most).
    for i in $(seq 1 300); do
        state=$(prop second State 2>/dev/null)
        case "$state" in 's "running"'|'s "failed"') break ;; esac
        sleep 0.2
    done
    expect_eq "$state" 's "running"' "second's State after the reboot" || return 1
    expect_eq "$(psql_second 'select count(*), sum(id) from before_reboot')" "3000|4501500" || return 1
    expect_eq "$(prop helloworld State)" 's "stopped"' "helloworld is not autostart" || return 1
    expect_no_match "$(H journalctl -b -u pgnspawnd -o cat --no-pager)" 'Starting instance helloworld' || return 1
    expect_match "$(H journalctl -b -u pgnspawnd -o cat --no-pager)" 'Starting instance second\.' || return 1
    local log; log=$(H journalctl -b -u pgnspawn-second.service -o cat --no-pager)
    expect_match "$log" 'database system was shut down at' || return 1
    expect_no_match "$log" 'not properly shut down|automatic recovery in progress|redo starts|interrupted'
}

t_reboot_data_survives() {
    call Start s helloworld >/dev/null || fail "Start helloworld after the reboot failed"
    expect_eq "$(psql_hw 'select count(*), sum(id), count(distinct note) from before_reboot')" "2000|2001000|2000" || return 1
    local log; log=$(H journalctl -b -u pgnspawn-helloworld.service -o cat --no-pager)
    expect_match "$log" 'database system was shut down at' || return 1
    expect_no_match "$log" 'not properly shut down|automatic recovery in progress|redo starts|interrupted'
}

# Always runs: the original file and enablement back, everything stopped.
t_reboot_restore() {
    H test -e "$reboot_conf.reboot-orig" || fail "no backup of $reboot_conf" || return 1
    H mv "$reboot_conf.reboot-orig" "$reboot_conf"
    H systemctl disable pgnspawnd >/dev/null 2>&1 || fail "systemctl disable failed"
    H systemctl reload pgnspawnd || fail "systemctl reload failed"
    call Stop s helloworld >/dev/null || fail "Stop helloworld failed"
    call Stop s second >/dev/null || fail "Stop second failed"
    expect_eq "$(call ListInstances)" \
        'a(sso) 2 "helloworld" "stopped" "/org/pgnspawn1/instance/helloworld" "second" "stopped" "/org/pgnspawn1/instance/second"' ||
        return 1
    expect_eq "$(H systemctl is-enabled pgnspawnd)" disabled && H pgnspawnd --check-config >/dev/null
}

suite_tests+=(reboot_prepare reboot_host reboot_daemon_started_at_boot reboot_autostart_instance_is_back
    reboot_data_survives reboot_restore)
