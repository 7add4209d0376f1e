// parse_config / load_config: the canonical example, defaults, password sources,
// PostgreSQL version resolution, and errors that name "FILE:LINE:COLUMN:".

#include "core/config.hpp"
#include "core/config_limits.hpp"

#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace pgnspawn {
namespace {

using test::FakeLibdir;
using test::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kExample = R"([instances.helloworld]
image = "host"
port = 5433
database = "helloworld"
user = "helloworld"
password = "helloworld"
)";

/// "[instances.db]" with a port and a password (lines 1-3), then `extra` from line 4.
std::string db_instance(std::string_view extra = "") {
    return "[instances.db]\nport = 5433\npassword = \"secret\"\n" + std::string(extra);
}

class ConfigTest : public ::testing::Test {
protected:
    FakeLibdir libdir{"13", "15"};
    TempDir scratch;
    ConfigEnvironment env{"/var/lib/pgnspawn-test", libdir.path()};

    Config parse(std::string_view text) const { return parse_config(text, "test.toml", env); }

    /// The ConfigError message for `text`; a test failure when it parses.
    std::string error_of(std::string_view text) const {
        try {
            parse(text);
        } catch (const ConfigError& e) {
            return e.what();
        }
        ADD_FAILURE() << "expected a ConfigError for:\n" << text;
        return {};
    }
};

// --- the canonical example and defaults ------------------------------------------------

TEST_F(ConfigTest, CanonicalExampleParsesToExactlyTheseFields) {
    const Config config = parse(kExample);

    EXPECT_EQ(config.source, "test.toml");
    ASSERT_EQ(config.instances.size(), 1u);
    InstanceConfig expected;
    expected.name = "helloworld";
    expected.image = ImageKind::Host;
    expected.port = 5433;
    expected.listen_address = "127.0.0.1";
    expected.database = "helloworld";
    expected.user = "helloworld";
    expected.password = "helloworld";
    expected.postgresql_version = "15";
    expected.postgresql_bindir = libdir.path() / "15/bin";
    expected.state_directory = "/var/lib/pgnspawn-test/helloworld";
    EXPECT_EQ(config.instances[0], expected);
    // Field by field too, so that a mismatch says which one.
    const InstanceConfig& c = config.instances[0];
    EXPECT_EQ(c.name, "helloworld");
    EXPECT_EQ(c.port, 5433);
    EXPECT_EQ(c.listen_address, "127.0.0.1");
    EXPECT_EQ(c.database, "helloworld");
    EXPECT_EQ(c.user, "helloworld");
    EXPECT_EQ(c.password, "helloworld");
    EXPECT_EQ(c.postgresql_version, "15");
    EXPECT_EQ(c.postgresql_bindir, libdir.path() / "15" / "bin");
    EXPECT_EQ(c.state_directory, env.state_root / "helloworld");
    EXPECT_EQ(to_string(c.image), "host");
}

TEST_F(ConfigTest, DatabaseAndUserDefaultToTheInstanceName) {
    const Config config = parse(db_instance());
    ASSERT_EQ(config.instances.size(), 1u);
    EXPECT_EQ(config.instances[0].database, "db");
    EXPECT_EQ(config.instances[0].user, "db");
}

TEST_F(ConfigTest, ImageDefaultsToHost) {
    const Config config = parse(db_instance());
    ASSERT_EQ(config.instances.size(), 1u);
    EXPECT_EQ(config.instances[0].image, ImageKind::Host);
}

TEST_F(ConfigTest, ExplicitListenAddressIsKept) {
    const Config v4 = parse(db_instance("listen_address = \"0.0.0.0\"\n"));
    ASSERT_EQ(v4.instances.size(), 1u);
    EXPECT_EQ(v4.instances[0].listen_address, "0.0.0.0");
    const Config v6 = parse(db_instance("listen_address = \"::1\"\n"));
    ASSERT_EQ(v6.instances.size(), 1u);
    EXPECT_EQ(v6.instances[0].listen_address, "::1");
}

TEST_F(ConfigTest, AutostartDefaultsToFalse) {
    const Config config = parse(db_instance());
    ASSERT_EQ(config.instances.size(), 1u);
    EXPECT_FALSE(config.instances[0].autostart);
    EXPECT_FALSE(parse(kExample).instances.at(0).autostart);
}

TEST_F(ConfigTest, AutostartTrueAndFalseAreKept) {
    const Config on = parse(db_instance("autostart = true\n"));
    ASSERT_EQ(on.instances.size(), 1u);
    EXPECT_TRUE(on.instances[0].autostart);
    const Config off = parse(db_instance("autostart = false\n"));
    ASSERT_EQ(off.instances.size(), 1u);
    EXPECT_FALSE(off.instances[0].autostart);
}

TEST_F(ConfigTest, AutostartIsPerInstance) {
    const Config config = parse(R"([instances.alpha]
port = 5433
password = "a"
autostart = true

[instances.beta]
port = 5434
password = "b"
)");
    ASSERT_EQ(config.instances.size(), 2u);
    EXPECT_TRUE(config.find("alpha")->autostart);
    EXPECT_FALSE(config.find("beta")->autostart);
}

