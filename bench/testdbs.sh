# Databases for tests (issue 10), sourced by bench/run.sh (--testdbs, and in --smoke).
# Instance "bench" gets the migration set bench/migrations/*.sql, and a snapshot of it,
# "migrated": a template database pgnspawn_snap_migrated made with psql as the
# superuser (the convention of the snapshot API; where Snapshot is served, it is also
# timed). Then, side by side:
#   scratch 1      CreateScratchDatabase(bench, migrated) from one client (bench/dbus_latency;
#                  each call followed by an untimed DropScratchDatabase): p50, p99
#   scratch 8      eight such clients at once: the median of their p50s, the worst p99
#   snapshot/restore  Snapshot and Restore over busctl, if the daemon serves them: Restore
#                  2 s after the Snapshot (its ready copy made meanwhile), and once more
#                  right after that Restore (waiting for its background work)
#   migrations     what sqlx::test does per test: CREATE DATABASE, then every migration
#   tc restore     testcontainers' restore SQL with psql: DROP DATABASE ... WITH (FORCE);
#                  CREATE DATABASE ... TEMPLATE ...
#   template copy  CREATE DATABASE ... TEMPLATE pgnspawn_snap_migrated alone, with
#                  STRATEGY FILE_COPY and WAL_LOG (psql's \timing, the server's time)
# Expects from run.sh: H, timed, med, mgr, runs, calls, smoke, build, commit, out_file.

td_reps=$runs td_calls=$((calls / 10 > 50 ? calls / 10 : 50))
[ "$smoke" = 1 ] && td_reps=2 td_calls=16
td_su="psql -h /var/lib/pgnspawn/bench/run -p 5440 -U postgres -XAtq -v ON_ERROR_STOP=1 -d postgres"
td_user="env PGPASSWORD=bench psql -h 127.0.0.1 -p 5440 -U bench -XAtq -v ON_ERROR_STOP=1"
td_files=$(cd "$here/migrations" && for f in *.sql; do printf ' -f /var/tmp/migrations/%s' "$f"; done)
[ -n "$td_files" ] || die "no migrations in bench/migrations"

tar -C "$here" -cf - migrations | H tar -C /var/tmp -xf - || die "cannot copy the migrations into the host"
H sh -c "$mgr Start s bench" >/dev/null || die "Start of bench failed"
H sh -c "$td_su -c 'DROP DATABASE IF EXISTS bench WITH (FORCE)' -c 'CREATE DATABASE bench OWNER bench'" >/dev/null ||
    die "cannot reset the bench database"
H sh -c "$td_user -d bench $td_files" >/dev/null || die "the migrations failed"
td_rows=$(H sh -c "$td_user -d bench -c \"SELECT sum(n_live_tup) FROM pg_stat_user_tables\"")
td_tables=$(H sh -c "$td_user -d bench -c \"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'\"")
H sh -c "$td_su -c 'DROP DATABASE IF EXISTS pgnspawn_snap_migrated' \
    -c 'CREATE DATABASE pgnspawn_snap_migrated TEMPLATE bench' \
    -c 'ALTER DATABASE pgnspawn_snap_migrated ALLOW_CONNECTIONS false'" >/dev/null || die "cannot make the snapshot"

