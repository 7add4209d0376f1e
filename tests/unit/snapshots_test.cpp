// Snapshots: the SQL each operation runs (pure functions), the parsing of the list, and
// the snapshot-name check that comes before any of it.

#include "images/snapshots.hpp"
#include "core/names.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include "unconnected_pg.hpp"

namespace pgnspawn {
namespace {

using ::testing::HasSubstr;

using test::Unconnected;

InstanceConfig config(const std::string& version = "15") {
    InstanceConfig c;
    c.name = "dev";
    c.user = "hw";
    c.database = "hwdb";
    c.postgresql_version = version;
    return c;
}

std::vector<std::string> sql_of(const std::vector<SqlStep>& steps) {
    std::vector<std::string> out;
    for (const auto& s : steps)
        out.push_back(s.sql);
    return out;
}

TEST(SnapshotSql, SnapshotIsMadeUnderATemporaryNameAndRenamedOnceComplete) {
    Unconnected conn;
    const auto steps = take_snapshot_steps(conn.get(), config(), "migrated", 1764000000000000);
    EXPECT_EQ(sql_of(steps),
              (std::vector<std::string>{
                  "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = 'pgnspawn_snap_migrated'",
                  "DROP DATABASE IF EXISTS \"pgnspawn_part_migrated\"",
                  "DROP DATABASE IF EXISTS \"pgnspawn_ready_migrated\"",
                  "SELECT 2 * coalesce(sum(pg_catalog.pg_database_size(oid)), 0) + 67108864 FROM "
                  "pg_catalog.pg_database WHERE datname = 'hwdb'",
                  "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity WHERE "
                  "datname = 'hwdb' AND pid <> pg_catalog.pg_backend_pid()",
                  "CREATE DATABASE \"pgnspawn_part_migrated\" TEMPLATE \"hwdb\" STRATEGY WAL_LOG",
                  "ALTER DATABASE \"pgnspawn_part_migrated\" ALLOW_CONNECTIONS false",
                  "COMMENT ON DATABASE \"pgnspawn_part_migrated\" IS '1764000000000000'",
                  "ALTER DATABASE \"pgnspawn_part_migrated\" RENAME TO \"pgnspawn_snap_migrated\"",
              }));
    ASSERT_TRUE(steps[0].required_count);
    EXPECT_EQ(*steps[0].required_count, 0);
    ASSERT_TRUE(steps[0].error);
    EXPECT_STREQ(steps[0].error->name(), error_name::SnapshotExists);
    EXPECT_STREQ(steps[0].error->what(), "instance dev already has a snapshot named migrated");
    for (std::size_t i = 1; i < steps.size(); ++i)
        EXPECT_FALSE(steps[i].required_count) << steps[i].sql;
    // The free space is checked before anything is copied.
    for (std::size_t i = 0; i < steps.size(); ++i)
        EXPECT_EQ(steps[i].space_check, i == 3) << steps[i].sql;
}

TEST(SnapshotSql, BeforePostgresql15ThereIsNoStrategyClause) {
    Unconnected conn;
    const auto steps = take_snapshot_steps(conn.get(), config("14"), "a", 1);
    EXPECT_EQ(steps[5].sql, "CREATE DATABASE \"pgnspawn_part_a\" TEMPLATE \"hwdb\"");
}

/// The ready-copy steps every plan that needs one ends with (snapshot "m-1", role "hw").
const std::vector<std::string> kMakeReady{
    "SELECT count(*) FROM pg_catalog.pg_database s WHERE s.datname = 'pgnspawn_snap_m-1' AND NOT EXISTS (SELECT "
    "FROM pg_catalog.pg_database r WHERE r.datname = 'pgnspawn_ready_m-1' AND NOT r.datallowconn AND "
    "pg_catalog.shobj_description(r.oid, 'pg_database') = s.oid::text)",
    "DROP DATABASE IF EXISTS \"pgnspawn_ready_m-1\" WITH (FORCE)",
    "SELECT 2 * coalesce(sum(pg_catalog.pg_database_size(oid)), 0) + 67108864 FROM pg_catalog.pg_database WHERE "
    "datname = 'pgnspawn_snap_m-1'",
    "CREATE DATABASE \"pgnspawn_ready_m-1\" OWNER \"hw\" TEMPLATE \"pgnspawn_snap_m-1\" STRATEGY WAL_LOG "
    "ALLOW_CONNECTIONS false",
    "DO $pgnspawn$BEGIN EXECUTE pg_catalog.format('COMMENT ON DATABASE %I IS %L', 'pgnspawn_ready_m-1', (SELECT "
    "oid::text FROM pg_catalog.pg_database WHERE datname = 'pgnspawn_snap_m-1')); END$pgnspawn$",
};

/// Checks that steps[at] is kMakeReady's condition and the three after it run only on 1.
void expect_make_ready_at(const std::vector<SqlStep>& steps, std::size_t at) {
    ASSERT_GE(steps.size(), at + kMakeReady.size());
    for (std::size_t i = 0; i < kMakeReady.size(); ++i)
        EXPECT_EQ(steps[at + i].sql, kMakeReady[i]);
    EXPECT_TRUE(steps[at].condition);
    EXPECT_FALSE(steps[at].run_if);
    for (std::size_t i = 1; i < kMakeReady.size(); ++i) {
        ASSERT_TRUE(steps[at + i].run_if) << steps[at + i].sql;
        EXPECT_EQ(*steps[at + i].run_if, 1);
        EXPECT_FALSE(steps[at + i].condition);
        EXPECT_EQ(steps[at + i].space_check, i == 2) << steps[at + i].sql;
    }
}

TEST(SnapshotSql, RestoreSwapsInTheReadyCopyInOneTransaction) {
    Unconnected conn;
    const auto steps = restore_snapshot_steps(conn.get(), config(), "m-1");
    ASSERT_EQ(steps.size(), 9u);
    EXPECT_EQ(steps[0].sql, "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = 'pgnspawn_snap_m-1'");
    ASSERT_TRUE(steps[0].required_count);
    EXPECT_EQ(*steps[0].required_count, 1);
    EXPECT_STREQ(steps[0].error->name(), error_name::NoSuchSnapshot);
    // A database dropped by hand is stood in for by an empty one, which is then replaced.
    EXPECT_EQ(steps[1].sql, "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = 'hwdb'");
    EXPECT_TRUE(steps[1].condition);
    EXPECT_EQ(steps[2].sql, "CREATE DATABASE \"hwdb\" OWNER \"hw\"");
    ASSERT_TRUE(steps[2].run_if);
    EXPECT_EQ(*steps[2].run_if, 0);
    // Without a valid ready copy (the first Restore after a daemon upgrade), one is made.
    expect_make_ready_at(steps, 3);
    // The swap: one query string, one transaction, so no moment without the database. The
    // replaced database takes a name of its own (its oid): no earlier one is in the way.
    EXPECT_EQ(steps[8].sql,
              "BEGIN; SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity WHERE "
              "datname = 'hwdb' AND pid <> pg_catalog.pg_backend_pid(); DO $pgnspawn$BEGIN EXECUTE "
              "pg_catalog.format('ALTER DATABASE %I RENAME TO %I', 'hwdb', 'pgnspawn_replaced_' || (SELECT oid FROM "
              "pg_catalog.pg_database WHERE datname = 'hwdb')); END$pgnspawn$; ALTER DATABASE \"pgnspawn_ready_m-1\" "
              "RENAME TO \"hwdb\"; ALTER DATABASE \"hwdb\" OWNER TO \"hw\"; ALTER DATABASE \"hwdb\" "
              "ALLOW_CONNECTIONS true; COMMENT ON DATABASE \"hwdb\" IS NULL; COMMIT");
    EXPECT_FALSE(steps[8].run_if);
    // Nothing drops the database or waits for a drop (each DROP DATABASE checkpoints), and
    // with a ready copy only reads run before the swap: no DROP or CREATE.
    for (std::size_t i = 0; i < steps.size(); ++i) {
        EXPECT_THAT(steps[i].sql, ::testing::Not(HasSubstr("\"hwdb\" WITH"))) << steps[i].sql;
        EXPECT_THAT(steps[i].sql, ::testing::Not(HasSubstr("pgnspawn_replaced\""))) << steps[i].sql;
        if (!steps[i].run_if && i + 1 < steps.size()) {
            EXPECT_THAT(steps[i].sql, ::testing::StartsWith("SELECT ")) << steps[i].sql;
        }
    }
}

TEST(SnapshotSql, PrepareOnlyMakesTheReadyCopyAndDropsNothing) {
    Unconnected conn;
    const auto steps = prepare_restore_steps(conn.get(), config(), "m-1");
    ASSERT_EQ(steps.size(), 5u);
    expect_make_ready_at(steps, 0);
    // The only DROP is of a stale ready copy, and only when a new one is made.
    for (const auto& step : steps)
        if (step.sql.find("DROP") != std::string::npos) {
            EXPECT_THAT(step.sql, HasSubstr("pgnspawn_ready_m-1"));
            ASSERT_TRUE(step.run_if);
        }
}

TEST(SnapshotSql, ReplacedDatabasesAreEachRestoresAndTheOldName) {
    EXPECT_EQ(replaced_databases_sql(),
              "SELECT d.datname FROM pg_catalog.pg_database d WHERE d.datname = 'pgnspawn_replaced' OR "
              "starts_with(d.datname, 'pgnspawn_replaced_') ORDER BY 1");
    // The prefix and an oid (at most 10 digits) fit PostgreSQL's 63 bytes.
    EXPECT_LE(std::string(kReplacedPrefix).size() + 10, 63u);
}

TEST(SnapshotSql, ReadyCopyNamesFitPostgresqlIdentifiers) {
    EXPECT_EQ(ready_database("m-1"), "pgnspawn_ready_m-1");
    EXPECT_LE(std::string(kReadyPrefix).size() + kMaxInstanceNameLength, 63u);
}

TEST(SnapshotSql, LeftoversAreReplacedPartialAndStrayReadyCopies) {
    const std::string sql = leftovers_sql();
    EXPECT_THAT(sql, HasSubstr("d.datname IN ('pgnspawn_replaced', 'pgnspawn_restoring')"));
    EXPECT_THAT(sql, HasSubstr("starts_with(d.datname, 'pgnspawn_part_')"));
    EXPECT_THAT(sql, HasSubstr("starts_with(d.datname, 'pgnspawn_replaced_')"));
    // A ready copy is kept only while it matches an existing snapshot's oid.
    EXPECT_THAT(sql, HasSubstr("starts_with(d.datname, 'pgnspawn_ready_') AND NOT EXISTS (SELECT FROM "
                               "pg_catalog.pg_database s WHERE s.datname = 'pgnspawn_snap_' || substr(d.datname, 16)"));
    EXPECT_THAT(sql, HasSubstr("UNION ALL SELECT 'ready', substr(s.datname, 15)"));
    EXPECT_THAT(sql, HasSubstr("r.datname = 'pgnspawn_ready_' || substr(s.datname, 15) AND NOT r.datallowconn"));
}

TEST(SnapshotSql, DeleteChecksThenDrops) {
    Unconnected conn;
    const auto steps = delete_snapshot_steps(conn.get(), config(), "x");
    ASSERT_EQ(steps.size(), 3u);
    EXPECT_STREQ(steps[0].error->name(), error_name::NoSuchSnapshot);
    // The ready copy first: interrupted in between, the snapshot is still whole.
    EXPECT_EQ(steps[1].sql, "DROP DATABASE IF EXISTS \"pgnspawn_ready_x\" WITH (FORCE)");
    EXPECT_EQ(steps[2].sql, "DROP DATABASE \"pgnspawn_snap_x\"");
}

TEST(SnapshotSql, ResetDropsAndProvisionsTheDatabaseAgain) {
    Unconnected conn;
    EXPECT_EQ(sql_of(reset_database_steps(conn.get(), config())),
              (std::vector<std::string>{"DROP DATABASE IF EXISTS \"hwdb\" WITH (FORCE)",
                                        "CREATE DATABASE \"hwdb\" OWNER \"hw\""}));
}

TEST(SnapshotSql, NamesAreQuoted) {
    Unconnected conn;
    InstanceConfig c = config();
    c.database = "d\"b";
    const auto steps = take_snapshot_steps(conn.get(), c, "s", 1);
    EXPECT_THAT(steps[5].sql, HasSubstr("TEMPLATE \"d\"\"b\""));
}

TEST(SnapshotList, ListsOnlyPrefixedDatabases) {
    // The size counts the ready copy too: it is disk the snapshot costs.
    EXPECT_EQ(list_snapshots_sql(),
              "SELECT substr(d.datname, 15), coalesce(pg_catalog.shobj_description(d.oid, 'pg_database'), '0'), "
              "pg_catalog.pg_database_size(d.oid) + coalesce((SELECT sum(pg_catalog.pg_database_size(r.oid)) FROM "
              "pg_catalog.pg_database r WHERE r.datname = 'pgnspawn_ready_' || substr(d.datname, 15)), 0) FROM "
              "pg_catalog.pg_database d WHERE starts_with(d.datname, 'pgnspawn_snap_') ORDER BY 1");
}

TEST(SnapshotList, ParsesRows) {
    const auto infos = parse_snapshot_rows({{"a", "1764000000000000", "7930403"}, {"b", "0", "1"}});
    ASSERT_EQ(infos.size(), 2u);
    EXPECT_EQ(infos[0].name, "a");
    EXPECT_EQ(infos[0].created_usec, 1764000000000000u);
    EXPECT_EQ(infos[0].size_bytes, 7930403u);
    EXPECT_EQ(infos[1].name, "b");
}

TEST(SnapshotList, MalformedMetadataIsAnError) {
    EXPECT_THROW(parse_snapshot_rows({{"a", "someone's comment", "1"}}), std::runtime_error);
    EXPECT_THROW(parse_snapshot_rows({{"a", "1"}}), std::runtime_error);
}

TEST(SnapshotNames, FollowInstanceNameRules) {
    EXPECT_FALSE(snapshot_name_problem("migrated-1"));
    EXPECT_EQ(snapshot_name_problem(""), "the snapshot name is empty");
    EXPECT_EQ(snapshot_name_problem("a_b"), "the snapshot name \"a_b\" may contain only letters, digits and '-'");
    EXPECT_EQ(snapshot_name_problem("-a"), "the snapshot name \"-a\" must start with a letter or digit");
    EXPECT_EQ(snapshot_name_problem(std::string(49, 'a')),
              "the snapshot name is 49 bytes long; at most 48 are allowed");
    // The longest name still fits PostgreSQL's 63-byte identifiers with the prefix.
    EXPECT_LE(std::string(kSnapshotPrefix).size() + kMaxInstanceNameLength, 63u);
    EXPECT_LE(std::string(kSnapshotPartialPrefix).size() + kMaxInstanceNameLength, 63u);
}

TEST(SnapshotStore, OnlyTheHostImageIsSupported) {
    InstanceConfig c = config();
    EXPECT_NO_THROW(SnapshotStore::require_supported(c));
    c.image = ImageKind::Directory;
    try {
        SnapshotStore::require_supported(c);
        FAIL() << "no error";
    } catch (const DomainError& e) {
        EXPECT_STREQ(e.name(), error_name::NotSupported);
        EXPECT_THAT(e.what(), HasSubstr("snapshots need image = \"host\""));
    }
}

}  // namespace
}  // namespace pgnspawn