TEST_F(ConfigTest, AutostartMustBeABoolean) {
    for (const char* value : {"\"true\"", "1", "0", "\"yes\"", "[true]"}) {
        const std::string err = error_of(db_instance(std::string("autostart = ") + value + "\n"));
        EXPECT_THAT(err, StartsWith("test.toml:4:13: ")) << value;
        EXPECT_THAT(err, HasSubstr("\"autostart\" must be true or false")) << value;
    }
}

TEST_F(ConfigTest, AutostartIsListedAmongTheKnownKeys) {
    const std::string err = error_of(db_instance("auto_start = true\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:1: "));
    EXPECT_THAT(err, HasSubstr("unknown key \"auto_start\""));
    EXPECT_THAT(err, HasSubstr("autostart"));
}

// --- role attributes and durability ------------------------------------------------

TEST_F(ConfigTest, TheRoleMayCreateDatabasesButIsNoSuperuserByDefault) {
    const InstanceConfig c = parse(kExample).instances.at(0);
    EXPECT_TRUE(c.createdb);
    EXPECT_FALSE(c.superuser);
    EXPECT_EQ(c.durability, Durability::Durable);
    EXPECT_EQ(to_string(c.durability), "durable");
}

TEST_F(ConfigTest, CreatedbAndSuperuserAreKept) {
    const InstanceConfig c = parse(db_instance("createdb = false\nsuperuser = true\n")).instances.at(0);
    EXPECT_FALSE(c.createdb);
    EXPECT_TRUE(c.superuser);
    const InstanceConfig d = parse(db_instance("createdb = true\nsuperuser = false\n")).instances.at(0);
    EXPECT_TRUE(d.createdb);
    EXPECT_FALSE(d.superuser);
}

TEST_F(ConfigTest, CreatedbAndSuperuserMustBeBooleans) {
    for (const char* key : {"createdb", "superuser"}) {
        const std::string err = error_of(db_instance(std::string(key) + " = \"yes\"\n"));
        EXPECT_THAT(err, StartsWith("test.toml:4:")) << key;
        EXPECT_THAT(err, HasSubstr(std::string("\"") + key + "\" must be true or false")) << key;
    }
}

TEST_F(ConfigTest, DurabilityFastIsKept) {
    const InstanceConfig c = parse(db_instance("durability = \"fast\"\n")).instances.at(0);
    EXPECT_EQ(c.durability, Durability::Fast);
    EXPECT_EQ(to_string(c.durability), "fast");
    EXPECT_EQ(parse(db_instance("durability = \"durable\"\n")).instances.at(0).durability, Durability::Durable);
}

TEST_F(ConfigTest, DurabilityMustBeDurableOrFast) {
    const std::string err = error_of(db_instance("durability = \"unsafe\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:14: "));
    EXPECT_THAT(err, HasSubstr("\"durability\" must be \"durable\" or \"fast\", not \"unsafe\""));
    EXPECT_THAT(error_of(db_instance("durability = false\n")), HasSubstr("\"durability\" must be a string"));
}

TEST_F(ConfigTest, EphemeralIsOffByDefaultAndLivesInTheRuntimeDirectory) {
    const ConfigEnvironment with_runtime{env.state_root, env.postgresql_libdir, "/run/pgnspawn-test"};
    const InstanceConfig d = parse_config(db_instance(), "test.toml", with_runtime).instances.at(0);
    EXPECT_FALSE(d.ephemeral);
    const InstanceConfig c = parse_config(db_instance("ephemeral = true\n"), "test.toml", with_runtime).instances.at(0);
    EXPECT_TRUE(c.ephemeral);
    EXPECT_EQ(c.runtime_directory, "/run/pgnspawn-test/db");
}

TEST_F(ConfigTest, EphemeralIsAnErrorWithoutARuntimeDirectoryOrOnABootedImage) {
    EXPECT_THAT(error_of(db_instance("ephemeral = true\n")),
                HasSubstr("\"ephemeral\" needs a runtime directory; this build has none"));
    EXPECT_THAT(error_of(db_instance("ephemeral = 1\n")), HasSubstr("\"ephemeral\" must be true or false"));
    const ConfigEnvironment with_runtime{env.state_root, env.postgresql_libdir, "/run/pgnspawn-test"};
    try {
        parse_config(db_instance("image = \"nixos\"\ntoplevel = \"/nix/store/x-nixos-system\"\nephemeral = true\n"),
                     "test.toml", with_runtime);
        ADD_FAILURE() << "ephemeral on a nixos image was accepted";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), StartsWith("test.toml:6:13: "));
        EXPECT_THAT(e.what(), HasSubstr("\"ephemeral\" applies to image \"host\" only"));
    }
}

TEST_F(ConfigTest, DurabilityAppliesToTheHostImageOnly) {
    const std::string err =
        error_of(db_instance("image = \"directory\"\ndirectory = \"/srv/os\"\n"
                             "durability = \"fast\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:6:14: "));
    EXPECT_THAT(err, HasSubstr("\"durability\" applies to image \"host\" only"));
}

TEST_F(ConfigTest, EmptyFileHasNoInstances) {
    const Config config = parse("");
    EXPECT_TRUE(config.instances.empty());
    EXPECT_EQ(config.source, "test.toml");
}

