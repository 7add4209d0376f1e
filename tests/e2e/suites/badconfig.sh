# --check-config accepts the shipped file; bad configuration files are refused with
# FILE:LINE:COLUMN, by --check-config and by the daemon itself, which then comes up with no
# instances and answers BadConfiguration. Sourced by run.sh; restores
# /etc/pgnspawn/pgnspawn.toml and leaves every instance stopped.

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

# A file toml++ would overflow its stack on (one key of 60,000 dotted parts, 120 KB) and
# one over the 1 MiB limit are refused by name, not by SIGSEGV.
t_check_config_refuses_what_would_crash_the_parser() {
    local out rc
    H sh -c 'awk "BEGIN { for (i = 1; i < 60000; i++) printf \"a.\"; print \"b = 1\" }" > /tmp/deep.toml'
    expect_eq "$(H stat -c %s /tmp/deep.toml)" 120004 "size of /tmp/deep.toml" || return 1
    out=$(H pgnspawnd --check-config --config /tmp/deep.toml 2>&1); rc=$?
    expect_eq "$rc" 1 "exit status for the 60,000-part key: $out" || return 1
    expect_match "$out" '^/tmp/deep.toml:1:64: a key of more than 32 dotted parts' || return 1
    H sh -c 'head -c 1048577 /dev/zero | tr "\0" "#" > /tmp/big.toml'
    out=$(H pgnspawnd --check-config --config /tmp/big.toml 2>&1); rc=$?
    H rm -f /tmp/deep.toml /tmp/big.toml
    expect_eq "$rc" 1 "exit status for 1 MiB + 1 byte" &&
        expect_match "$out" '^/tmp/big.toml: more than the 1 MiB a configuration file may have'
}

suite_tests+=(check_config_good check_config_bad check_config_refuses_what_would_crash_the_parser)

# Writes a configuration to /tmp/bad.toml inside the host.
bad_toml() { H sh -c "cat > /tmp/bad.toml" <<<"$1"; }

