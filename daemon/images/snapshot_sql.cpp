// The SQL of snapshot operations (images/snapshots.hpp): pure functions, unit-tested.
#include "core/names.hpp"
#include "images/provision.hpp"
#include "images/snapshots.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace pgnspawn {

namespace {

/// WAL_LOG: measured about twice as fast as FILE_COPY for a migrated test database, whose
/// two checkpoints cost more than copying the pages through the WAL (README, Snapshots).
/// STRATEGY exists from PostgreSQL 15 on; before that FILE_COPY is the only way.
std::string copy_clause(const InstanceConfig& c) {
    return std::atoi(c.postgresql_version.c_str()) >= 15 ? " STRATEGY WAL_LOG" : "";
}

std::string count_sql(PGconn* conn, const std::string& database) {
    return fmt::format("SELECT count(*) FROM pg_catalog.pg_database WHERE datname = {}", quote_literal(conn, database));
}

/// Ends every other session on `database`; CREATE DATABASE ... TEMPLATE and ALTER
/// DATABASE ... RENAME then wait (up to 5 s) for them to be gone.
std::string terminate_sql(PGconn* conn, const std::string& database) {
    return fmt::format(
        "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity "
        "WHERE datname = {} AND pid <> pg_catalog.pg_backend_pid()",
        quote_literal(conn, database));
}

SqlStep plain(std::string sql) { return statement(std::move(sql)); }

SqlStep require(std::string sql, long count, DomainError error) {
    SqlStep s = plain(std::move(sql));
    s.required_count = count;
    s.error = std::move(error);
    return s;
}

SqlStep must_not_exist(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    return require(count_sql(conn, kSnapshotPrefix + snapshot), 0,
                   DomainError(error_name::SnapshotExists,
                               fmt::format("instance {} already has a snapshot named {}", c.name, snapshot)));
}

SqlStep must_exist(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    return require(
        count_sql(conn, kSnapshotPrefix + snapshot), 1,
        DomainError(error_name::NoSuchSnapshot, fmt::format("instance {} has no snapshot named {}", c.name, snapshot)));
}

SqlStep condition(std::string sql) {
    SqlStep s = plain(std::move(sql));
    s.condition = true;
    return s;
}

SqlStep run_if(long answer, std::string sql) {
    SqlStep s = plain(std::move(sql));
    s.run_if = answer;
    return s;
}

/// How many bytes a WAL_LOG copy of `database_literal` needs: its pages twice (the copy
/// and the WAL that carries them until the next checkpoint) and 64 MiB for WAL segments
/// and catalog growth. WAL_LOG does not fail on a full disk: the pages wait in shared
/// buffers and the checkpoint fails later, again and again (README, Snapshots), so the
/// space is checked before the copy.
SqlStep space_for_copy(const std::string& database_literal, std::optional<long> when) {
    SqlStep s = plain(fmt::format(
        "SELECT 2 * coalesce(sum(pg_catalog.pg_database_size(oid)), 0) + 67108864 FROM pg_catalog.pg_database "
        "WHERE datname = {}",
        database_literal));
    s.space_check = true;
    s.run_if = when;
    return s;
}

/// The valid ready copies: unconnectable, and commented with their snapshot's oid, so a
/// copy of an earlier snapshot of the same name (or anything else that took the name)
/// is never put in place of the database.
std::string ready_matches_sql(const std::string& ready, const std::string& snap_oid) {
    return fmt::format(
        "SELECT FROM pg_catalog.pg_database r WHERE r.datname = {} AND NOT r.datallowconn AND "
        "pg_catalog.shobj_description(r.oid, 'pg_database') = {}::text",
        ready, snap_oid);
}

/// Appends the steps that make the ready copy of `snapshot` unless a valid one exists:
/// a condition answering 1 when one is needed, then the steps that run only then.
void append_make_ready(std::vector<SqlStep>& steps, PGconn* conn, const InstanceConfig& c,
                       const std::string& snapshot) {
    const std::string ready = quote_identifier(conn, ready_database(snapshot));
    const std::string ready_literal = quote_literal(conn, ready_database(snapshot));
    const std::string snap = quote_identifier(conn, kSnapshotPrefix + snapshot);
    const std::string snap_literal = quote_literal(conn, kSnapshotPrefix + snapshot);
    steps.push_back(
        condition(fmt::format("SELECT count(*) FROM pg_catalog.pg_database s WHERE s.datname = {} AND NOT EXISTS ({})",
                              snap_literal, ready_matches_sql(ready_literal, "s.oid"))));
    steps.push_back(run_if(1, fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", ready)));  // a stale one
    steps.push_back(space_for_copy(snap_literal, 1));
    steps.push_back(run_if(1, fmt::format("CREATE DATABASE {} OWNER {} TEMPLATE {}{} ALLOW_CONNECTIONS false", ready,
                                          quote_identifier(conn, c.user), snap, copy_clause(c))));
    // COMMENT takes a literal only: the oid is put in by format() on the server.
    steps.push_back(
        run_if(1, fmt::format("DO $pgnspawn$BEGIN EXECUTE pg_catalog.format('COMMENT ON DATABASE %I IS %L', {}, "
                              "(SELECT oid::text FROM pg_catalog.pg_database WHERE datname = {})); END$pgnspawn$",
                              ready_literal, snap_literal)));
}

}  // namespace

std::string ready_database(const std::string& snapshot) { return kReadyPrefix + snapshot; }

std::vector<SqlStep> take_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot,
                                         uint64_t now_usec) {
    const std::string partial = quote_identifier(conn, kSnapshotPartialPrefix + snapshot);
    const std::string db = quote_identifier(conn, c.database);
    return {
        must_not_exist(conn, c, snapshot),
        plain(fmt::format("DROP DATABASE IF EXISTS {}", partial)),  // left by a crash mid-way
        // A ready copy without its snapshot is stale (the snapshot was dropped by hand).
        plain(fmt::format("DROP DATABASE IF EXISTS {}", quote_identifier(conn, ready_database(snapshot)))),
        space_for_copy(quote_literal(conn, c.database), std::nullopt),
        plain(terminate_sql(conn, c.database)),
        plain(fmt::format("CREATE DATABASE {} TEMPLATE {}{}", partial, db, copy_clause(c))),
        plain(fmt::format("ALTER DATABASE {} ALLOW_CONNECTIONS false", partial)),
        plain(fmt::format("COMMENT ON DATABASE {} IS {}", partial, quote_literal(conn, std::to_string(now_usec)))),
        plain(
            fmt::format("ALTER DATABASE {} RENAME TO {}", partial, quote_identifier(conn, kSnapshotPrefix + snapshot))),
    };
}

std::vector<SqlStep> restore_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    const std::string db = quote_identifier(conn, c.database);
    const std::string db_literal = quote_literal(conn, c.database);
    std::vector<SqlStep> steps{
        must_exist(conn, c, snapshot),
        // Only reads run before the swap unless something is missing: DROP and CREATE
        // DATABASE would lock pg_database, and DROP checkpoints.
        // The database was dropped by hand: an empty one stands in, to be replaced.
        condition(count_sql(conn, c.database)),
        run_if(0, create_database_sql(conn, c)),
    };
    // Normally made ahead of time, after the snapshot or the last Restore.
    append_make_ready(steps, conn, c, snapshot);
    // One transaction: a Restore interrupted at any point leaves the old database or the
    // new one under its name, never neither. Renaming waits for the ended sessions to go.
    // The replaced database is named after its oid, unique while it exists, so a Restore
    // never waits for the drop of the one before (dropped later, while idle).
    steps.push_back(plain(fmt::format(
        "BEGIN; {}; DO $pgnspawn$BEGIN EXECUTE pg_catalog.format('ALTER DATABASE %I RENAME TO %I', {}, '{}' || "
        "(SELECT oid FROM pg_catalog.pg_database WHERE datname = {})); END$pgnspawn$; ALTER DATABASE {} RENAME TO {}; "
        "ALTER DATABASE {} OWNER TO {}; ALTER DATABASE {} ALLOW_CONNECTIONS true; COMMENT ON DATABASE {} IS NULL; "
        "COMMIT",
        terminate_sql(conn, c.database), db_literal, kReplacedPrefix, db_literal,
        quote_identifier(conn, ready_database(snapshot)), db, db, quote_identifier(conn, c.user), db, db)));
    return steps;
}