TEST_F(ConfigTest, CommentOnlyFileHasNoInstances) {
    EXPECT_TRUE(parse("# nothing configured yet\n\n").instances.empty());
}

TEST_F(ConfigTest, SeveralInstancesAreAllParsed) {
    const Config config = parse(R"([instances.alpha]
port = 5433
password = "a"

[instances.beta]
port = 5434
password = "b"
)");
    ASSERT_EQ(config.instances.size(), 2u);
    ASSERT_NE(config.find("alpha"), nullptr);
    ASSERT_NE(config.find("beta"), nullptr);
    EXPECT_EQ(config.find("alpha")->port, 5433);
    EXPECT_EQ(config.find("beta")->port, 5434);
    EXPECT_EQ(config.find("beta")->password, "b");
}

TEST_F(ConfigTest, FindReturnsTheNamedInstanceOrNull) {
    const Config config = parse(kExample);
    const InstanceConfig* found = config.find("helloworld");
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found, &config.instances[0]);
    EXPECT_EQ(config.find("hello"), nullptr);
    EXPECT_EQ(config.find(""), nullptr);
    EXPECT_EQ(config.find("HelloWorld"), nullptr);
}

// --- password and password_file --------------------------------------------------------

TEST_F(ConfigTest, PasswordFileIsReadWithoutTheTrailingNewline) {
    const auto file = scratch.write("pw", "s3cret\n");
    const Config config = parse("[instances.db]\nport = 5433\npassword_file = \"" + file.string() + "\"\n");
    ASSERT_EQ(config.instances.size(), 1u);
    EXPECT_EQ(config.instances[0].password, "s3cret");
}

TEST_F(ConfigTest, PasswordFileWithCrLfOrNoNewlineIsReadExactly) {
    const auto crlf = scratch.write("crlf", "s3cret\r\n");
    const auto bare = scratch.write("bare", "with space and #");
    EXPECT_EQ(
        parse("[instances.db]\nport = 5433\npassword_file = \"" + crlf.string() + "\"\n").instances.at(0).password,
        "s3cret");
    EXPECT_EQ(
        parse("[instances.db]\nport = 5433\npassword_file = \"" + bare.string() + "\"\n").instances.at(0).password,
        "with space and #");
}

TEST_F(ConfigTest, MissingPasswordFileIsAnErrorNamingThePath) {
    const auto missing = scratch.path() / "missing";
    const std::string err = error_of("[instances.db]\nport = 5433\npassword_file = \"" + missing.string() + "\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:17: "));
    EXPECT_THAT(err, HasSubstr("cannot read password_file"));
    EXPECT_THAT(err, HasSubstr(missing.string()));
    EXPECT_THAT(err, HasSubstr("No such file or directory"));
}

TEST_F(ConfigTest, RelativePasswordFileIsAnError) {
    const std::string err = error_of("[instances.db]\nport = 5433\npassword_file = \"secrets/db\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:17: "));
    EXPECT_THAT(err, HasSubstr("\"password_file\" must be an absolute path"));
    EXPECT_THAT(err, HasSubstr("\"secrets/db\""));
}

TEST_F(ConfigTest, PasswordAndPasswordFileTogetherIsAnError) {
    const auto file = scratch.write("pw", "s3cret\n");
    const std::string err = error_of(db_instance("password_file = \"" + file.string() + "\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:17: "));
    EXPECT_THAT(err, HasSubstr("either \"password\" or \"password_file\", not both"));
}

TEST_F(ConfigTest, NoPasswordAtAllIsAnErrorAtTheInstance) {
    const std::string err = error_of("[instances.db]\nport = 5433\n");
    EXPECT_THAT(err, StartsWith("test.toml:1:1: "));
    EXPECT_THAT(err, HasSubstr("instance \"db\" has no \"password\" or \"password_file\""));
}

TEST_F(ConfigTest, EmptyPasswordIsAnError) {
    const std::string err = error_of("[instances.db]\nport = 5433\npassword = \"\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:12: "));
    EXPECT_THAT(err, HasSubstr("\"password\" must not be empty"));
}

TEST_F(ConfigTest, EmptyPasswordFileIsAnError) {
    const auto file = scratch.write("empty", "\n");
    const std::string err = error_of("[instances.db]\nport = 5433\npassword_file = \"" + file.string() + "\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:17: "));
    EXPECT_THAT(err, HasSubstr("is empty"));
}

TEST_F(ConfigTest, MultiLinePasswordFileIsAnError) {
    const auto file = scratch.write("two-lines", "first\nsecond\n");
    const std::string err = error_of("[instances.db]\nport = 5433\npassword_file = \"" + file.string() + "\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:17: "));
    EXPECT_THAT(err, HasSubstr("single line"));
}

TEST_F(ConfigTest, PasswordFileThatIsADeviceOrHugeIsAnError) {
    // /dev/zero used to be read until memory ran out: a reload hung the daemon.
    std::string err = error_of("[instances.db]\nport = 5433\npassword_file = \"/dev/zero\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:17: "));
    EXPECT_THAT(err, HasSubstr("password_file \"/dev/zero\" is not a regular file"));
    const auto big = scratch.write("big.pass", std::string(kMaxPasswordFileBytes + 1, 'x'));
    err = error_of("[instances.db]\nport = 5433\npassword_file = \"" + big.string() + "\"\n");
    EXPECT_THAT(err, HasSubstr("is larger than 4 KiB"));
    const auto largest = scratch.write("largest.pass", std::string(kMaxPasswordFileBytes, 'y') + "\n");
    EXPECT_EQ(
        parse("[instances.db]\nport = 5433\npassword_file = \"" + largest.string() + "\"\n").instances.at(0).password,
        std::string(kMaxPasswordFileBytes, 'y'));
}

