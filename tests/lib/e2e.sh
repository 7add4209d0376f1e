# Shell helpers for everything that drives the booted test host (tests/testhost.sh):
# tests/e2e/run.sh and its suites, tests/e2e/sanitizers/tests.sh, bench/run.sh.
# Sourced; the caller sets $testhost to the path of tests/testhost.sh first.

# --- reaching the host -------------------------------------------------------------------

H() { bash "$testhost" exec "$@"; }
call() { H busctl --timeout=600 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager "$@"; }
# dbus-send shows the error *name*, which busctl does not.
dsend() { H dbus-send --system --print-reply --reply-timeout=600000 --dest=org.pgnspawn1 /org/pgnspawn1 "org.pgnspawn1.Manager.$1" "${@:2}" 2>&1; }
prop() { H busctl get-property org.pgnspawn1 "/org/pgnspawn1/instance/$1" org.pgnspawn1.Instance "$2"; }
now_ms() { date +%s%3N; }
# spare_ready: waits (60 s at most) until the daemon's spare cluster is complete. initdb
# makes it in .spare-VERSION.new, renamed to .spare-VERSION when done: a PG_VERSION in the
# .new directory is written at initdb's start, long before it has finished.
spare_ready() {
    H sh -c 'for i in $(seq 600); do
        ready=0
        for d in /var/lib/pgnspawn/.spare-*; do
            case "$d" in *.new) ready=0; break ;; esac
            [ -f "$d/PG_VERSION" ] && ready=1
        done
        [ "$ready" = 1 ] && ! pgrep -x initdb >/dev/null && exit 0
        sleep 0.1
    done
    exit 1'
}

# psql_at HOST PORT USER DATABASE PASSWORD SQL: one psql session over TCP inside the host,
# unaligned and quiet; prints the rows or psql's error.
psql_at() { H env "PGPASSWORD=$5" psql -h "$1" -p "$2" -U "$3" -d "$4" -XAtqc "$6" 2>&1; }
# The two instances of tests/e2e/etc/pgnspawn.toml, as their configured users.
psql_hw() { psql_at 127.0.0.1 5433 helloworld helloworld helloworld "$1"; }
psql_second() { psql_at 127.0.0.1 5434 app appdb 'S3cond p@ss:w/rd%' "$1"; }

# --- the daemon and its containers -------------------------------------------------------

daemon_pid() { H systemctl show pgnspawnd -p MainPID --value; }
# The PID of an instance's container leader (its PostgreSQL or init), empty when none.
leader_of() { H machinectl show "pgnspawn-$1" -p Leader --value 2>/dev/null; }

# wait_daemon_restart OLD_PID: until systemd has started a new pgnspawnd that is active
# (10 s at most); prints its PID. Fails when it does not come.
wait_daemon_restart() {
    local old=$1 pid="" i
    for i in $(seq 1 100); do
        pid=$(daemon_pid)
        [ "$pid" != "$old" ] && [ "$pid" != 0 ] && [ "$(H systemctl is-active pgnspawnd)" = active ] && break
        sleep 0.1
    done
    echo "$pid"
    [ "$pid" != "$old" ] && [ "$pid" != 0 ]
}

# --- verdicts ----------------------------------------------------------------------------
# Each test runs in a subshell: fail ends the test there and then (so "cmd || fail ..."
# cannot be followed by checks that pass and hide it). The expect_* functions only
# report, returning 1, so that a test can clean up before it gives up.

fail() { echo "$*"; exit 1; }
mismatch() { echo "$*"; return 1; }
expect_eq() { [ "$1" = "$2" ] || mismatch "expected [$2], got [$1]${3:+ ($3)}"; }
# Here-strings, not printf | grep -q: grep -q leaves at the first match, and printf of
# more than a pipe's worth would then die of SIGPIPE and fail the pipeline (pipefail).
expect_match() { grep -Eq -- "$2" <<<"$1" || mismatch "expected output matching /$2/, got [$1]"; }
expect_no_match() { ! grep -Eq -- "$2" <<<"$1" || mismatch "output must not match /$2/: [$1]"; }