std::vector<SqlStep> prepare_restore_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    // Only the copy: WAL_LOG does not checkpoint, so the next Restore waits for no more
    // than this. Replaced databases are dropped later (replaced_databases_sql()).
    std::vector<SqlStep> steps;
    append_make_ready(steps, conn, c, snapshot);
    return steps;
}

std::string replaced_databases_sql() {
    // The unsuffixed name is what a pgnspawnd before unique names left.
    return fmt::format(
        "SELECT d.datname FROM pg_catalog.pg_database d WHERE d.datname = '{}' OR starts_with(d.datname, '{}') "
        "ORDER BY 1",
        kReplacedDatabase, kReplacedPrefix);
}

std::vector<SqlStep> delete_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    // The ready copy first: interrupted in between, the snapshot stays and gets a new one.
    return {
        must_exist(conn, c, snapshot),
        plain(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(conn, ready_database(snapshot)))),
        plain(fmt::format("DROP DATABASE {}", quote_identifier(conn, kSnapshotPrefix + snapshot))),
    };
}

std::vector<SqlStep> reset_database_steps(PGconn* conn, const InstanceConfig& c) {
    // Provisioning's own CREATE DATABASE, so that Reset gives what a first start gives.
    return {
        plain(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(conn, c.database))),
        plain(create_database_sql(conn, c)),
    };
}