TEST_F(ConfigTest, PasswordMustBeAString) {
    const std::string err = error_of("[instances.db]\nport = 5433\npassword = 1234\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:12: "));
    EXPECT_THAT(err, HasSubstr("\"password\" must be a string"));
}

// --- PostgreSQL version ----------------------------------------------------------------

TEST_F(ConfigTest, IntegerVersionSelectsThatVersion) {
    const Config config = parse(db_instance("version = 13\n"));
    ASSERT_EQ(config.instances.size(), 1u);
    EXPECT_EQ(config.instances[0].postgresql_version, "13");
    EXPECT_EQ(config.instances[0].postgresql_bindir, libdir.path() / "13/bin");
}

TEST_F(ConfigTest, StringVersionSelectsThatVersion) {
    const Config config = parse(db_instance("version = \"13\"\n"));
    ASSERT_EQ(config.instances.size(), 1u);
    EXPECT_EQ(config.instances[0].postgresql_version, "13");
    EXPECT_EQ(config.instances[0].postgresql_bindir, libdir.path() / "13/bin");
}

TEST_F(ConfigTest, UninstalledVersionIsAnError) {
    const std::string err = error_of(db_instance("version = 99\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:11: "));
    EXPECT_THAT(err, HasSubstr("PostgreSQL 99 is not installed"));
    EXPECT_THAT(err, HasSubstr((libdir.path() / "99/bin/postgres").string()));
}

TEST_F(ConfigTest, NonNumericVersionIsAnError) {
    const std::string err = error_of(db_instance("version = \"abc\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:11: "));
    EXPECT_THAT(err, HasSubstr("\"version\" must be a PostgreSQL major version such as 15, not \"abc\""));
}

TEST_F(ConfigTest, PathLikeVersionIsRejectedBeforeTouchingTheFilesystem) {
    const std::string err = error_of(db_instance("version = \"../15\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:11: "));
    EXPECT_THAT(err, HasSubstr("must be a PostgreSQL major version"));
}

TEST_F(ConfigTest, NegativeOrFloatVersionIsAnError) {
    EXPECT_THAT(error_of(db_instance("version = -15\n")), StartsWith("test.toml:4:11: "));
    const std::string err = error_of(db_instance("version = 15.0\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:11: "));
    EXPECT_THAT(err, HasSubstr("\"version\" must be a PostgreSQL major version such as 15 or \"15\""));
}

TEST(ConfigNoPostgres, NoInstalledServerIsAnErrorWhenNoVersionIsGiven) {
    TempDir empty_libdir;
    const ConfigEnvironment env{"/var/lib/pgnspawn-test", empty_libdir.path()};
    try {
        parse_config(db_instance(), "test.toml", env);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), StartsWith("test.toml:1:1: "));
        EXPECT_THAT(e.what(), HasSubstr("no PostgreSQL server is installed under " + empty_libdir.path().string()));
    }
}

TEST(NewestPostgresqlVersion, ComparesNumericallyAndNeedsBinPostgres) {
    FakeLibdir libdir{"9", "15", "13"};
    std::filesystem::create_directories(libdir.path() / "16/bin");  // no postgres binary: not installed
    std::filesystem::create_directories(libdir.path() / "99beta/bin");
    EXPECT_EQ(newest_postgresql_version(libdir.path()), "15");
}

TEST(NewestPostgresqlVersion, EmptyOrMissingLibdirGivesEmptyString) {
    TempDir empty;
    EXPECT_EQ(newest_postgresql_version(empty.path()), "");
    EXPECT_EQ(newest_postgresql_version(empty.path() / "does-not-exist"), "");
}

// --- errors name FILE:LINE:COLUMN ------------------------------------------------------

TEST_F(ConfigTest, UnknownKeyInInstanceIsAnError) {
    const std::string err = error_of(db_instance("colour = \"blue\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:1: "));
    EXPECT_THAT(err, HasSubstr("unknown key \"colour\" in instance \"db\""));
}

TEST_F(ConfigTest, UnknownTopLevelKeyIsAnError) {
    const std::string err = error_of("debug = true\n" + db_instance());
    EXPECT_THAT(err, StartsWith("test.toml:1:1: "));
    EXPECT_THAT(err, HasSubstr("unknown key \"debug\""));
}

TEST_F(ConfigTest, UnknownTopLevelTableIsAnError) {
    const std::string err = error_of(db_instance() + "\n[server]\nport = 1\n");
    EXPECT_THAT(err, StartsWith("test.toml:5:2: "));
    EXPECT_THAT(err, HasSubstr("unknown key \"server\""));
}

TEST_F(ConfigTest, InstancesMustBeATable) {
    const std::string err = error_of("instances = 5\n");
    EXPECT_THAT(err, StartsWith("test.toml:1:13: "));
    EXPECT_THAT(err, HasSubstr("\"instances\" must be a table"));
}