# latency_line ARGS: runs dbus_latency in the host, prints "p50 p99" in ms.
td_latency() {
    local line
    line=$(H /usr/local/bin/dbus_latency --method CreateScratchDatabase --name bench --snapshot migrated \
        --warmup 2 --calls "$1" 2>&1) || die "dbus_latency CreateScratchDatabase: $line"
    awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}} END {printf "%.1f %.1f\n", v["p50_us"] / 1000, v["p99_us"] / 1000}' <<<"$line"
}
read -r td_s1_50 td_s1_99 <<<"$(td_latency "$td_calls")"
td_par=$(H sh -c "for i in 1 2 3 4 5 6 7 8; do /usr/local/bin/dbus_latency --method CreateScratchDatabase --name bench \
    --snapshot migrated --warmup 1 --calls $((td_calls / 8 > 5 ? td_calls / 8 : 5)) >/var/tmp/lat\$i 2>&1 & done; wait
    cat /var/tmp/lat[1-8]") || die "8 clients at once: $td_par"
grep -q 'p50_us=' <<<"$td_par" && [ "$(grep -c 'p50_us=' <<<"$td_par")" = 8 ] || die "8 clients at once: $td_par"
td_s8_50=$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$td_par" | median | awk '{printf "%.1f", $1 / 1000}')
td_s8_99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$td_par" | sort -n | tail -n1 | awk '{printf "%.1f", $1 / 1000}')
# What remains are the copies made ahead of time: at most 8 (kPoolSize) for the one snapshot.
td_left=$(H sh -c "$td_su -c \"SELECT count(*) FROM pg_database WHERE datname LIKE 'pgnspawn\\\\_scratch\\\\_%'\"")
[ -n "$td_left" ] && [ "$td_left" -le 8 ] || die "scratch databases were left behind: $td_left"

declare -a td_mig td_tc td_fc td_wl td_snap td_rest td_rest_now
td_server_ms() { H sh -c "$td_su -c '\\timing on' -c \"$1\"" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n1; }
td_has_snapshots=0
H busctl introspect org.pgnspawn1 /org/pgnspawn1 org.pgnspawn1.Manager 2>/dev/null | grep -q '^\.Restore ' && td_has_snapshots=1
for k in $(seq "$td_reps"); do
    td_mig+=("$(timed "$td_su -c 'CREATE DATABASE mig OWNER bench' && $td_user -d mig $td_files")") || die "migrations failed"
    H sh -c "$td_su -c 'DROP DATABASE mig WITH (FORCE)'" >/dev/null || die "cannot drop mig"
    td_tc+=("$(timed "$td_su -c 'DROP DATABASE IF EXISTS tc WITH (FORCE)' -c 'CREATE DATABASE tc TEMPLATE pgnspawn_snap_migrated'")") ||
        die "testcontainers restore failed"
    for s in FILE_COPY WAL_LOG; do
        ms=$(td_server_ms "CREATE DATABASE td_copy TEMPLATE pgnspawn_snap_migrated STRATEGY $s")
        [ -n "$ms" ] || die "CREATE DATABASE STRATEGY $s failed"
        if [ "$s" = FILE_COPY ]; then td_fc+=("$ms"); else td_wl+=("$ms"); fi
        H sh -c "$td_su -c 'DROP DATABASE td_copy'" >/dev/null || die "cannot drop td_copy"
    done
    if [ "$td_has_snapshots" = 1 ]; then
        td_snap+=("$(timed "$mgr Snapshot ss bench s$k")") || die "Snapshot failed"
        # Idle, as while a test runs: the snapshot's ready copy is made meanwhile.
        sleep 2
        td_rest+=("$(timed "$mgr Restore ss bench s$k")") || die "Restore failed"
        # Right after: waits for the previous Restore's new ready copy (its drop is deferred).
        td_rest_now+=("$(timed "$mgr Restore ss bench s$k")") || die "Restore failed"
    fi
done
H sh -c "$td_su -c 'DROP DATABASE IF EXISTS tc WITH (FORCE)'" >/dev/null

td_met() { if awk "BEGIN {exit !($1)}"; then echo met; else echo "NOT met"; fi; }
td_mig_m=$(med "${td_mig[@]}") td_tc_m=$(med "${td_tc[@]}")
{
    echo
    echo "databases for tests: $td_tables tables, $td_rows rows (bench/migrations), $td_reps run(s), $td_calls scratch calls, pgnspawn $commit"
    echo
    echo "| per test database                         |      p50 |      p99 |"
    echo "|-------------------------------------------|----------|----------|"
    printf '| %-41s | %5s ms | %5s ms |\n' "scratch from snapshot, one at a time" "$td_s1_50" "$td_s1_99"
    printf '| %-41s | %5s ms | %5s ms |\n' "scratch from snapshot, 8 clients at once" "$td_s8_50" "$td_s8_99"
    if [ "$td_has_snapshots" = 1 ]; then
        printf '| %-41s | %5s ms | %8s |\n' "Snapshot (busctl)" "$(med "${td_snap[@]}")" ""
        printf '| %-41s | %5s ms | %8s |\n' "Restore after 2 s idle (busctl)" "$(med "${td_rest[@]}")" ""
        printf '| %-41s | %5s ms | %8s |\n' "Restore right after a Restore (busctl)" "$(med "${td_rest_now[@]}")" ""
    else
        printf '| %-41s | %19s |\n' "Snapshot, Restore" "not measured: needs the snapshot branch"
    fi
    printf '| %-41s | %5s ms | %8s |\n' "new database + migrations (sqlx::test)" "$td_mig_m" ""
    printf '| %-41s | %5s ms | %8s |\n' "testcontainers restore SQL (psql)" "$td_tc_m" ""
    printf '| %-41s | %5s ms | %8s |\n' "CREATE DATABASE TEMPLATE, FILE_COPY (server)" "$(med "${td_fc[@]}")" ""
    printf '| %-41s | %5s ms | %8s |\n' "CREATE DATABASE TEMPLATE, WAL_LOG (server)" "$(med "${td_wl[@]}")" ""
    echo
    echo "targets: scratch p50 <= 10 ms, one at a time: $(td_met "$td_s1_50 <= 10") ($td_s1_50 ms); 8 at once: $(td_met "$td_s8_50 <= 10") ($td_s8_50 ms)"
    echo "         scratch >= 10x faster than re-running the migrations: $(td_met "$td_s1_50 * 10 <= $td_mig_m") ($(awk -v a="$td_mig_m" -v b="$td_s1_50" 'BEGIN {printf "%.1f", a / b}') x)"
    if [ "$td_has_snapshots" = 1 ]; then
        echo "         Restore no slower than testcontainers' restore SQL: after idle $(td_met "$(med "${td_rest[@]}") <= $td_tc_m"); right after a Restore $(td_met "$(med "${td_rest_now[@]}") <= $td_tc_m")"
    else
        echo "         Restore no slower than testcontainers' restore SQL: not measured (needs the snapshot branch)"
    fi
    echo "raw (ms): migrations ${td_mig[*]} | tc restore ${td_tc[*]} | FILE_COPY ${td_fc[*]} | WAL_LOG ${td_wl[*]}"
    [ "$td_has_snapshots" = 1 ] &&
        echo "          Snapshot ${td_snap[*]} | Restore after idle ${td_rest[*]} | Restore right after ${td_rest_now[*]}"
} | tee -a "$out_file"
H sh -c "$mgr Stop s bench" >/dev/null || die "Stop of bench failed"
