// The SQL and the names of scratch databases: every name quoted by libpq, the reserved
// prefix recognised exactly, the LIKE pattern matching only that prefix.

#include "images/scratch.hpp"
#include "bus/manager_dbus.hpp"
#include "platform/event_loop.hpp"

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

// The bus watches a connection only while it holds something: the watch is asked for
// with the first scratch database (or request) of an owner and given up after the last.
struct OwnerWatchLog {
    std::vector<std::string> events;  ///< "+:1.5" on, "-:1.5" off
    void attach(ScratchDatabases& scratch) {
        scratch.set_owner_watch(
            [this](const std::string& owner, bool watch) { events.push_back((watch ? "+" : "-") + owner); });
    }
};

InstanceConfig unreachable() {
    InstanceConfig c;
    c.name = "no-such-instance-for-unit-tests";
    c.port = 1;
    c.user = "u";
    c.database = "d";
    return c;
}

TEST(ScratchOwnerWatch, HoldsAndReleasesCountPerOwner) {
    EventLoop loop;
    ScratchDatabases scratch(loop, "n", std::chrono::seconds(5));
    OwnerWatchLog log;
    log.attach(scratch);
    scratch.hold_owner(":1.5");
    scratch.hold_owner(":1.5");
    scratch.hold_owner(":1.6");
    scratch.hold_owner("");  // a pool copy has no owner: never watched
    EXPECT_EQ(log.events, (std::vector<std::string>{"+:1.5", "+:1.6"}));
    scratch.release_owner(":1.5");
    scratch.release_owner(":1.6");
    scratch.release_owner(":1.7");  // never held: nothing
    EXPECT_EQ(scratch.watched_owners(), (std::vector<std::string>{":1.5", ":1.6"}));
    loop.post([&] { loop.exit(0); });
    loop.run();
    EXPECT_EQ(scratch.watched_owners(), (std::vector<std::string>{":1.5"}));
    // Given up on a later loop iteration (it may be the watch's own callback that led here).
    EXPECT_EQ(log.events, (std::vector<std::string>{"+:1.5", "+:1.6", "-:1.6"}));
    scratch.release_owner(":1.5");
    // Held again before the posted release ran: the watch stays.
    scratch.hold_owner(":1.5");
    loop.post([&] { loop.exit(0); });
    loop.run();
    EXPECT_EQ(log.events, (std::vector<std::string>{"+:1.5", "+:1.6", "-:1.6"}));
    EXPECT_EQ(scratch.watched_owners(), (std::vector<std::string>{":1.5"}));
}

TEST(ScratchOwnerWatch, ARequestThatFailsGivesUpTheWatch) {
    EventLoop loop;
    ScratchDatabases scratch(loop, "n", std::chrono::seconds(5));
    OwnerWatchLog log;
    log.attach(scratch);
    int answers = 0;
    std::string error_of_first;
    auto done = [&](const char* error_name, const std::string& error, const std::string&) {
        if (++answers == 1)
            error_of_first = error_name ? error_name : "";
        if (answers == 2)
            loop.post([&] { loop.exit(0); });
        (void)error;
    };
    // The instance's socket does not exist: each copy fails to connect.
    scratch.create(unreachable(), ":1.9", "", done);
    scratch.create(unreachable(), ":1.9", "", done);
    EXPECT_EQ(log.events, (std::vector<std::string>{"+:1.9"}));
    EXPECT_EQ(scratch.size(), 2u);
    loop.run();
    EXPECT_EQ(answers, 2);
    EXPECT_EQ(error_of_first, error_name::Failed);
    EXPECT_EQ(scratch.size(), 0u);
    EXPECT_TRUE(scratch.watched_owners().empty());
    EXPECT_EQ(log.events, (std::vector<std::string>{"+:1.9", "-:1.9"}));
}

TEST(ScratchOwnerWatch, AStoppedInstanceReleasesItsOwners) {
    EventLoop loop;
    ScratchDatabases scratch(loop, "n", std::chrono::seconds(5));
    OwnerWatchLog log;
    log.attach(scratch);
    scratch.create(unreachable(), ":1.3", "", [](const char*, const std::string&, const std::string&) {});
    scratch.instance_stopped(unreachable().name);
    EXPECT_EQ(scratch.size(), 0u);
    loop.post([&] { loop.exit(0); });
    loop.run();
    EXPECT_TRUE(scratch.watched_owners().empty());
    EXPECT_EQ(log.events, (std::vector<std::string>{"+:1.3", "-:1.3"}));
}

TEST(ScratchOwnerWatch, TheMatchRuleNamesOneConnection) {
    EXPECT_EQ(name_owner_match(":1.42"),
              "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
              "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0=':1.42'");
}

}  // namespace
}  // namespace pgnspawn