TEST_F(ConfigTest, InstanceMustBeATable) {
    const std::string err = error_of("[instances]\ndb = 5\n");
    EXPECT_THAT(err, StartsWith("test.toml:2:6: "));
    EXPECT_THAT(err, HasSubstr("instance \"db\" must be a table"));
}

TEST_F(ConfigTest, MissingPortIsAnErrorAtTheInstance) {
    const std::string err = error_of("[instances.db]\npassword = \"secret\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:1:1: "));
    EXPECT_THAT(err, HasSubstr("instance \"db\" has no \"port\""));
}

TEST_F(ConfigTest, PortAsStringIsAnError) {
    const std::string err = error_of("[instances.db]\npassword = \"secret\"\nport = \"5433\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:8: "));
    EXPECT_THAT(err, HasSubstr("\"port\" must be an integer between 1 and 65535"));
}

TEST_F(ConfigTest, PortAboveRangeIsAnError) {
    const std::string err = error_of("[instances.db]\npassword = \"secret\"\nport = 70000\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:8: "));
    EXPECT_THAT(err, HasSubstr("\"port\" must be an integer between 1 and 65535"));
}

TEST_F(ConfigTest, PortZeroOrNegativeIsAnError) {
    EXPECT_THAT(error_of("[instances.db]\npassword = \"secret\"\nport = 0\n"), StartsWith("test.toml:3:8: "));
    EXPECT_THAT(error_of("[instances.db]\npassword = \"secret\"\nport = -5433\n"), StartsWith("test.toml:3:8: "));
}

TEST_F(ConfigTest, PortAsFloatIsAnError) {
    const std::string err = error_of("[instances.db]\npassword = \"secret\"\nport = 5433.0\n");
    EXPECT_THAT(err, StartsWith("test.toml:3:8: "));
    EXPECT_THAT(err, HasSubstr("\"port\" must be an integer"));
}

TEST_F(ConfigTest, PortBoundsAreInclusive) {
    EXPECT_EQ(parse("[instances.db]\npassword = \"x\"\nport = 1\n").instances.at(0).port, 1);
    EXPECT_EQ(parse("[instances.db]\npassword = \"x\"\nport = 65535\n").instances.at(0).port, 65535);
}

TEST_F(ConfigTest, InstanceNameWithUnderscoreIsAnError) {
    const std::string err = error_of("[instances.bad_name]\nport = 5433\npassword = \"x\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:1:12: "));
    EXPECT_THAT(err, HasSubstr("\"bad_name\" may contain only letters, digits and '-'"));
}

TEST_F(ConfigTest, InstanceNameStartingWithDashIsAnError) {
    const std::string err = error_of("[instances.-x]\nport = 5433\npassword = \"x\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:1:12: "));
    EXPECT_THAT(err, HasSubstr("must start with a letter or digit"));
}

TEST_F(ConfigTest, QuotedInstanceNameWithSlashIsAnError) {
    const std::string err = error_of("[instances.\"a/b\"]\nport = 5433\npassword = \"x\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:1:12: "));
    EXPECT_THAT(err, HasSubstr("may contain only letters, digits and '-'"));
}

TEST_F(ConfigTest, InstanceNameOf49CharactersIsAnError) {
    const std::string name(49, 'a');
    const std::string err = error_of("[instances." + name + "]\nport = 5433\npassword = \"x\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:1:12: "));
    EXPECT_THAT(err, HasSubstr("49 bytes long; at most 48"));
}

TEST_F(ConfigTest, InstanceNameOf48CharactersIsAccepted) {
    const std::string name(48, 'a');
    const Config config = parse("[instances." + name + "]\nport = 5433\npassword = \"x\"\n");
    ASSERT_EQ(config.instances.size(), 1u);
    EXPECT_EQ(config.instances[0].name, name);
    EXPECT_EQ(config.instances[0].user, name);
}

TEST_F(ConfigTest, UserWithSpaceIsAnError) {
    const std::string err = error_of(db_instance("user = \"hello world\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:8: "));
    EXPECT_THAT(err, HasSubstr("\"user\" must be 1 to 63 letters, digits, '_' or '-'"));
    EXPECT_THAT(err, HasSubstr("got \"hello world\""));
}

TEST_F(ConfigTest, UserWithQuoteIsAnError) {
    const std::string err = error_of(db_instance("user = \"bobby'); DROP\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:8: "));
    EXPECT_THAT(err, HasSubstr("\"user\" must be 1 to 63"));
}

TEST_F(ConfigTest, DatabaseStartingWithDigitIsAnError) {
    const std::string err = error_of(db_instance("database = \"1db\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:12: "));
    EXPECT_THAT(err, HasSubstr("\"database\" must be 1 to 63"));
    EXPECT_THAT(err, HasSubstr("not starting with a digit or '-'"));
}

TEST_F(ConfigTest, DatabaseWithDoubleQuoteIsAnError) {
    const std::string err = error_of(db_instance("database = 'a\"b'\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:12: "));
    EXPECT_THAT(err, HasSubstr("got \"a\\\"b\""));
}

