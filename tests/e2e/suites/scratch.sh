# Scratch databases bound to the caller's D-Bus connection (issue 10, item 3) and
# `pgnspawnctl run` (item 4). Sourced by run.sh.
#
# The snapshot "x" of helloworld is made as a user would: pgnspawnctl snapshot.

sc_su() { H psql -h /var/lib/pgnspawn/"${2:-helloworld}"/run -p "${3:-5433}" -U postgres -d postgres -XAtqc "$1" 2>&1; }
sc_count() { sc_su "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgnspawn\_scratch\_%'" "$@"; }
sc_as() { local u=$1; shift; H setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
sc_users() {
    H sh -c 'getent group pgnspawn >/dev/null || groupadd --system pgnspawn
             id dev >/dev/null 2>&1 || useradd --create-home --groups pgnspawn dev
             id stranger >/dev/null 2>&1 || useradd --create-home stranger'
}
# sc_wait_count N [INSTANCE PORT]: until N scratch databases exist (10 s at most). Only
# where nothing has asked for one since the instance started: the daemon keeps copies
# made ahead of time for each snapshot asked for, which count too.
sc_wait_count() {
    local i
    for i in $(seq 1 100); do
        [ "$(sc_count "${@:2}")" = "$1" ] && return 0
        sleep 0.1
    done
    mismatch "expected $1 scratch databases, found $(sc_count "${@:2}")"
}
sc_exists() { sc_su "SELECT count(*) FROM pg_database WHERE datname = '$1'" "${@:2}"; }
# sc_gone DB [INSTANCE PORT]: until database DB no longer exists (10 s at most).
sc_gone() {
    local i
    [ -n "$1" ] || fail "no database name"
    for i in $(seq 1 100); do
        [ "$(sc_exists "$@")" = 0 ] && return 0
        sleep 0.1
    done
    mismatch "database $1 still exists"
}
# sc_hold ARGS...: `pgnspawnctl run ARGS -- sleep 300` in the background inside the host;
# prints the PID of pgnspawnctl. Its database's name goes to /var/tmp/sc_db.PID.
sc_hold() {
    H sh -c "setsid pgnspawnctl run $* -- sh -c 'echo \$PGDATABASE >/var/tmp/sc_db.\$PPID; exec sleep 300' \
        >/dev/null 2>&1 </dev/null & echo \$!"
}
# sc_held PID: the database of holder PID, once it has one (10 s at most).
sc_held() {
    local i
    for i in $(seq 1 100); do
        H test -s "/var/tmp/sc_db.$1" && { H cat "/var/tmp/sc_db.$1"; return 0; }
        sleep 0.1
    done
    return 1
}
# sc_kill PID: kill -9 pgnspawnctl PID and its sleep.
sc_kill() {
    local child
    child=$(H pgrep -P "$1" || true)
    H kill -9 "$1"
    [ -z "$child" ] || H kill -9 $child
}

sc_make_snapshot() {
    local out
    call Start s helloworld >/dev/null || fail "Start of helloworld failed"
    out=$(psql_hw "DROP TABLE IF EXISTS items; CREATE TABLE items (id int PRIMARY KEY, v text);
                   INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 3) g") || fail "setup: $out"
    sc_drop_snapshot
    out=$(H pgnspawnctl snapshot helloworld x 2>&1) || fail "pgnspawnctl snapshot: $out"
    expect_eq "$(sc_su "SELECT datallowconn FROM pg_database WHERE datname = 'pgnspawn_snap_x'")" f || fail "snapshot x"
}
# Deletes snapshot x of helloworld if there is one.
sc_drop_snapshot() {
    local out
    out=$(H pgnspawnctl drop-snapshot helloworld x 2>&1) || grep -q 'no snapshot named x' <<<"$out" ||
        fail "pgnspawnctl drop-snapshot: $out"
}

t_scratch_from_snapshot_has_rows() {
    sc_make_snapshot
    local out db
    out=$(H pgnspawnctl run helloworld --scratch --from x -- \
        sh -c 'psql "$DATABASE_URL" -XAtqc "select current_database(), current_user, count(*) from items"' 2>&1) ||
        fail "run --scratch failed: $out"
    expect_match "$out" '^pgnspawn_scratch_[0-9a-f]+_[0-9]+\|helloworld\|3$' || return 1
    sc_gone "${out%%|*}" || return 1
    # PG* too (bare psql), and the database is gone once the command has ended.
    out=$(H pgnspawnctl run helloworld --scratch -- psql -XAtqc 'select current_database(), count(*) from pg_class where relname = $$items$$' 2>&1) ||
        fail "run --scratch (empty) failed: $out"
    expect_match "$out" '^pgnspawn_scratch_[0-9a-f]+_[0-9]+\|0$' || return 1
    sc_gone "${out%%|*}" || return 1
    # The next one comes from the copies made ahead of time: still the snapshot's rows,
    # and a database of its own.
    sleep 1
    db=$(H pgnspawnctl run helloworld --scratch --from x -- sh -c 'psql -XAtqc "insert into items values (4)"; psql -XAtqc "select current_database(), count(*) from items"' 2>&1)
    expect_match "$db" '^pgnspawn_scratch_[0-9a-f]+_[0-9]+\|4$' || return 1
    out=$(H pgnspawnctl run helloworld --scratch --from x -- psql -XAtqc 'select count(*) from items' 2>&1)
    expect_eq "$out" 3 "rows in the next scratch database" || return 1
    sc_gone "${db%%|*}"
}

t_scratch_run_without_scratch_and_exit_status() {
    local out rc
    out=$(H pgnspawnctl run helloworld -- sh -c 'psql -XAtqc "select current_database()"; exit 7' 2>&1)
    rc=$?
    expect_eq "$rc" 7 "exit status of run" || return 1
    expect_eq "$out" helloworld || return 1
    out=$(H pgnspawnctl run helloworld --scratch -- sh -c 'echo $PGDATABASE; kill -9 $$')
    rc=$?
    expect_eq "$rc" 137 "exit status of a command killed by SIGKILL" || return 1
    sc_gone "$out"
}

# The daemon's NameOwnerChanged match rules, one a line (dbus-daemon's Debug.Stats).
sc_owner_rules() {
    local daemon
    daemon=$(H busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s org.pgnspawn1 |
        sed 's/^s "\(.*\)"$/\1/')
    H busctl --json=short call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.Debug.Stats \
        GetAllMatchRules | python3 -c '
import json, sys
rules = json.load(sys.stdin)["data"][0].get(sys.argv[1], [])
print("\n".join(r for r in rules if "NameOwnerChanged" in r))' "$daemon"
}

t_scratch_owner_watched_only_while_it_holds_one() {
    # An idle daemon does not listen to every owner change on the bus; while a client
    # holds a scratch database, one rule for its unique name; gone with the client.
    local rules pid db i
    rules=$(sc_owner_rules) || fail "cannot read the bus's match rules"
    expect_eq "$rules" "" "NameOwnerChanged rules of an idle daemon" || return 1
    pid=$(sc_hold helloworld --scratch --from x) || fail "cannot start the holder"
    db=$(sc_held "$pid") || { sc_kill "$pid"; fail "the holder got no database"; }
    rules=$(sc_owner_rules)
    # The bus lists a rule's keys in its own order.
    expect_match "$rules" "member='NameOwnerChanged'" && expect_match "$rules" "sender='org.freedesktop.DBus'" &&
        expect_match "$rules" "arg0=':1\.[0-9]+'" ||
        { sc_kill "$pid"; return 1; }
    expect_eq "$(wc -l <<<"$rules")" 1 "one rule while one client holds a database" || { sc_kill "$pid"; return 1; }
    sc_kill "$pid"
    sc_gone "$db" || return 1
    for i in $(seq 1 50); do [ -z "$(sc_owner_rules)" ] && break; sleep 0.1; done
    expect_eq "$(sc_owner_rules)" "" "NameOwnerChanged rules after the client died"
}

t_scratch_dropped_when_client_killed() {
    local pid db
    pid=$(sc_hold helloworld --scratch --from x) || fail "cannot start the holder"
    db=$(sc_held "$pid") || { sc_kill "$pid"; fail "the holder got no database"; }
    expect_eq "$(sc_exists "$db")" 1 "the held database exists" || { sc_kill "$pid"; return 1; }
    sc_kill "$pid"
    sc_gone "$db"
}

t_scratch_eight_at_once() {
    local out db
    out=$(H sh -c 'for i in 1 2 3 4 5 6 7 8; do
            pgnspawnctl run helloworld --scratch --from x -- psql -XAtqc "select current_database(), count(*) from items" &
        done; wait' 2>&1)
    expect_eq "$(cut -d'|' -f2 <<<"$out" | tr '\n' ' ')" "3 3 3 3 3 3 3 3 " "eight workers: $out" || return 1
    expect_eq "$(cut -d'|' -f1 <<<"$out" | sort -u | wc -l)" 8 "eight distinct databases" || return 1
    for db in $(cut -d'|' -f1 <<<"$out"); do sc_gone "$db" || return 1; done
}

t_scratch_member_may_outsider_may_not() {
    sc_users
    local out
    out=$(sc_as dev pgnspawnctl run helloworld --scratch --from x -- psql -XAtqc 'select count(*) from items' 2>&1) ||
        fail "dev could not: $out"
    expect_eq "$out" 3 || return 1
    out=$(sc_as stranger dbus-send --system --print-reply --dest=org.pgnspawn1 /org/pgnspawn1 \
        org.pgnspawn1.Manager.CreateScratchDatabase string:helloworld string:x 2>&1)
    expect_match "$out" 'org.freedesktop.DBus.Error.AccessDenied'
}

t_scratch_bad_input_named_errors() {
    local out
    out=$(dsend CreateScratchDatabase string:helloworld string:../x)
    expect_match "$out" 'org.freedesktop.DBus.Error.InvalidArgs' || return 1
    out=$(dsend CreateScratchDatabase string:helloworld string:nosuch)
    expect_match "$out" 'org.pgnspawn1.Error.NoSuchSnapshot' || return 1
    out=$(dsend CreateScratchDatabase string:nosuch string:)
    expect_match "$out" 'org.pgnspawn1.Error.NoSuchInstance' || return 1
    out=$(dsend DropScratchDatabase string:helloworld string:helloworld)
    expect_match "$out" 'org.pgnspawn1.Error.NoSuchScratchDatabase' || return 1
    expect_eq "$(psql_hw 'select count(*) from items')" 3 "helloworld untouched"
}

t_scratch_stopped_instance_not_running() {
    call Stop s second >/dev/null || fail "Stop of second failed"
    local out
    out=$(dsend CreateScratchDatabase string:second string:)
    expect_match "$out" 'org.pgnspawn1.Error.NotRunning'
}

t_scratch_leftovers_dropped() {
    local out pid old db
    # A daemon restart while the instance runs: the new daemon cannot know the old owners
    # (nor its predecessor's copies made ahead of time).
    out=$(sc_su "CREATE DATABASE pgnspawn_scratch_leftover_1") || fail "cannot make a leftover: $out"
    pid=$(sc_hold helloworld --scratch --from x) || fail "cannot start the holder"
    db=$(sc_held "$pid") || { sc_kill "$pid"; fail "the holder got no database"; }
    old=$(daemon_pid)
    H systemctl restart pgnspawnd
    wait_daemon_restart "$old" >/dev/null || { sc_kill "$pid"; fail "the daemon did not come back"; }
    call ListInstances >/dev/null  # activation has happened; adoption sweeps
    sc_wait_count 0 || { sc_kill "$pid"; return 1; }
    sc_kill "$pid"
    # A stop: what was held, and the copies made ahead of time, are dropped at the next start.
    pid=$(sc_hold helloworld --scratch --from x) || fail "cannot start the holder"
    db=$(sc_held "$pid") || { sc_kill "$pid"; fail "the holder got no database"; }
    sleep 1
    call Stop s helloworld >/dev/null || { sc_kill "$pid"; fail "Stop failed"; }
    sc_kill "$pid"
    call Start s helloworld >/dev/null || fail "Start failed"
    sc_wait_count 0
}

t_scratch_no_password_in_ps_or_journal() {
    local pid since out db
    since=$(date +%s)
    call Start s second >/dev/null || fail "Start of second failed"
    pid=$(sc_hold second --scratch) || fail "cannot start the holder"
    db=$(sc_held "$pid") || { sc_kill "$pid"; fail "the holder got no database"; }
    out=$(H ps -eo args)
    sc_kill "$pid"
    expect_no_match "$out" 'S3cond' || return 1
    sc_gone "$db" second 5434 || return 1
    out=$(H journalctl -o cat --no-pager --since "@$((since - 1))")
    expect_match "$out" "Dropping scratch database $db" || return 1
    expect_no_match "$out" 'S3cond'
    call Stop s second >/dev/null
}

t_scratch_cleanup() {
    sc_drop_snapshot
    call Stop s helloworld >/dev/null || fail "Stop of helloworld failed"
    call Stop s second >/dev/null || fail "Stop of second failed"
}

suite_tests+=(scratch_from_snapshot_has_rows scratch_run_without_scratch_and_exit_status
    scratch_dropped_when_client_killed scratch_owner_watched_only_while_it_holds_one scratch_eight_at_once scratch_member_may_outsider_may_not
    scratch_bad_input_named_errors scratch_stopped_instance_not_running scratch_leftovers_dropped
    scratch_no_password_in_ps_or_journal scratch_cleanup)
