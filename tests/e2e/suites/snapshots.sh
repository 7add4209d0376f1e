# Snapshots of an instance's database (issue 10, item 2): Snapshot, Restore, Reset,
# ListSnapshots, DeleteSnapshot over D-Bus and pgnspawnctl, with psql as the application.
# Uses helloworld. Sourced by run.sh.

snap_as() { local u=$1; shift; H setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
snap_users() {
    H sh -c 'getent group pgnspawn >/dev/null || groupadd --system pgnspawn
             id dev >/dev/null 2>&1 || useradd --create-home --groups pgnspawn dev
             id stranger >/dev/null 2>&1 || useradd --create-home stranger'
}
# The superuser over the cluster's socket, to look at what the daemon made.
snap_su() { H psql -h /var/lib/pgnspawn/helloworld/run -p 5433 -U postgres -d postgres -XAtqc "$1" 2>&1; }
snap_count() { psql_hw 'SELECT count(*) FROM snap_t'; }
# The daemon's own databases, sorted, comma-separated.
snap_dbs() { snap_su "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'pgnspawn%'"; }
# Waits until the background work after a Snapshot or Restore is done: each snapshot has
# its ready copy and the replaced databases are gone. Fails after 60 s.
snap_settle() {
    local i want
    for i in $(seq 1 600); do
        want=$(snap_su "SELECT count(*) FROM pg_database s WHERE s.datname LIKE 'pgnspawn\_snap\_%' AND NOT EXISTS (
            SELECT FROM pg_database r WHERE r.datname = 'pgnspawn_ready_' || substr(s.datname, 15)
            AND NOT r.datallowconn AND shobj_description(r.oid, 'pg_database') = s.oid::text)
            OR s.datname IN ('pgnspawn_replaced', 'pgnspawn_restoring') OR s.datname LIKE 'pgnspawn\_part\_%'
            OR s.datname LIKE 'pgnspawn\_replaced\_%'
            OR (s.datname LIKE 'pgnspawn\_ready\_%' AND NOT EXISTS (SELECT FROM pg_database p
                WHERE p.datname = 'pgnspawn_snap_' || substr(s.datname, 16)))")
        [ "$want" = 0 ] && return 0
        sleep 0.1
    done
    fail "the background work of snapshots did not settle: $(snap_dbs)"
}
# Start of helloworld. On a loaded host a Start right after a Stop can still find the old
# transient unit loaded after the daemon's own retries ("was already loaded"): that is the
# start sequence's business (container_start.cpp), not this suite's, so it is retried once.
snap_start() {
    local out
    out=$(call Start s helloworld 2>&1) && return 0
    grep -q 'already loaded' <<<"$out" || fail "Start failed: $out"
    sleep 3
    out=$(call Start s helloworld 2>&1) || fail "Start failed twice: $out"
}
# Leaves helloworld running with no snapshots and an empty table snap_t holding `$1` rows.
snap_fresh() {
    snap_start
    local s
    for s in $(snap_su "SELECT substr(datname, 15) FROM pg_database WHERE datname LIKE 'pgnspawn\_snap\_%'"); do
        call DeleteSnapshot ss helloworld "$s" >/dev/null || fail "DeleteSnapshot $s failed"
    done
    call Reset s helloworld >/dev/null || fail "Reset failed"
    psql_hw "CREATE TABLE snap_t (i int); INSERT INTO snap_t SELECT generate_series(1, ${1:-0})" >/dev/null ||
        fail "cannot create snap_t"
}

t_snapshot_restore_roundtrip() {
    snap_fresh 3
    local out
    out=$(H pgnspawnctl snapshot helloworld base 2>&1) || fail "pgnspawnctl snapshot: $out"
    psql_hw 'INSERT INTO snap_t SELECT generate_series(1, 10)' >/dev/null
    expect_eq "$(snap_count)" 13 "rows before restore" || return 1
    out=$(H pgnspawnctl restore helloworld base 2>&1) || fail "pgnspawnctl restore: $out"
    expect_eq "$(snap_count)" 3 "rows after restore" || return 1
    # The snapshot stays, nobody may connect to it, and the database is the role's again.
    expect_eq "$(snap_su "SELECT datallowconn FROM pg_database WHERE datname = 'pgnspawn_snap_base'")" f || return 1
    expect_eq "$(snap_su "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'helloworld'")" \
        helloworld "owner after restore" || return 1
    # Restore again works (the snapshot is reusable) and psql as the role can write.
    psql_hw 'DELETE FROM snap_t' >/dev/null
    call Restore ss helloworld base >/dev/null || fail "second Restore failed"
    expect_eq "$(snap_count)" 3 "rows after the second restore"
}

t_snapshot_reset_gives_empty_database() {
    snap_fresh 5
    call Snapshot ss helloworld keep >/dev/null || fail "Snapshot failed"
    local out
    out=$(H pgnspawnctl reset helloworld 2>&1) || fail "pgnspawnctl reset: $out"
    expect_eq "$(psql_hw "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0 "tables after reset" ||
        return 1
    expect_eq "$(psql_hw 'SELECT current_user')" helloworld || return 1
    # Snapshots are kept by a reset.
    expect_match "$(H pgnspawnctl snapshots helloworld)" '^keep ' || return 1
    call Restore ss helloworld keep >/dev/null && expect_eq "$(snap_count)" 5 "rows restored after reset"
}

t_snapshot_list_json_and_text() {
    snap_fresh 1000
    local before after out
    before=$(date +%s)
    call Snapshot ss helloworld migrated >/dev/null || fail "Snapshot failed"
    after=$(date +%s)
    out=$(H pgnspawnctl snapshots helloworld --json) || fail "snapshots --json: $out"
    python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
[s] = doc["snapshots"]
assert s["name"] == "migrated", s
assert int(sys.argv[2]) * 10**6 - 10**6 <= s["created_usec"] <= (int(sys.argv[3]) + 1) * 10**6, s
assert s["size_bytes"] > 1000000, s
' "$out" "$before" "$after" || fail "bad JSON: $out"
    out=$(call ListSnapshots s helloworld) || fail "ListSnapshots failed"
    expect_match "$out" '^a\(stt\) 1 "migrated" [0-9]{16} [0-9]+$' || return 1
    out=$(H pgnspawnctl snapshots helloworld)
    expect_match "$out" '^SNAPSHOT +CREATED +SIZE$' && expect_match "$out" '^migrated +20[0-9-]{8}T[0-9:]{8}Z +[0-9]+$' ||
        return 1
    out=$(H pgnspawnctl drop-snapshot helloworld migrated 2>&1) || fail "drop-snapshot: $out"
    expect_eq "$(H pgnspawnctl snapshots helloworld --json)" '{"snapshots":[]}' || return 1
    # The snapshot and its ready copy are gone at once; what earlier Restores replaced
    # goes once the instance is idle.
    expect_eq "$(snap_dbs | tr , '\n' | grep -v '^pgnspawn_replaced_[0-9]*$' | paste -sd,)" "" "databases left" ||
        return 1
    snap_settle
    expect_eq "$(snap_dbs)" "" "databases left once idle"
}

t_snapshot_property_changes() {
    snap_fresh 0
    expect_eq "$(prop helloworld Snapshots)" 'as 0' || return 1
    H sh -c 'timeout 60 dbus-monitor --system "type=signal,sender=org.pgnspawn1,path=/org/pgnspawn1/instance/helloworld" > /tmp/snap-signals.txt 2>&1 & echo $! > /tmp/snap-monitor.pid'
    sleep 1
    call Snapshot ss helloworld p1 >/dev/null || fail "Snapshot failed"
    call Snapshot ss helloworld p0 >/dev/null || fail "Snapshot failed"
    sleep 1
    H sh -c 'kill $(cat /tmp/snap-monitor.pid)' 2>/dev/null
    expect_eq "$(prop helloworld Snapshots)" 'as 2 "p0" "p1"' || return 1
    local out; out=$(H cat /tmp/snap-signals.txt)
    expect_match "$out" 'member=PropertiesChanged' && expect_match "$out" '"Snapshots"' || return 1
    expect_match "$(tr -d '\n' <<<"$out")" '"p0" +string "p1"'
}

t_snapshot_survives_stop_start_and_daemon_restart() {
    snap_fresh 7
    call Snapshot ss helloworld durable >/dev/null || fail "Snapshot failed"
    call Stop s helloworld >/dev/null || fail "Stop failed"
    snap_start
    expect_match "$(call ListSnapshots s helloworld)" '"durable"' || return 1
    local old; old=$(daemon_pid)
    H systemctl restart pgnspawnd || fail "restart failed"
    wait_daemon_restart "$old" >/dev/null || fail "the daemon did not come back"
    expect_match "$(call ListSnapshots s helloworld)" '"durable"' || return 1
    # Adopting the running instance reads its snapshots into the property.
    local i
    for i in $(seq 1 50); do [ "$(prop helloworld Snapshots)" = 'as 1 "durable"' ] && break; sleep 0.1; done
    expect_eq "$(prop helloworld Snapshots)" 'as 1 "durable"' "property after a daemon restart" || return 1
    psql_hw 'DELETE FROM snap_t' >/dev/null
    call Restore ss helloworld durable >/dev/null || fail "Restore after restart failed"
    expect_eq "$(snap_count)" 7
}

t_snapshot_restore_ends_connected_session() {
    snap_fresh 2
    call Snapshot ss helloworld s1 >/dev/null || fail "Snapshot failed"
    psql_hw 'INSERT INTO snap_t VALUES (99)' >/dev/null
    # A psql session sitting in the database, as an IDE would.
    H sh -c 'PGPASSWORD=helloworld PGAPPNAME=idle-ide psql -h 127.0.0.1 -p 5433 -U helloworld -d helloworld -XAtq \
        -c "SELECT 1" -c "SELECT pg_sleep(120)" > /tmp/snap-psql.txt 2>&1 & echo $! > /tmp/snap-psql.pid'
    local i
    for i in $(seq 1 50); do
        [ "$(snap_su "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idle-ide'")" = 1 ] && break
        sleep 0.1
    done
    expect_eq "$(snap_su "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idle-ide'")" 1 || return 1
    local out; out=$(H pgnspawnctl restore helloworld s1 2>&1) || fail "restore with a session connected: $out"
    expect_eq "$(snap_count)" 2 "rows after restore" || return 1
    for i in $(seq 1 50); do H test -d "/proc/$(H cat /tmp/snap-psql.pid)" || break; sleep 0.1; done
    H test -d "/proc/$(H cat /tmp/snap-psql.pid)" && fail "the psql session still runs"
    expect_match "$(H cat /tmp/snap-psql.txt)" 'terminat'
}

t_snapshot_ends_connected_session() {
    # Decided: Snapshot ends other sessions on the database, as Restore does.
    snap_fresh 4
    H sh -c 'PGPASSWORD=helloworld PGAPPNAME=idle-ide psql -h 127.0.0.1 -p 5433 -U helloworld -d helloworld -XAtq \
        -c "SELECT pg_sleep(120)" > /tmp/snap-psql2.txt 2>&1 & echo $! > /tmp/snap-psql2.pid'
    local i
    for i in $(seq 1 50); do
        [ "$(snap_su "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idle-ide'")" = 1 ] && break
        sleep 0.1
    done
    local out; out=$(H pgnspawnctl snapshot helloworld busy 2>&1) || fail "snapshot with a session connected: $out"
    expect_eq "$(snap_su "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idle-ide'")" 0 || return 1
    psql_hw 'DELETE FROM snap_t' >/dev/null
    call Restore ss helloworld busy >/dev/null && expect_eq "$(snap_count)" 4 "rows of the snapshot"
}

t_snapshot_bad_names_change_nothing() {
    snap_fresh 1
    call Snapshot ss helloworld good >/dev/null || fail "Snapshot failed"
    local out name
    for name in "" "a_b" "-x" "../etc" "$(printf 'x%.0s' $(seq 1 49))" "a'b"; do
        out=$(dsend Snapshot string:helloworld "string:$name")
        expect_match "$out" '^Error org.freedesktop.DBus.Error.InvalidArgs: the snapshot name' || return 1
        out=$(dsend Restore string:helloworld "string:$name")
        expect_match "$out" '^Error org.freedesktop.DBus.Error.InvalidArgs: the snapshot name' || return 1
    done
    expect_match "$(dsend Restore string:helloworld string:nope)" \
        '^Error org.pgnspawn1.Error.NoSuchSnapshot: instance helloworld has no snapshot named nope' || return 1
    expect_match "$(dsend DeleteSnapshot string:helloworld string:nope)" '^Error org.pgnspawn1.Error.NoSuchSnapshot' ||
        return 1
    expect_match "$(dsend Snapshot string:helloworld string:good)" \
        '^Error org.pgnspawn1.Error.SnapshotExists: instance helloworld already has a snapshot named good' || return 1
    expect_match "$(dsend Snapshot string:nosuch string:good)" '^Error org.pgnspawn1.Error.NoSuchInstance' || return 1
    out=$(H pgnspawnctl restore helloworld nope 2>&1); expect_eq "$?" 1 "pgnspawnctl exit status" || return 1
    expect_match "$out" '^pgnspawnctl: cannot restore helloworld from snapshot nope: .*no snapshot named nope' || return 1
    # Nothing changed: the one snapshot, the one row.
    expect_eq "$(prop helloworld Snapshots)" 'as 1 "good"' && expect_eq "$(snap_count)" 1 && snap_settle &&
        expect_eq "$(snap_dbs)" pgnspawn_ready_good,pgnspawn_snap_good
}

t_snapshot_half_made_is_never_listed() {
    # What a crash (or a full disk) in the middle of a Snapshot leaves: the copy under its
    # temporary name. It is not a snapshot, and the next Snapshot of that name replaces it.
    snap_fresh 6
    snap_su 'CREATE DATABASE "pgnspawn_part_crashed" TEMPLATE helloworld' >/dev/null || fail "cannot fake a leftover"
    expect_eq "$(H pgnspawnctl snapshots helloworld --json)" '{"snapshots":[]}' || return 1
    expect_match "$(dsend Restore string:helloworld string:crashed)" '^Error org.pgnspawn1.Error.NoSuchSnapshot' ||
        return 1
    call Snapshot ss helloworld crashed >/dev/null || fail "Snapshot over a leftover failed"
    snap_settle
    expect_eq "$(snap_dbs)" pgnspawn_ready_crashed,pgnspawn_snap_crashed "databases after the snapshot"
}

t_snapshot_restore_swaps_in_the_ready_copy() {
    snap_fresh 3
    call Snapshot ss helloworld fast >/dev/null || fail "Snapshot failed"
    snap_settle
    # The ready copy: the role's, unconnectable, marked with its snapshot's oid.
    expect_eq "$(snap_su "SELECT pg_get_userbyid(r.datdba) || ' ' || r.datallowconn || ' ' ||
        (shobj_description(r.oid, 'pg_database') = s.oid::text) FROM pg_database r, pg_database s
        WHERE r.datname = 'pgnspawn_ready_fast' AND s.datname = 'pgnspawn_snap_fast'")" 'helloworld false true' || return 1
    # ListSnapshots counts what the snapshot costs on disk: itself and its ready copy.
    local size both
    size=$(call ListSnapshots s helloworld | awk '{print $NF}')
    both=$(snap_su "SELECT pg_database_size('pgnspawn_snap_fast') + pg_database_size('pgnspawn_ready_fast')")
    expect_eq "$size" "$both" "size of snapshot fast" || return 1
    local ready_oid; ready_oid=$(snap_su "SELECT oid FROM pg_database WHERE datname = 'pgnspawn_ready_fast'")
    psql_hw 'INSERT INTO snap_t SELECT generate_series(1, 10)' >/dev/null
    call Restore ss helloworld fast >/dev/null || fail "Restore failed"
    # The ready copy became the database (no copy was made on the way), and a new one is
    # made behind it; the replaced database is dropped.
    expect_eq "$(snap_su "SELECT oid FROM pg_database WHERE datname = 'helloworld'")" "$ready_oid" "oid" || return 1
    expect_eq "$(snap_count)" 3 "rows after restore" || return 1
    expect_eq "$(snap_su "SELECT datallowconn || ' ' || coalesce(shobj_description(oid, 'pg_database'), '-')
        FROM pg_database WHERE datname = 'helloworld'")" 'true -' "the database after restore" || return 1
    snap_settle
    expect_eq "$(snap_dbs)" pgnspawn_ready_fast,pgnspawn_snap_fast || return 1
    expect_no_match "$(snap_su "SELECT oid FROM pg_database WHERE datname = 'pgnspawn_ready_fast'")" "^$ready_oid\$" ||
        return 1
    # Without a ready copy (deleted by hand), Restore makes one on the way.
    snap_su 'DROP DATABASE pgnspawn_ready_fast' >/dev/null
    psql_hw 'DELETE FROM snap_t' >/dev/null
    call Restore ss helloworld fast >/dev/null || fail "Restore without a ready copy failed"
    expect_eq "$(snap_count)" 3 "rows after a restore without a ready copy" || return 1
    # A database of that name that is not the snapshot's copy is never put in place.
    snap_settle
    snap_su 'DROP DATABASE pgnspawn_ready_fast' >/dev/null
    snap_su "CREATE DATABASE pgnspawn_ready_fast OWNER helloworld ALLOW_CONNECTIONS false" >/dev/null
    psql_hw 'DELETE FROM snap_t' >/dev/null
    call Restore ss helloworld fast >/dev/null || fail "Restore over an impostor failed"
    expect_eq "$(snap_count)" 3 "rows after a restore over an impostor"
}

# Each Restore leaves the database it replaced under a name of its own and goes on at
# once; the drops (each a checkpoint) wait until the instance is idle, then all go.
t_snapshot_back_to_back_restores_wait_for_no_drop() {
    snap_fresh 5
    call Snapshot ss helloworld b2b >/dev/null || fail "Snapshot failed"
    snap_settle
    local out
    out=$(H sh -c 'for i in 1 2 3; do
            psql -h /var/lib/pgnspawn/helloworld/run -p 5433 -U postgres -d helloworld -XAtqc "INSERT INTO snap_t VALUES (99)" &&
            busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Restore ss helloworld b2b || exit 1
        done
        psql -h /var/lib/pgnspawn/helloworld/run -p 5433 -U postgres -d postgres -XAtqc \
            "SELECT count(*) FROM pg_database WHERE datname LIKE '"'"'pgnspawn\_replaced\_%'"'"'"' 2>&1) ||
        fail "back-to-back Restores failed: $out"
    # Three Restores, three replaced databases still there: none waited for a drop.
    expect_eq "$(echo "$out" | tail -n 1)" 3 "replaced databases right after three Restores" || return 1
    expect_eq "$(snap_count)" 5 "rows after back-to-back Restores" || return 1
    snap_settle
    expect_eq "$(snap_dbs)" pgnspawn_ready_b2b,pgnspawn_snap_b2b "databases once idle" || return 1
}

t_snapshot_leftovers_are_swept_when_the_daemon_comes_back() {
    snap_fresh 2
    call Snapshot ss helloworld keep >/dev/null || fail "Snapshot failed"
    call Snapshot ss helloworld stale >/dev/null || fail "Snapshot failed"
    snap_settle
    # What interrupted operations leave: a replaced database, a half-made snapshot, a
    # ready copy without snapshot, one whose COMMENT was never written, none at all.
    snap_su 'CREATE DATABASE pgnspawn_replaced' >/dev/null &&
        snap_su 'CREATE DATABASE pgnspawn_replaced_1' >/dev/null &&
        snap_su 'CREATE DATABASE pgnspawn_part_half TEMPLATE helloworld' >/dev/null &&
        snap_su 'CREATE DATABASE pgnspawn_ready_gone ALLOW_CONNECTIONS false' >/dev/null &&
        snap_su 'DROP DATABASE pgnspawn_ready_stale' >/dev/null &&
        snap_su 'CREATE DATABASE pgnspawn_ready_stale ALLOW_CONNECTIONS false' >/dev/null &&
        snap_su 'DROP DATABASE pgnspawn_ready_keep' >/dev/null || fail "cannot fake leftovers"
    # And a real one: killed right after a Restore, before the instance was idle long
    # enough for the drop.
    local old replaced; old=$(daemon_pid)
    replaced=$(H sh -c "busctl call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Restore ss helloworld keep >/dev/null &&
        kill -9 $old && psql -h /var/lib/pgnspawn/helloworld/run -p 5433 -U postgres -d postgres -XAtqc \
        \"SELECT string_agg(datname, ',' ORDER BY datname COLLATE \\\"C\\\") FROM pg_database WHERE datname LIKE 'pgnspawn\\_replaced%'\"")
    expect_match "$replaced" '^pgnspawn_replaced,pgnspawn_replaced_1,pgnspawn_replaced_[0-9]+$' \
        "replaced databases when the daemon was killed" || return 1
    wait_daemon_restart "$old" >/dev/null || fail "the daemon did not come back after kill -9"
    snap_settle
    expect_eq "$(snap_dbs)" pgnspawn_ready_keep,pgnspawn_ready_stale,pgnspawn_snap_keep,pgnspawn_snap_stale || return 1
    psql_hw 'DELETE FROM snap_t' >/dev/null
    call Restore ss helloworld stale >/dev/null || fail "Restore failed"
    expect_eq "$(snap_count)" 2 "rows restored"
}

# Holds pg_database in SHARE mode from a superuser session named `lockholder` (CREATE,
# DROP and ALTER DATABASE wait for it, reads do not) until snap_unlock.
snap_lock() {
    H sh -c 'psql -h /var/lib/pgnspawn/helloworld/run -p 5433 -U postgres -d postgres -XAtq \
        -c "SET application_name = lockholder" -c "BEGIN" -c "LOCK TABLE pg_catalog.pg_database IN SHARE MODE" \
        -c "SELECT pg_sleep(120)" >/dev/null 2>&1 & echo $! >/tmp/snap-lock.pid'
    local i
    for i in $(seq 1 100); do
        [ "$(snap_su "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name = 'lockholder' AND l.relation = 'pg_database'::regclass AND l.granted")" = 1 ] &&
            return 0
        sleep 0.1
    done
    fail "the lock on pg_database was not taken"
}
snap_unlock() { snap_su "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lockholder'" >/dev/null; }
# The daemon's backend waiting at the swap, or nothing.
snap_swap_waiting() {
    snap_su "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgnspawnd' AND wait_event_type = 'Lock'
        AND query LIKE 'BEGIN; SELECT count(pg_catalog.pg_terminate_backend%'"
}

t_snapshot_restore_killed_mid_swap_keeps_a_whole_database() {
    # Restore is stopped at its swap (it waits for the lock), then the daemon is killed
    # with -9 and its statement broken off: the old database stays, whole; once the
    # daemon is back, Restore works. Killed with -9 but its statement left to finish,
    # the swap completes as a whole. Never neither.
    snap_fresh 4
    call Snapshot ss helloworld mid >/dev/null || fail "Snapshot failed"
    snap_settle
    psql_hw 'INSERT INTO snap_t SELECT generate_series(1, 6)' >/dev/null
    local round pid old i
    for round in abort finish; do
        snap_lock
        H sh -c 'busctl --timeout=120 call org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager Restore ss helloworld mid \
            >/tmp/snap-restore.txt 2>&1 &'
        pid=""
        for i in $(seq 1 100); do pid=$(snap_swap_waiting); [ -n "$pid" ] && break; sleep 0.1; done
        [ -n "$pid" ] || { snap_unlock; fail "Restore did not reach its swap ($round)"; }
        old=$(daemon_pid)
        H kill -9 "$old"
        [ "$round" = abort ] && snap_su "SELECT pg_terminate_backend($pid)" >/dev/null
        snap_unlock
        wait_daemon_restart "$old" >/dev/null || fail "the daemon did not come back ($round)"
        for i in $(seq 1 100); do [ -z "$(snap_su "SELECT 1 FROM pg_stat_activity WHERE pid = $pid")" ] && break; sleep 0.1; done
        if [ "$round" = abort ]; then
            expect_eq "$(snap_count)" 10 "rows after a Restore broken off at its swap" || return 1
        else
            expect_eq "$(snap_count)" 4 "rows after a Restore whose daemon died at its swap" || return 1
        fi
        snap_settle
        expect_eq "$(snap_dbs)" pgnspawn_ready_mid,pgnspawn_snap_mid "databases after the $round round" || return 1
    done
    psql_hw 'DELETE FROM snap_t' >/dev/null
    call Restore ss helloworld mid >/dev/null || fail "Restore after the daemon came back failed"
    expect_eq "$(snap_count)" 4 "rows restored"
}

# snap_small_disk MIB: helloworld stopped, its data directory moved onto a tmpfs with MIB
# MiB free beyond its contents, started again. snap_big_disk undoes it.
snap_small_disk() {
    call Stop s helloworld >/dev/null || fail "Stop failed"
    H sh -ec "cd /var/lib/pgnspawn/helloworld; mv data data.saved; mkdir data
        mount -t tmpfs -o size=\$(( \$(du -sm data.saved | cut -f1) + $1 ))m,mode=0700,uid=\$(stat -c %u data.saved),gid=\$(stat -c %g data.saved) tmpfs data
        cp -a data.saved/. data/" || fail "cannot put the data directory on a tmpfs"
    snap_start
}
snap_big_disk() {
    call Stop s helloworld >/dev/null || fail "Stop failed"
    H sh -ec 'cd /var/lib/pgnspawn/helloworld; umount data; rmdir data; mv data.saved data' ||
        fail "cannot put the data directory back"
    snap_start
}

t_snapshot_on_a_full_disk() {
    # A real full disk: the data directory on a small tmpfs with less free space than a
    # copy needs. WAL_LOG would not fail (the pages wait in shared buffers, the
    # checkpoint fails afterwards, over and over): the space is checked first.
    snap_fresh 400000
    local size; size=$(snap_su "SELECT pg_database_size('helloworld') / 1048576")
    snap_small_disk 160
    # What the Reset of snap_fresh replaced is swept once the restarted instance is quiet:
    # gone before the disk is filled, so that only what Snapshot leaves is looked at.
    snap_settle
    # 160 MiB were free; leave 5, less than the database (about 20 MiB): the copy cannot fit.
    H sh -c 'fallocate -l $(( ($(df -m --output=avail /var/lib/pgnspawn/helloworld/data | tail -n1) - 5) ))M \
        /var/lib/pgnspawn/helloworld/data/filler' || { snap_big_disk; fail "cannot fill the disk"; }
    local out
    out=$(dsend Snapshot string:helloworld string:nospace)
    local rows; rows=$(snap_count)
    local state; state=$(prop helloworld State)
    local dbs; dbs=$(snap_dbs)
    # With space again, the same Snapshot works.
    H rm -f /var/lib/pgnspawn/helloworld/data/filler
    local again; again=$(dsend Snapshot string:helloworld string:nospace)
    local listed; listed=$(call ListSnapshots s helloworld)
    snap_big_disk
    expect_match "$out" '^Error org.pgnspawn1.Error.NoSpace: instance helloworld has [0-9]+ MiB free in /var/lib/pgnspawn/helloworld/data, and the copy needs about [0-9]+ MiB' ||
        return 1
    expect_eq "$state" 's "running"' "state after NoSpace" || return 1
    expect_eq "$rows" 400000 "rows after NoSpace" || return 1
    [ "$size" -gt 5 ] || fail "the database ($size MiB) would fit in the free space"
    expect_eq "$dbs" "" "databases after NoSpace (no pgnspawn_part_*)" || return 1
    expect_no_match "$again" '^Error' || return 1
    expect_match "$listed" '^a\(stt\) 1 "nospace" '
}

t_snapshot_of_stopped_instance() {
    snap_fresh 0
    call Stop s helloworld >/dev/null || fail "Stop failed"
    local m
    for m in Snapshot Restore DeleteSnapshot; do
        expect_match "$(dsend "$m" string:helloworld string:x)" \
            '^Error org.pgnspawn1.Error.NotRunning: instance helloworld is not running' || return 1
    done
    for m in Reset ListSnapshots; do
        expect_match "$(dsend "$m" string:helloworld)" '^Error org.pgnspawn1.Error.NotRunning' || return 1
    done
    expect_eq "$(prop helloworld State)" 's "stopped"' "not started by a snapshot call"
}

t_snapshot_group_member_yes_stranger_no() {
    snap_fresh 2
    snap_users
    local out
    out=$(snap_as dev pgnspawnctl snapshot helloworld by-dev 2>&1) || fail "dev: snapshot: $out"
    out=$(snap_as dev pgnspawnctl restore helloworld by-dev 2>&1) || fail "dev: restore: $out"
    out=$(snap_as dev pgnspawnctl snapshots helloworld 2>&1) || fail "dev: snapshots: $out"
    expect_match "$out" '^by-dev ' || return 1
    out=$(snap_as dev pgnspawnctl reset helloworld 2>&1) || fail "dev: reset: $out"
    for cmd in "snapshot helloworld by-stranger" "restore helloworld by-dev" "reset helloworld" \
        "snapshots helloworld" "drop-snapshot helloworld by-dev"; do
        # shellcheck disable=SC2086
        out=$(snap_as stranger pgnspawnctl $cmd 2>&1) && fail "stranger may: $cmd"
        expect_match "$out" 'Access denied: org\.pgnspawn1\.manage' || return 1
    done
    expect_eq "$(prop helloworld Snapshots)" 'as 1 "by-dev"' "the stranger changed nothing" || return 1
    out=$(snap_as dev pgnspawnctl drop-snapshot helloworld by-dev 2>&1) || fail "dev: drop-snapshot: $out"
    call Stop s helloworld >/dev/null
}

suite_tests+=(snapshot_restore_roundtrip snapshot_reset_gives_empty_database snapshot_list_json_and_text
              snapshot_property_changes snapshot_survives_stop_start_and_daemon_restart
              snapshot_restore_ends_connected_session snapshot_ends_connected_session
              snapshot_bad_names_change_nothing snapshot_half_made_is_never_listed
              snapshot_restore_swaps_in_the_ready_copy snapshot_back_to_back_restores_wait_for_no_drop
              snapshot_leftovers_are_swept_when_the_daemon_comes_back
              snapshot_restore_killed_mid_swap_keeps_a_whole_database snapshot_on_a_full_disk
              snapshot_of_stopped_instance snapshot_group_member_yes_stranger_no)