TEST_F(ConfigTest, EmptyOrTooLongSqlNameIsAnError) {
    EXPECT_THAT(error_of(db_instance("user = \"\"\n")), StartsWith("test.toml:4:8: "));
    EXPECT_THAT(error_of(db_instance("user = \"" + std::string(64, 'u') + "\"\n")), StartsWith("test.toml:4:8: "));
    EXPECT_EQ(parse(db_instance("user = \"" + std::string(63, 'u') + "\"\n")).instances.at(0).user,
              std::string(63, 'u'));
}

TEST_F(ConfigTest, SqlNamesWithUnderscoreAndDashAreAccepted) {
    const Config config = parse(db_instance("user = \"app_user-1\"\ndatabase = \"_app\"\n"));
    EXPECT_EQ(config.instances.at(0).user, "app_user-1");
    EXPECT_EQ(config.instances.at(0).database, "_app");
}

TEST_F(ConfigTest, BadListenAddressIsAnError) {
    const std::string err = error_of(db_instance("listen_address = \"localhost\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:18: "));
    EXPECT_THAT(err, HasSubstr("\"listen_address\" must be an IPv4 or IPv6 address, not \"localhost\""));
    EXPECT_THAT(error_of(db_instance("listen_address = \"256.0.0.1\"\n")), StartsWith("test.toml:4:18: "));
    EXPECT_THAT(error_of(db_instance("listen_address = \"\"\n")), StartsWith("test.toml:4:18: "));
}

TEST_F(ConfigTest, UnsupportedImageIsAnError) {
    const std::string err = error_of(db_instance("image = \"docker\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:9: "));
    EXPECT_THAT(err, HasSubstr("unsupported image \"docker\""));
}

TEST_F(ConfigTest, NonStringImageIsAnError) {
    const std::string err = error_of(db_instance("image = 1\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:9: "));
    EXPECT_THAT(err, HasSubstr("\"image\" must be a string"));
}

TEST_F(ConfigTest, DuplicatePortIsReportedOnTheSecondInstance) {
    const std::string err = error_of(R"([instances.alpha]
port = 5433
password = "a"

[instances.beta]
port = 5433
password = "b"
)");
    EXPECT_THAT(err, StartsWith("test.toml:6:8: "));
    EXPECT_THAT(err, HasSubstr("instance \"beta\" uses port 5433 on 127.0.0.1, which instance \"alpha\" already uses"));
}

// toml++ tables iterate in key order; the parser follows the file, so the error points
// at alpha (line 6, second in the file), not zeta.
TEST_F(ConfigTest, DuplicatePortIsReportedOnTheSecondInstanceInFileOrder) {
    const std::string err = error_of(R"([instances.zeta]
port = 5433
password = "a"

[instances.alpha]
port = 5433
password = "b"
)");
    EXPECT_THAT(err, StartsWith("test.toml:6:8: "));
    EXPECT_THAT(err, HasSubstr("instance \"alpha\" uses port 5433 on 127.0.0.1, which instance \"zeta\" already uses"));
}

TEST_F(ConfigTest, SamePortOnDifferentAddressesIsAccepted) {
    const Config config = parse(R"([instances.alpha]
port = 5433
password = "a"

[instances.beta]
port = 5433
listen_address = "127.0.0.2"
password = "b"
)");
    EXPECT_EQ(config.instances.size(), 2u);
}

TEST_F(ConfigTest, TomlSyntaxErrorCarriesItsPosition) {
    const std::string err = error_of("[instances.db]\nport = = 5433\n");
    EXPECT_THAT(err, StartsWith("test.toml:2:"));
}

TEST_F(ConfigTest, UnterminatedTableHeaderIsAParseError) {
    EXPECT_THAT(error_of("[instances.db\nport = 5433\n"), StartsWith("test.toml:1:"));
}

TEST_F(ConfigTest, DuplicateTableIsAParseErrorAtTheSecondHeader) {
    const std::string err = error_of(db_instance() + "[instances.db]\nport = 5434\n");
    EXPECT_THAT(err, StartsWith("test.toml:4:1: "));
    EXPECT_THAT(err, HasSubstr("cannot redefine existing table 'instances.db'"));
}

TEST_F(ConfigTest, DuplicateKeyIsAParseError) {
    const std::string err = error_of(db_instance("port = 5434\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:"));
    EXPECT_THAT(err, HasSubstr("port"));
}

// --- load_config -----------------------------------------------------------------------

TEST_F(ConfigTest, LoadConfigOfMissingFileNamesTheFile) {
    const auto missing = scratch.path() / "pgnspawn.toml";
    try {
        load_config(missing, env);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), StartsWith(missing.string() + ": cannot open"));
    }
}

TEST_F(ConfigTest, LoadConfigReadsTheFileAndNamesItInErrors) {
    const auto good = scratch.write("good.toml", std::string(kExample));
    const Config config = load_config(good, env);
    EXPECT_EQ(config.source, good);
    ASSERT_EQ(config.instances.size(), 1u);
    EXPECT_EQ(config.instances[0].name, "helloworld");

    const auto bad = scratch.write("bad.toml", db_instance("colour = 1\n"));
    try {
        load_config(bad, env);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), StartsWith(bad.string() + ":4:1: "));
    }
}

