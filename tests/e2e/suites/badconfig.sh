# --check-config accepts the shipped file; bad configuration files are refused with
# FILE:LINE:COLUMN, by --check-config and by the daemon itself, which then does not
# start. Sourced by run.sh.

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

t_daemon_refuses_bad_config() {
    local out
    H cp /etc/pgnspawn/pgnspawn.toml /etc/pgnspawn/pgnspawn.toml.good
    H sh -c 'printf "[instances.helloworld]\nport = 5433\npassword = \"helloworld\"\nbogus = 1\n" > /etc/pgnspawn/pgnspawn.toml'
    H systemctl stop pgnspawnd
    H systemctl reset-failed pgnspawnd 2>/dev/null
    H systemctl start pgnspawnd 2>/dev/null && out=started || out=refused
    local active; active=$(H systemctl is-active pgnspawnd)
    local journal; journal=$(H journalctl -u pgnspawnd -o cat --no-pager -n 20)
    H mv /etc/pgnspawn/pgnspawn.toml.good /etc/pgnspawn/pgnspawn.toml
    H systemctl reset-failed pgnspawnd 2>/dev/null
    H systemctl start pgnspawnd || fail "the daemon did not start again on the good file"
    expect_eq "$out" refused "systemctl start on a bad file" || return 1
    expect_match "$active" "failed|inactive|activating" || return 1
    expect_match "$journal" 'Refusing to start with a bad configuration: /etc/pgnspawn/pgnspawn.toml:4:1: unknown key "bogus"' ||
        return 1
    expect_match "$(call ListInstances)" '"helloworld" "stopped"'
}

suite_tests+=(check_config_names_each_problem daemon_refuses_bad_config)
