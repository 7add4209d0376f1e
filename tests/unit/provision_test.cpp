// The SQL that provisions a host image's cluster: the role with its password as a SCRAM
// verifier, the database owned by it, every name quoted by libpq.

#include "images/provision.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "unconnected_pg.hpp"

namespace pgnspawn {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr const char* kPassword = "Pw-91c2-DoNotLeak";

using test::Unconnected;

InstanceConfig config(const std::string& user = "hw", const std::string& database = "hwdb") {
    InstanceConfig c;
    c.name = "dev";
    c.user = user;
    c.database = database;
    c.password = kPassword;
    return c;
}

TEST(EnsureRoleSql, MakesTheRoleSetsItsPasswordAndCountsTheDatabase) {
    Unconnected conn;
    ASSERT_NE(conn.get(), nullptr);
    const auto sql = ensure_role_sql(conn.get(), config());
    EXPECT_THAT(sql,
                MatchesRegex("DO \\$pgnspawn\\$ BEGIN IF NOT EXISTS \\(SELECT FROM pg_catalog.pg_roles WHERE "
                             "rolname = 'hw'\\) THEN CREATE ROLE \"hw\" LOGIN; END IF; END \\$pgnspawn\\$; "
                             "ALTER ROLE \"hw\" WITH LOGIN CREATEDB NOSUPERUSER PASSWORD 'SCRAM-SHA-256\\$4096:[^']+'; "
                             "SELECT count\\(\\*\\) FROM pg_catalog.pg_database WHERE datname = 'hwdb'"));
}

TEST(EnsureRoleSql, ThePasswordTravelsOnlyAsAVerifier) {
    Unconnected conn;
    const auto sql = ensure_role_sql(conn.get(), config());
    EXPECT_THAT(sql, Not(HasSubstr(kPassword)));
    EXPECT_THAT(sql, HasSubstr("PASSWORD 'SCRAM-SHA-256$4096:"));
}

TEST(EnsureRoleSql, NamesAreQuotedAsLiteralsAndIdentifiers) {
    Unconnected conn;
    const auto sql = ensure_role_sql(conn.get(), config("o'd\"x", "d'b"));
    EXPECT_THAT(sql, HasSubstr("rolname = 'o''d\"x'"));
    EXPECT_THAT(sql, HasSubstr("CREATE ROLE \"o'd\"\"x\" LOGIN"));
    EXPECT_THAT(sql, HasSubstr("ALTER ROLE \"o'd\"\"x\" WITH LOGIN"));
    EXPECT_THAT(sql, HasSubstr("datname = 'd''b'"));
}

TEST(EnsureRoleSql, WithoutAConnectionItIsANamedError) {
    try {
        ensure_role_sql(nullptr, config());
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot prepare provisioning"));
        EXPECT_THAT(e.what(), Not(HasSubstr(kPassword)));
    }
}

TEST(EnsureRoleSql, RoleAttributesFollowTheConfiguration) {
    Unconnected conn;
    auto c = config();
    c.createdb = false;
    c.superuser = true;
    const auto sql = ensure_role_sql(conn.get(), c);
    EXPECT_THAT(sql, HasSubstr("ALTER ROLE \"hw\" WITH LOGIN NOCREATEDB SUPERUSER PASSWORD "));
    c.createdb = true;
    c.superuser = false;
    EXPECT_THAT(ensure_role_sql(conn.get(), c), HasSubstr("WITH LOGIN CREATEDB NOSUPERUSER PASSWORD "));
}

TEST(RoleAttributes, TheWarmStartReadsThemOfTheCurrentUser) {
    EXPECT_STREQ(kRoleAttributesSql,
                 "SELECT rolcreatedb, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user");
}

TEST(RoleAttributes, MatchingAttributesAreNoDifference) {
    auto c = config();
    EXPECT_EQ(role_attributes_difference({{"t", "f"}}, c), "");
    c.createdb = false;
    c.superuser = true;
    EXPECT_EQ(role_attributes_difference({{"f", "t"}}, c), "");
}

TEST(RoleAttributes, EachDifferenceIsNamed) {
    auto c = config();
    EXPECT_EQ(role_attributes_difference({{"f", "f"}}, c), "the role lacks CREATEDB");
    EXPECT_EQ(role_attributes_difference({{"t", "t"}}, c), "the role has SUPERUSER");
    c.createdb = false;
    c.superuser = true;
    EXPECT_EQ(role_attributes_difference({{"t", "f"}}, c), "the role has CREATEDB, the role lacks SUPERUSER");
}

TEST(RoleAttributes, NoRowIsADifference) {
    EXPECT_EQ(role_attributes_difference({}, config()), "its attributes could not be read");
    EXPECT_EQ(role_attributes_difference({{"t"}}, config()), "its attributes could not be read");
}

TEST(CreateDatabaseSql, TheDatabaseIsOwnedByTheRole) {
    Unconnected conn;
    EXPECT_EQ(create_database_sql(conn.get(), config()), "CREATE DATABASE \"hwdb\" OWNER \"hw\"");
    EXPECT_EQ(create_database_sql(conn.get(), config("my-user", "my\"db")),
              "CREATE DATABASE \"my\"\"db\" OWNER \"my-user\"");
}

TEST(CreateDatabaseSql, WithoutAConnectionItIsANamedError) {
    EXPECT_THROW(create_database_sql(nullptr, config()), std::runtime_error);
}

}  // namespace
}  // namespace pgnspawn