// --- booted images: directory and nixos (issue 4) ---------------------------------------

namespace booted {

std::string dir_instance(std::string_view extra = "") {
    return "[instances.db]\nimage = \"directory\"\ndirectory = \"/var/lib/machines/pg\"\nport = 5432\npassword = "
           "\"s\"\n" +
           std::string(extra);
}

}  // namespace booted

TEST_F(ConfigTest, DirectoryImageDefaultsToPrivateNetworkAndNeedsNoLocalPostgres) {
    ConfigEnvironment no_pg{"/var/lib/pgnspawn-test", scratch.path() / "no-postgresql-here"};
    const auto c = parse_config(booted::dir_instance(), "test.toml", no_pg).instances.at(0);
    EXPECT_EQ(c.image, ImageKind::Directory);
    EXPECT_EQ(c.directory, "/var/lib/machines/pg");
    EXPECT_EQ(c.network, NetworkMode::Private);
    EXPECT_EQ(c.host_port, 0);
    EXPECT_EQ(c.postgresql_version, "");
}

TEST_F(ConfigTest, NixosImageParses) {
    const auto c = parse(
                       "[instances.n]\nimage = \"nixos\"\ntoplevel = \"/nix/store/abc-nixos-system-pg\"\n"
                       "port = 5432\npassword = \"x\"\n")
                       .instances.at(0);
    EXPECT_EQ(c.image, ImageKind::Nixos);
    EXPECT_EQ(c.toplevel, "/nix/store/abc-nixos-system-pg");
    EXPECT_EQ(c.network, NetworkMode::Private);
}

TEST_F(ConfigTest, HostNetworkAndHostPortAreKept) {
    EXPECT_EQ(parse(booted::dir_instance("network = \"host\"\n")).instances.at(0).network, NetworkMode::Host);
    EXPECT_EQ(parse(booted::dir_instance("host_port = 15432\n")).instances.at(0).host_port, 15432);
}

TEST_F(ConfigTest, DirectoryImageWithoutDirectoryIsAnErrorAtTheInstance) {
    const std::string err = error_of("[instances.db]\nimage = \"directory\"\nport = 5432\npassword = \"s\"\n");
    EXPECT_THAT(err, StartsWith("test.toml:1:1: "));
    EXPECT_THAT(err, HasSubstr("no \"directory\""));
}

TEST_F(ConfigTest, NixosImageWithoutToplevelIsAnError) {
    EXPECT_THAT(error_of("[instances.db]\nimage = \"nixos\"\nport = 5432\npassword = \"s\"\n"),
                HasSubstr("no \"toplevel\""));
}

TEST_F(ConfigTest, RelativeOrDotDotDirectoryIsAnError) {
    for (const char* bad : {"machines/pg", "/var/lib/../../etc", "/", "/var/lib/machines/a:b", "/srv/x,y"}) {
        const std::string err = error_of("[instances.db]\nimage = \"directory\"\ndirectory = \"" + std::string(bad) +
                                         "\"\nport = 5432\npassword = \"s\"\n");
        EXPECT_THAT(err, StartsWith("test.toml:3:13: ")) << bad;
        EXPECT_THAT(err, HasSubstr("absolute path")) << bad;
    }
}

TEST_F(ConfigTest, ToplevelOutsideTheNixStoreIsAnError) {
    EXPECT_THAT(
        error_of("[instances.n]\nimage = \"nixos\"\ntoplevel = \"/etc/nixos\"\nport = 5432\npassword = \"x\"\n"),
        HasSubstr("under /nix/store/"));
}

TEST_F(ConfigTest, KeysOfOtherImagesAreErrors) {
    EXPECT_THAT(error_of(db_instance("directory = \"/var/lib/machines/pg\"\n")),
                HasSubstr("\"directory\" applies to image = \"directory\" only"));
    EXPECT_THAT(error_of(db_instance("toplevel = \"/nix/store/x\"\n")), HasSubstr("\"toplevel\" applies to image"));
    EXPECT_THAT(error_of(booted::dir_instance("version = 15\n")),
                HasSubstr("\"version\" applies to image \"host\" only"));
}

TEST_F(ConfigTest, PrivateNetworkOnTheHostImageIsAnError) {
    const std::string err = error_of(db_instance("network = \"private\"\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:11: "));
    EXPECT_THAT(err, HasSubstr("needs a booted image"));
}

TEST_F(ConfigTest, BadNetworkValueIsAnError) {
    EXPECT_THAT(error_of(booted::dir_instance("network = \"bridge\"\n")), HasSubstr("\"private\" or \"host\""));
}

TEST_F(ConfigTest, HostPortNeedsAPrivateNetworkAndARange) {
    EXPECT_THAT(error_of(db_instance("host_port = 15432\n")), HasSubstr("needs network = \"private\""));
    EXPECT_THAT(error_of(booted::dir_instance("host_port = 0\n")), HasSubstr("between 1 and 65535"));
}

TEST_F(ConfigTest, ListenAddressDoesNotApplyToAPrivateNetwork) {
    EXPECT_THAT(error_of(booted::dir_instance("listen_address = \"127.0.0.1\"\n")), HasSubstr("does not apply"));
}