t_check_config_names_each_problem() {
    local out rc case_ expected
    local -a cases=(
        $'[instances.a]\nport = 5500\npassword = "x"\n[instances.b]\nport = 5500\npassword = "y"'
        '^/tmp/bad.toml:5:8: instance "b" uses port 5500 on 127.0.0.1, which instance "a" already uses'
        $'[instances."a/b"]\nport = 5500\npassword = "x"'
        '^/tmp/bad.toml:1:.*name'
        $'[instances.a]\nport = 5500\npassword = "x"\ndatbase = "typo"'
        '^/tmp/bad.toml:4:1: unknown key "datbase"'
        $'[instances.a]\nport = "5500"\npassword = "x"'
        '^/tmp/bad.toml:2:8: .*port.*integer'
        $'[instances.a]\nport = 5500'
        '^/tmp/bad.toml:1:.*password'
        $'[instances.a]\nport = 5500\npassword = "x"\n[instances.a]'
        '^/tmp/bad.toml:4:'
    )
    local i
    for ((i = 0; i < ${#cases[@]}; i += 2)); do
        bad_toml "${cases[i]}"
        out=$(H pgnspawnd --check-config --config /tmp/bad.toml 2>&1); rc=$?
        expect_eq "$rc" 1 "exit status for case $((i / 2 + 1))" || return 1
        expect_match "$out" "${cases[i + 1]}" || return 1
    done
}

# The daemon comes up on a bad file, with no instances, and answers every call that
# names an instance (and ListInstances) at once with org.pgnspawn1.Error.BadConfiguration
# and the FILE:LINE:COLUMN message, instead of failing until systemd's start limit while
# D-Bus activation waits out its 25 s timeout (issue 9, bug 4).
badconfig_conf=/etc/pgnspawn/pgnspawn.toml
badconfig_password='Bad-c0nfig-pw'
badconfig_message='/etc/pgnspawn/pgnspawn.toml:4:1: unknown key "bogus" in instance "helloworld"'
# Waits (up to 10 s) until dbus-send's answer to $1 matches $2: a reload is applied when
# the daemon handles SIGHUP, just after systemctl reload returns.
badconfig_wait_answer() {
    local i out
    for i in $(seq 1 100); do
        out=$(dsend "$1")
        printf '%s' "$out" | grep -Eq -- "$2" && return 0
        sleep 0.1
    done
    fail "$1 never answered /$2/ within 10 s: [$out]"
}

t_bad_config_answers_at_once() {
    local out rc t0 t1 m journal
    H test -e "$badconfig_conf.badconfig-orig" || H cp -p "$badconfig_conf" "$badconfig_conf.badconfig-orig" ||
        fail "backup failed"
    H sh -c "printf '[instances.helloworld]\nport = 5433\npassword = \"$badconfig_password\"\nbogus = 1\n' > $badconfig_conf"
    H systemctl stop pgnspawnd
    H systemctl reset-failed pgnspawnd 2>/dev/null
    # As a new user would meet it: the first call D-Bus-activates the daemon.
    t0=$(now_ms); out=$(H pgnspawnctl start helloworld 2>&1); rc=$?; t1=$(now_ms)
    expect_eq "$rc" 1 "pgnspawnctl start's exit status" || return 1
    expect_match "$out" "^pgnspawnctl: cannot start helloworld: $badconfig_message" || return 1
    [ $((t1 - t0)) -lt 5000 ] || fail "pgnspawnctl start took $((t1 - t0)) ms to fail"
    t0=$(now_ms); out=$(H busctl --timeout=20 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Start s helloworld 2>&1)
    rc=$?; t1=$(now_ms)
    [ "$rc" -ne 0 ] || fail "busctl call Start succeeded on a bad configuration"
    expect_match "$out" "$badconfig_message" || return 1
    [ $((t1 - t0)) -lt 5000 ] || fail "busctl call Start took $((t1 - t0)) ms to fail"
    for m in "Start string:helloworld" "Stop string:helloworld" "GetAddress string:helloworld" \
             "HealthCheck string:helloworld" "GetConnectionUri string:helloworld" "Start string:nosuch" ListInstances; do
        out=$(dsend $m)
        expect_match "$out" "^Error org.pgnspawn1.Error.BadConfiguration: $badconfig_message" || return 1
        expect_no_match "$out" "$badconfig_password" || return 1
    done
    # A name that could never be valid is still refused as such.
    expect_match "$(dsend Start string:a/b)" '^Error org.freedesktop.DBus.Error.InvalidArgs' || return 1
    out=$(H pgnspawnctl list 2>&1); rc=$?
    expect_eq "$rc" 1 "pgnspawnctl list's exit status" && expect_match "$out" "$badconfig_message" || return 1
    # On a terminal, start lists the instances first (to show progress): the same message.
    out=$(H script -qec "pgnspawnctl start helloworld" /dev/null 2>&1); rc=$?
    expect_eq "$rc" 1 "pgnspawnctl start's exit status on a terminal" && expect_match "$out" "$badconfig_message" ||
        return 1
    expect_eq "$(H systemctl is-active pgnspawnd)" active "pgnspawnd on a bad file" || return 1
    expect_eq "$(H systemctl show pgnspawnd -p NRestarts --value)" 0 "restarts of pgnspawnd" || return 1
    journal=$(H journalctl -u pgnspawnd -o cat --no-pager -n 20)
    expect_match "$journal" "Bad configuration, serving no instances until it is fixed and reloaded: $badconfig_message" ||
        return 1
    expect_no_match "$journal" "$badconfig_password" || return 1
    H pgnspawnd --check-config >/dev/null 2>&1 && fail "--check-config accepted the bad file"
    return 0
}

# A reload with another bad file tells the callers about that one; a good file brings
# the instances up, without a restart.
t_bad_config_reload_fixes_it() {
    local pid out
    pid=$(H systemctl show pgnspawnd -p MainPID --value)
    H sh -c "printf '[instances.helloworld\nport = 5433\n' > $badconfig_conf"
    H systemctl reload pgnspawnd || fail "systemctl reload failed"
    badconfig_wait_answer ListInstances \
        '^Error org.pgnspawn1.Error.BadConfiguration: /etc/pgnspawn/pgnspawn.toml:1:[0-9]+: ' || return 1
    H sh -c 'timeout 60 dbus-monitor --system "type=signal,sender=org.pgnspawn1" > /tmp/badconfig-signals.txt 2>&1 & echo $! > /tmp/badconfig-monitor.pid'
    sleep 0.5
    H cp -p "$badconfig_conf.badconfig-orig" "$badconfig_conf" || fail "restoring the good file failed"
    H systemctl reload pgnspawnd || fail "systemctl reload failed"
    badconfig_wait_answer ListInstances '"helloworld"' || return 1
    expect_eq "$(call ListInstances)" \
        'a(sso) 2 "helloworld" "stopped" "/org/pgnspawn1/instance/helloworld" "second" "stopped" "/org/pgnspawn1/instance/second"' ||
        return 1
    out=$(H pgnspawnctl start helloworld 2>&1) || fail "pgnspawnctl start after the fix failed: $out"
    expect_eq "$(psql_hw 'select 1')" 1 "helloworld serves" || return 1
    call Stop s helloworld >/dev/null || fail "Stop helloworld failed"
    expect_eq "$(H systemctl show pgnspawnd -p MainPID --value)" "$pid" "pgnspawnd must not restart" || return 1
    H sh -c 'kill $(cat /tmp/badconfig-monitor.pid)' 2>/dev/null
    out=$(H cat /tmp/badconfig-signals.txt)
    expect_match "$out" 'member=InstanceAdded' && expect_match "$out" 'string "second"' || return 1
    # StateChanged is for state changes only; the phases of the start come as
    # PropertiesChanged of the instance alone.
    local states changes
    states=$(printf '%s\n' "$out" | awk '/member=StateChanged/ { getline n; getline s
        if (n ~ /"helloworld"/) { sub(/^ *string "/, "", s); sub(/"$/, "", s); printf "%s ", s } }')
    expect_eq "$states" "starting running stopping stopped " "StateChanged of helloworld" || return 1
    changes=$(printf '%s\n' "$out" | grep -c 'path=/org/pgnspawn1/instance/helloworld; interface=org.freedesktop.DBus.Properties; member=PropertiesChanged')
    [ "$changes" -gt 4 ] || fail "no PropertiesChanged for the phases of the start ($changes in all): [$out]"
}

# Always runs: the original file back, served by a daemon that started on it.
t_bad_config_restore() {
    if H test -e "$badconfig_conf.badconfig-orig"; then
        H mv "$badconfig_conf.badconfig-orig" "$badconfig_conf" || fail "restoring $badconfig_conf failed"
    fi
    H systemctl reset-failed pgnspawnd 2>/dev/null
    H systemctl restart pgnspawnd || fail "the daemon did not start again on the good file"
    expect_eq "$(call ListInstances)" \
        'a(sso) 2 "helloworld" "stopped" "/org/pgnspawn1/instance/helloworld" "second" "stopped" "/org/pgnspawn1/instance/second"'
}

suite_tests+=(check_config_names_each_problem bad_config_answers_at_once bad_config_reload_fixes_it bad_config_restore)
