# Bad input over the whole D-Bus surface (issue 3). Sourced by run.sh.
#
# tests/fuzz/dbus_fuzz (built, not installed) is copied into the test host and sends
# thousands of calls with hostile names (empty, 10 KB, "../..", "/", unicode, control
# characters, other machines' names) and wrong argument types, as root and as nobody,
# while helloworld runs. The daemon must answer every call with a named error, never
# crash, and never touch a path outside its state directory. A failure prints the seed;
# DBUS_FUZZ_SEED=S replays it.

fuzz_bin=/usr/local/bin/dbus_fuzz
fuzz_marker=/tmp/dbus-fuzz.marker

# Runs the fuzzer in the host; prints its output, and fails as it does.
fuzz_run() {
    local who=$1 calls=$2 limit=$3 seed=$4 out rc
    if [ "$who" = root ]; then
        out=$(H "$fuzz_bin" --calls "$calls" --time-limit "$limit" --seed "$seed" 2>&1); rc=$?
    else
        out=$(H setpriv --reuid=nobody --regid=nogroup --clear-groups \
              "$fuzz_bin" --calls "$calls" --time-limit "$limit" --seed "$seed" 2>&1); rc=$?
    fi
    printf '%s\n' "$out"
    return "$rc"
}

# "N calls, R calls/s" from the fuzzer's last line.
fuzz_rate() { printf '%s' "$1" | sed -n 's/^dbus_fuzz: OK, \([0-9]*\) calls, \([0-9]*\) calls\/s.*/\1 calls at \2 calls\/s/p'; }

t_fuzz_dbus() {
    local seed=${DBUS_FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))} pid nrestarts dirs out_root out_nobody rc changed
    [ -x "$build/tests/dbus_fuzz" ] || { fail "$build/tests/dbus_fuzz was not built"; return 1; }
    H sh -c "cat > $fuzz_bin && chmod 755 $fuzz_bin" <"$build/tests/dbus_fuzz" ||
        { fail "cannot copy the fuzzer into the host"; return 1; }
    # A running instance makes GetAddress succeed and HealthCheck reach PostgreSQL.
    call Start s helloworld >/dev/null || { fail "precondition: Start helloworld failed"; return 1; }
    pid=$(H systemctl show pgnspawnd -p MainPID --value)
    nrestarts=$(H systemctl show pgnspawnd -p NRestarts --value)
    dirs=$(H ls -A /var/lib/pgnspawn | tr '\n' ' ')
    H touch "$fuzz_marker"
    sleep 1  # file times have a clock tick of granularity; nothing from before may count

    out_root=$(fuzz_run root 20000 90 "$seed"); rc=$?
    [ "$rc" -eq 0 ] || { call Stop s helloworld >/dev/null; fail "fuzzer as root (exit $rc):"$'\n'"$out_root"; return 1; }
    out_nobody=$(fuzz_run nobody 5000 30 "$((seed + 1))"); rc=$?
    [ "$rc" -eq 0 ] || { call Stop s helloworld >/dev/null; fail "fuzzer as nobody (exit $rc):"$'\n'"$out_nobody"; return 1; }

    # What may legitimately change meanwhile on the root file system (-xdev already
    # leaves out /proc, /sys, /dev, /run and /tmp, which are separate mounts):
    # the journal, and PGDATA of the running instance (PostgreSQL's own statistics,
    # WAL). Anything else, including the rest of /var/lib/pgnspawn, must be untouched.
    changed=$(H find / -xdev \( -path /var/log/journal -o -path /var/lib/pgnspawn/helloworld/data \) -prune \
              -o \( -newer "$fuzz_marker" -o -cnewer "$fuzz_marker" \) -print 2>&1)

    local health list pid_after nrestarts_after dirs_after
    pid_after=$(H systemctl show pgnspawnd -p MainPID --value)
    nrestarts_after=$(H systemctl show pgnspawnd -p NRestarts --value)
    dirs_after=$(H ls -A /var/lib/pgnspawn | tr '\n' ' ')
    health=$(call HealthCheck s helloworld 2>&1)
    list=$(call ListInstances 2>&1)
    call Stop s helloworld >/dev/null || { fail "Stop helloworld failed"; return 1; }
    H rm -f "$fuzz_bin" "$fuzz_marker"

    expect_eq "$pid_after" "$pid" "MainPID of pgnspawnd" || return 1
    expect_eq "$nrestarts_after" "$nrestarts" "NRestarts of pgnspawnd" || return 1
    expect_eq "$dirs_after" "$dirs" "entries of /var/lib/pgnspawn" || return 1
    local d; for d in $dirs_after; do
        # .spare-VERSION: the daemon's spare cluster for the next first start.
        case "$d" in helloworld|second|.spare-[0-9]*) ;; *) fail "/var/lib/pgnspawn/$d is not a configured instance"; return 1 ;; esac
    done
    expect_eq "$changed" "" "files changed outside the expected places" || return 1
    expect_match "$health" '^bst true "SELECT 1 succeeded" [0-9]+$' || return 1
    expect_eq "$list" \
        'a(sso) 2 "helloworld" "running" "/org/pgnspawn1/instance/helloworld" "second" "stopped" "/org/pgnspawn1/instance/second"' ||
        return 1
    expect_eq "$(prop helloworld State)" 's "stopped"' || return 1
    local n; n=$(fuzz_rate "$out_root"); n=${n%% *}
    [ "${n:-0}" -ge 1000 ] || fail "only ${n:-0} calls as root within the time limit" || return 1
    echo "seed $seed; root: $(fuzz_rate "$out_root"); nobody: $(fuzz_rate "$out_nobody")"
}

suite_tests+=(fuzz_dbus)