TEST_F(ConfigTest, PrivateNetworksMayShareAPortButNotAHostPort) {
    const std::string two =
        booted::dir_instance("host_port = 15432\n") +
        "[instances.db2]\nimage = \"directory\"\ndirectory = \"/var/lib/machines/pg2\"\nport = 5432\n"
        "password = \"t\"\n";
    EXPECT_EQ(parse(two).instances.size(), 2u);
    const std::string err = error_of(two + "host_port = 15432\n");
    EXPECT_THAT(err, StartsWith("test.toml:12:13: "));
    EXPECT_THAT(err, HasSubstr("instance \"db2\" uses host port 15432, which instance \"db\" already uses"));
}

// --- what reaches toml++: size, dotted key parts, nesting (bug 5) ------------------------
// toml++ builds tables recursively: one dotted key of 60,000 parts overflowed the stack
// (SIGSEGV in --check-config and in a reload). Such files are refused before parsing.

/// A key of `parts` parts ("a.a.…b"), as one line.
std::string dotted_key(std::size_t parts) {
    std::string key;
    for (std::size_t i = 1; i < parts; ++i)
        key += "a.";
    return key + "b";
}

TEST_F(ConfigTest, DottedKeyOfSixtyThousandPartsIsRefusedNotACrash) {
    const std::string text = dotted_key(60000) + " = 1\n";
    ASSERT_GE(text.size(), 120000u);
    const std::string err = error_of(text);
    // At the first dot past the limit: the 32nd dot, column 2 * 32.
    EXPECT_THAT(err, StartsWith("test.toml:1:64: "));
    EXPECT_THAT(err, HasSubstr("more than 32 dotted parts"));
}

TEST_F(ConfigTest, LongDottedTableHeaderIsRefused) {
    const std::string err = error_of(db_instance("[" + dotted_key(5000) + "]\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:"));
    EXPECT_THAT(err, HasSubstr("more than 32 dotted parts"));
}

TEST_F(ConfigTest, DottedKeyAtTheLimitReachesTheParser) {
    // 32 parts pass the bound; the parser then names the key it does not know.
    const std::string err = error_of(db_instance(dotted_key(32) + " = 1\n"));
    EXPECT_THAT(err, StartsWith("test.toml:4:1: unknown key"));
}

TEST_F(ConfigTest, DeeplyNestedArraysAreRefused) {
    const std::string err = error_of(db_instance("x = " + std::string(60000, '[')));
    EXPECT_THAT(err, StartsWith("test.toml:4:37: "));
    EXPECT_THAT(err, HasSubstr("nested more than 32 deep"));
    // Inline tables count as well, and so do arrays over several lines.
    std::string tables = "x = ";
    for (int i = 0; i < 40; ++i)
        tables += "{a = ";
    EXPECT_THAT(error_of(db_instance(tables)), HasSubstr("nested more than 32 deep"));
    EXPECT_THAT(error_of(db_instance("x = " + std::string(20, '[') + "\n" + std::string(20, '['))),
                StartsWith("test.toml:5:13: "));
}

TEST_F(ConfigTest, DotsAndBracketsInStringsAndCommentsDoNotCount) {
    const std::string dots(200, '.'), brackets(200, '[');
    // One password in each kind of string: basic (with an escaped quote), literal,
    // multi-line basic and multi-line literal (each ending in extra quotes).
    const std::string text = "# " + dots + brackets + "\n" +                                                    //
                             "[instances.a]\nport = 5433\npassword = \"" + dots + "\\\"" + brackets + "\"\n" +  //
                             "[instances.b]\nport = 5434\npassword = '" + dots + brackets + "'  # " + dots + "\n" +
                             "[instances.c]\nport = 5435\npassword = \"\"\"\n" + dots + "\n" + brackets +
                             "\"\"\"\"\"\n" + "[instances.d]\nport = 5436\npassword = '''" + brackets + "\n" + dots +
                             "'''''\n";
    const Config config = parse(text);
    ASSERT_EQ(config.instances.size(), 4u);
    EXPECT_EQ(config.instances[0].password, dots + "\"" + brackets);
    EXPECT_EQ(config.instances[1].password, dots + brackets);
    EXPECT_EQ(config.instances[2].password, dots + "\n" + brackets + "\"\"");
    EXPECT_EQ(config.instances[3].password, brackets + "\n" + dots + "''");
}

TEST_F(ConfigTest, TextOverOneMebibyteIsRefused) {
    std::string text = db_instance();
    text += "# " + std::string(1024 * 1024 - text.size() - 3, 'x') + "\n";
    ASSERT_EQ(text.size(), 1024u * 1024u);
    EXPECT_EQ(parse(text).instances.size(), 1u);
    text += "\n";
    EXPECT_EQ(error_of(text), "test.toml: more than the 1 MiB a configuration file may have (1048577 bytes)");
}

TEST_F(ConfigTest, LoadConfigRefusesAFileOverOneMebibyteWithoutReadingIt) {
    const auto big = scratch.write("big.toml", db_instance());
    std::filesystem::resize_file(big, std::uintmax_t{1} << 32);  // 4 GiB, sparse
    try {
        load_config(big, env);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), StartsWith(big.string() + ": more than the 1 MiB a configuration file may have"));
    }
}

}  // namespace
}  // namespace pgnspawn