std::string list_snapshots_sql() {
    // The size is what the snapshot costs on disk: itself and its ready copy.
    return fmt::format(
        "SELECT substr(d.datname, {0}), coalesce(pg_catalog.shobj_description(d.oid, 'pg_database'), '0'), "
        "pg_catalog.pg_database_size(d.oid) + coalesce((SELECT sum(pg_catalog.pg_database_size(r.oid)) "
        "FROM pg_catalog.pg_database r WHERE r.datname = '{1}' || substr(d.datname, {0})), 0) "
        "FROM pg_catalog.pg_database d WHERE starts_with(d.datname, '{2}') ORDER BY 1",
        std::strlen(kSnapshotPrefix) + 1, kReadyPrefix, kSnapshotPrefix);
}

std::string leftovers_sql() {
    // Rows: ('drop', database) for what an interrupted operation left, ('ready', snapshot)
    // for a snapshot without a valid ready copy.
    return fmt::format(
        "SELECT 'drop', d.datname FROM pg_catalog.pg_database d WHERE d.datname IN ('{0}', 'pgnspawn_restoring') "
        "OR starts_with(d.datname, '{1}') OR starts_with(d.datname, '{8}') OR (starts_with(d.datname, '{2}') AND NOT "
        "EXISTS ("
        "SELECT FROM pg_catalog.pg_database s WHERE s.datname = '{3}' || substr(d.datname, {4}) AND EXISTS ({5}))) "
        "UNION ALL SELECT 'ready', substr(s.datname, {6}) FROM pg_catalog.pg_database s "
        "WHERE starts_with(s.datname, '{3}') AND NOT EXISTS ({7}) ORDER BY 1, 2",
        kReplacedDatabase, kSnapshotPartialPrefix, kReadyPrefix, kSnapshotPrefix, std::strlen(kReadyPrefix) + 1,
        ready_matches_sql("d.datname", "s.oid"), std::strlen(kSnapshotPrefix) + 1,
        ready_matches_sql(fmt::format("'{}' || substr(s.datname, {})", kReadyPrefix, std::strlen(kSnapshotPrefix) + 1),
                          "s.oid"),
        kReplacedPrefix);
}

std::vector<SnapshotInfo> parse_snapshot_rows(const PgRows& rows) {
    std::vector<SnapshotInfo> out;
    for (const auto& row : rows) {
        if (row.size() != 3)
            throw std::runtime_error("unexpected answer listing snapshots");
        try {
            out.push_back({row[0], std::stoull(row[1]), std::stoull(row[2])});
        } catch (const std::logic_error&) {
            throw std::runtime_error(fmt::format("malformed metadata of snapshot {}", quote_untrusted(row[0])));
        }
    }
    return out;
}

}  // namespace pgnspawn
