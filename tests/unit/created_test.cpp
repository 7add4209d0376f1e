// Created instances (core/created.*): the file's [created] table, the parser entry that
// refuses paths and images, and origin/created_by on what it returns.

#include "core/created.hpp"
#include "core/config.hpp"

#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace pgnspawn {
namespace {

using test::FakeLibdir;
using ::testing::HasSubstr;

class CreatedParseTest : public ::testing::Test {
protected:
    FakeLibdir libdir{"15"};
    ConfigEnvironment env{"/var/lib/pgnspawn-test", libdir.path(), "/run/pgnspawn-test"};

    static toml::table minimal() { return toml::table{{"port", 54300}, {"password", "pw"}}; }

    InstanceConfig parse(const toml::table& keys) const {
        return parse_created_instance("proj", keys, 1000, "CreateInstance(\"proj\")", env);
    }

    std::string error_of(const toml::table& keys) const {
        try {
            parse(keys);
        } catch (const ConfigError& e) {
            return e.what();
        }
        ADD_FAILURE() << "expected a ConfigError";
        return {};
    }
};

TEST_F(CreatedParseTest, ACreatedInstanceIsMarkedAndRecordsItsCreator) {
    const auto c = parse(minimal());
    EXPECT_EQ(c.origin, InstanceOrigin::Created);
    EXPECT_EQ(c.created_by, 1000u);
    EXPECT_EQ(c.name, "proj");
    EXPECT_EQ(c.port, 54300);
    EXPECT_EQ(c.image, ImageKind::Host);
    EXPECT_EQ(c.database, "proj");
    EXPECT_EQ(c.state_directory, "/var/lib/pgnspawn-test/proj");
}

TEST_F(CreatedParseTest, TheFileKeysParseAsInTheFile) {
    auto keys = minimal();
    keys.insert("database", "app");
    keys.insert("user", "dev");
    keys.insert("durability", "fast");
    keys.insert("ephemeral", true);
    keys.insert("createdb", false);
    keys.insert("image", "host");
    const auto c = parse(keys);
    EXPECT_EQ(c.database, "app");
    EXPECT_EQ(c.user, "dev");
    EXPECT_EQ(c.durability, Durability::Fast);
    EXPECT_TRUE(c.ephemeral);
    EXPECT_FALSE(c.createdb);
}

TEST_F(CreatedParseTest, PathAndAddressKeysAreRefusedByName) {
    for (const char* key : kKeysRefusedForCreated) {
        auto keys = minimal();
        keys.insert(key, "/etc/shadow");
        EXPECT_THAT(error_of(keys), HasSubstr(std::string("\"") + key + "\" is not allowed for a created instance"))
            << key;
    }
}

TEST_F(CreatedParseTest, OnlyTheHostImageIsAllowed) {
    auto keys = minimal();
    keys.insert("image", "directory");
    EXPECT_THAT(error_of(keys), HasSubstr("only have image = \"host\""));
}

TEST_F(CreatedParseTest, FileInstancesAreMarkedAsFromTheFile) {
    const auto config = parse_config("[instances.db]\nport = 5433\npassword = \"x\"\n", "f.toml", env);
    EXPECT_EQ(config.instances.at(0).origin, InstanceOrigin::File);
    EXPECT_FALSE(config.instances.at(0).created_by);
}

TEST_F(CreatedParseTest, ErrorsOfAnInMemoryTableHaveNoPosition) {
    auto keys = minimal();
    keys.insert("durability", "slow");
    EXPECT_EQ(error_of(keys), "CreateInstance(\"proj\"): \"durability\" must be \"durable\" or \"fast\", not \"slow\"");
    keys = minimal();
    keys.insert("colour", "red");
    EXPECT_THAT(error_of(keys), HasSubstr("unknown key \"colour\""));
}

// --- [created] in the configuration file ---------------------------------------------

TEST_F(CreatedParseTest, TheCreatedTableHasDefaults) {
    const auto config = parse_config("", "f.toml", env);
    EXPECT_EQ(config.created.port_min, 54300);
    EXPECT_EQ(config.created.port_max, 54399);
    EXPECT_EQ(config.created.quota, 10u);
}

TEST_F(CreatedParseTest, TheCreatedTableSetsRangeAndQuota) {
    const auto config = parse_config("[created]\nport_min = 6000\nport_max = 6009\nquota = 2\n", "f.toml", env);
    EXPECT_EQ(config.created, (CreatedLimits{6000, 6009, 2}));
}

TEST_F(CreatedParseTest, BadCreatedTablesNameTheLine) {
    auto error_of_file = [&](const std::string& text) {
        try {
            parse_config(text, "f.toml", env);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("parsed");
    };
    EXPECT_THAT(error_of_file("[created]\nport_min = 0\n"), HasSubstr("f.toml:2:12: \"port_min\" must be a port"));
    EXPECT_THAT(error_of_file("[created]\nquota = \"x\"\n"), HasSubstr("f.toml:2:9: \"quota\" must be an integer"));
    EXPECT_THAT(error_of_file("[created]\nports = 1\n"), HasSubstr("f.toml:2:1: unknown key \"ports\" in [created]"));
    EXPECT_THAT(error_of_file("[created]\nport_min = 7000\nport_max = 6000\n"), HasSubstr("port_min (7000) is above"));
    EXPECT_THAT(error_of_file("created = 3\n"), HasSubstr("\"created\" must be a table"));
}

}  // namespace
}  // namespace pgnspawn
