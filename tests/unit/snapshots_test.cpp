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
}

TEST(SnapshotSql, BeforePostgresql15ThereIsNoStrategyClause) {
    Unconnected conn;
    const auto steps = take_snapshot_steps(conn.get(), config("14"), "a", 1);
    EXPECT_EQ(steps[3].sql, "CREATE DATABASE \"pgnspawn_part_a\" TEMPLATE \"hwdb\"");
}

TEST(SnapshotSql, RestoreCopiesFirstThenReplacesTheDatabase) {
    Unconnected conn;
    const auto steps = restore_snapshot_steps(conn.get(), config(), "m-1");
    EXPECT_EQ(sql_of(steps),
              (std::vector<std::string>{
                  "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = 'pgnspawn_snap_m-1'",
                  "DROP DATABASE IF EXISTS \"pgnspawn_restoring\"",
                  "CREATE DATABASE \"pgnspawn_restoring\" TEMPLATE \"pgnspawn_snap_m-1\" OWNER \"hw\" STRATEGY "
                  "WAL_LOG",
                  "DROP DATABASE IF EXISTS \"hwdb\" WITH (FORCE)",
                  "ALTER DATABASE \"pgnspawn_restoring\" RENAME TO \"hwdb\"",
              }));
    ASSERT_TRUE(steps[0].required_count);
    EXPECT_EQ(*steps[0].required_count, 1);
    EXPECT_STREQ(steps[0].error->name(), error_name::NoSuchSnapshot);
}

TEST(SnapshotSql, DeleteChecksThenDrops) {
    Unconnected conn;
    const auto steps = delete_snapshot_steps(conn.get(), config(), "x");
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_STREQ(steps[0].error->name(), error_name::NoSuchSnapshot);
    EXPECT_EQ(steps[1].sql, "DROP DATABASE \"pgnspawn_snap_x\"");
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
    EXPECT_THAT(steps[3].sql, HasSubstr("TEMPLATE \"d\"\"b\""));
}

TEST(SnapshotList, ListsOnlyPrefixedDatabases) {
    EXPECT_EQ(list_snapshots_sql(),
              "SELECT substr(datname, 15), coalesce(pg_catalog.shobj_description(oid, 'pg_database'), '0'), "
              "pg_catalog.pg_database_size(oid) FROM pg_catalog.pg_database WHERE starts_with(datname, "
              "'pgnspawn_snap_') ORDER BY 1");
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
