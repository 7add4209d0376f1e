# The D-Bus API as a client sees it: objects, properties, the instance list, bad names
# on every method, what an unprivileged caller may do (through the bus policy), and a
# daemon that does not wake up when idle. Sourced by run.sh; leaves every instance
# stopped.

# The state the list and access tests expect: helloworld running, second stopped (a stop
# also clears a "failed" that an earlier suite may have left behind).
api_only_helloworld_running() {
    call Stop s second >/dev/null || fail "Stop second failed"
    call Start s helloworld >/dev/null || fail "Start failed"
}

t_introspect() {
    local m i
    m=$(H busctl introspect org.pgnspawn1 /org/pgnspawn1) || fail "introspect failed"
    for x in Start Stop GetAddress HealthCheck ListInstances GetConnectionUri StateChanged \
             org.freedesktop.DBus.Properties org.freedesktop.DBus.Peer org.freedesktop.DBus.Introspectable; do
        expect_match "$m" "$x" || return 1
    done
    i=$(H busctl introspect org.pgnspawn1 /org/pgnspawn1/instance/helloworld org.pgnspawn1.Instance) || fail "no instance object"
    for x in Name State Port Database User Image Unit Machine; do expect_match "$i" "\\.$x " || return 1; done
}

t_properties() {
    expect_eq "$(prop helloworld Port)" "q 5433" && expect_eq "$(prop helloworld Database)" 's "helloworld"' &&
    expect_eq "$(prop helloworld User)" 's "helloworld"' && expect_eq "$(prop helloworld Image)" 's "host"' &&
    expect_eq "$(prop helloworld Unit)" 's "pgnspawn-helloworld.service"' &&
    expect_eq "$(prop helloworld Machine)" 's "pgnspawn-helloworld"' &&
    expect_no_match "$(H busctl introspect org.pgnspawn1 /org/pgnspawn1/instance/helloworld)" "helloworld\" *$|password"
}

t_list_instances() {
    api_only_helloworld_running
    expect_eq "$(call ListInstances)" \
        'a(sso) 2 "helloworld" "running" "/org/pgnspawn1/instance/helloworld" "second" "stopped" "/org/pgnspawn1/instance/second"'
}

t_bad_names() {
    local out name long
    long=$(head -c 10240 /dev/zero | tr '\0' a)
    for name in "" "../etc" "a/b" ".." "$long" "helloworld/../second" "HELLO WORLD" "pgnspawn-testhost"; do
        for m in Start Stop GetAddress HealthCheck GetConnectionUri; do
            out=$(dsend "$m" "string:$name")
            expect_match "$out" '^Error (org.freedesktop.DBus.Error.InvalidArgs|org.pgnspawn1.Error.NoSuchInstance): ' || return 1
        done
    done
    out=$(dsend Start string:nosuch)
    expect_match "$out" '^Error org.pgnspawn1.Error.NoSuchInstance: no instance named "nosuch"' || return 1
    out=$(dsend Start int32:5)
    expect_match "$out" '^Error org.freedesktop.DBus.Error.InvalidArgs' || return 1
    H test ! -e /var/lib/pgnspawn/etc -a ! -e /var/lib/etc || fail "a path was built from a bad name"
    expect_eq "$(H systemctl show pgnspawnd -p NRestarts --value)" 0 "daemon restarts"
}

t_unprivileged_limits() {
    local out nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
    api_only_helloworld_running
    out=$(H $nobody busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager GetAddress s helloworld) &&
        expect_eq "$out" 'sq "127.0.0.1" 5433' || return 1
    for m in "Start s second" "Stop s helloworld" "GetConnectionUri s helloworld"; do
        out=$(H $nobody dbus-send --system --print-reply --dest=org.pgnspawn1 /org/pgnspawn1 \
              "org.pgnspawn1.Manager.${m%% *}" "string:${m##* }" 2>&1)
        expect_match "$out" "^Error org.freedesktop.DBus.Error.AccessDenied" || return 1
    done
    expect_eq "$(prop second State)" 's "stopped"' && expect_eq "$(prop helloworld State)" 's "running"'
}

t_idle_no_wakeups() {
    # An idle daemon with a running instance must not wake up at all. Idle: nothing is
    # pending, so the spare cluster a start may ask for is there already, and the sweeps
    # for leftovers that follow a start (250 ms after it, on a timer of 250 ms accuracy)
    # are over.
    local pid a b threads
    call Start s helloworld >/dev/null || fail "Start failed"
    spare_ready || fail "no finished spare cluster within 60 s"
    sleep 1
    pid=$(daemon_pid)
    a=$(H grep ctxt_switches "/proc/$pid/status" | awk '{s += $2} END {print s}')
    sleep 3
    b=$(H grep ctxt_switches "/proc/$pid/status" | awk '{s += $2} END {print s}')
    threads=$(H awk '/^Threads:/ {print $2}' "/proc/$pid/status")
    call Stop s helloworld >/dev/null || fail "Stop failed"
    expect_eq "$b" "$a" "context switches of pgnspawnd over 3 s idle" || return 1
    # One event loop, no helper threads.
    expect_eq "$threads" 1 "threads"
}

suite_tests+=(introspect properties list_instances bad_names unprivileged_limits idle_no_wakeups)
