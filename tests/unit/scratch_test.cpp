// The SQL and the names of scratch databases: every name quoted by libpq, the reserved
// prefix recognised exactly, the LIKE pattern matching only that prefix.

#include "images/scratch.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "unconnected_pg.hpp"

namespace pgnspawn {
namespace {

using ::testing::HasSubstr;

using test::Unconnected;

TEST(Scratch, NamesCarryThePrefixTheNonceAndASerial) {
    EXPECT_EQ(scratch_database_name("1a2b", 7), "pgnspawn_scratch_1a2b_7");
    EXPECT_TRUE(is_scratch_database_name(scratch_database_name("ffffffffff", 18446744073709551615u)));
    EXPECT_LE(scratch_database_name("ffffffffff", 18446744073709551615u).size(), 63u);
}

TEST(Scratch, OnlyTheReservedPrefixIsAScratchName) {
    EXPECT_TRUE(is_scratch_database_name("pgnspawn_scratch_a_1"));
    EXPECT_FALSE(is_scratch_database_name("pgnspawn_scratch_"));
    EXPECT_FALSE(is_scratch_database_name("pgnspawn_snap_x"));
    EXPECT_FALSE(is_scratch_database_name("helloworld"));
    EXPECT_FALSE(is_scratch_database_name("pgnspawn_scratch_A"));
    EXPECT_FALSE(is_scratch_database_name("pgnspawn_scratch_a\"; DROP"));
    EXPECT_FALSE(is_scratch_database_name("pgnspawnXscratch_a"));
}

TEST(Scratch, SnapshotDatabaseFollowsTheConvention) {
    EXPECT_EQ(snapshot_database("migrated"), "pgnspawn_snap_migrated");
}

TEST(Scratch, CreateQuotesEveryNameAndNamesTheStrategy) {
    Unconnected conn;
    EXPECT_EQ(create_scratch_sql(conn.get(), "pgnspawn_scratch_a_1", "hw", "pgnspawn_snap_m-1", "FILE_COPY"),
              "CREATE DATABASE \"pgnspawn_scratch_a_1\" OWNER \"hw\" TEMPLATE \"pgnspawn_snap_m-1\" "
              "STRATEGY FILE_COPY");
    EXPECT_THAT(create_scratch_sql(conn.get(), "d", "we\"ird", "template0", "WAL_LOG"),
                HasSubstr("OWNER \"we\"\"ird\" TEMPLATE \"template0\" STRATEGY WAL_LOG"));
    EXPECT_THROW(create_scratch_sql(conn.get(), "d", "u", "t", "COPY; DROP"), std::runtime_error);
}

TEST(Scratch, DropEndsSessionsAndToleratesAGoneDatabase) {
    Unconnected conn;
    EXPECT_EQ(drop_database_sql(conn.get(), "pgnspawn_scratch_a_1"),
              "DROP DATABASE IF EXISTS \"pgnspawn_scratch_a_1\" WITH (FORCE)");
}

TEST(Scratch, ExistenceCheckQuotesTheName) {
    Unconnected conn;
    EXPECT_EQ(database_exists_sql(conn.get(), "it's"),
              "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = 'it''s'");
}

TEST(Scratch, LeftoverListMatchesOnlyThePrefix) {
    // '_' is a LIKE wildcard: each one is escaped, so pgnspawnXscratch... never matches.
    EXPECT_EQ(list_scratch_sql(),
              "SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE "
              "'pgnspawn\\_scratch\\_%' ORDER BY datname");
}

}  // namespace
}  // namespace pgnspawn
