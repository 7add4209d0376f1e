// The declarative keys (settings, initial_script, databases, extensions) through the
// parser: values as PostgreSQL reads them, settings pgnspawn owns refused for every
// instance, programs, libraries and paths refused for instances created over D-Bus, and
// the SQL and hints of applying them (declare.hpp).

#include "core/config_server.hpp"
#include "core/config.hpp"
#include "core/created.hpp"
#include "images/declare.hpp"
#include "images/layout.hpp"

#include "temp_dir.hpp"
#include "unconnected_pg.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgnspawn {
namespace {

using test::FakeLibdir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using Settings = std::vector<std::pair<std::string, std::string>>;

class ServerKeysTest : public ::testing::Test {
protected:
    FakeLibdir libdir{"15"};
    ConfigEnvironment env{"/var/lib/pgnspawn-test", libdir.path()};

    /// "[instances.db]" with a port and a password (lines 1-3), then `extra` from line 4.
    static std::string db(std::string_view extra) {
        return "[instances.db]\nport = 5433\npassword = \"secret\"\n" + std::string(extra);
    }

    InstanceConfig parse(std::string_view extra) const {
        return parse_config(db(extra), "t.toml", env).instances.at(0);
    }

    std::string error_of(std::string_view extra) const {
        try {
            parse(extra);
        } catch (const ConfigError& e) {
            return e.what();
        }
        ADD_FAILURE() << "expected a ConfigError for:\n" << extra;
        return {};
    }

    /// parse_server_keys as for an instance created over D-Bus: its error, or "" if none.
    std::string created_error_of(std::string_view extra) const {
        const std::string text = db(extra);
        const auto table = toml::parse(std::string_view(text), std::string_view("created.toml"));
        InstanceConfig c = parse(extra);  // valid for the file
        c.settings.clear();
        try {
            parse_server_keys(*table["instances"]["db"].as_table(), c, true, "created.toml");
        } catch (const ConfigError& e) {
            return e.what();
        }
        return {};
    }
};

TEST_F(ServerKeysTest, AbsentKeysLeaveNothingDeclared) {
    const auto c = parse("");
    EXPECT_THAT(c.settings, IsEmpty());
    EXPECT_TRUE(c.initial_script.empty());
    EXPECT_THAT(c.databases, IsEmpty());
    EXPECT_THAT(c.extensions, IsEmpty());
    EXPECT_FALSE(has_declarations(c));
}

TEST_F(ServerKeysTest, SettingsBecomeValuesAsPostgresqlReadsThem) {
    const auto c = parse(
        "settings = { log_statement = \"all\", max_connections = 200, random_page_cost = 1.5, jit = false, "
        "\"pg_stat_statements.track\" = \"top\", auto_explain.log_min_duration = 0, search_path = '\"$user\", public' "
        "}\n");
    EXPECT_EQ(c.settings, (Settings{{"auto_explain.log_min_duration", "0"},
                                    {"jit", "off"},
                                    {"log_statement", "all"},
                                    {"max_connections", "200"},
                                    {"pg_stat_statements.track", "top"},
                                    {"random_page_cost", "1.5"},
                                    {"search_path", "\"$user\", public"}}));
}

TEST_F(ServerKeysTest, SettingsAreMinusCFlagsAfterTheOnesPgnspawnSets) {
    auto c = parse("settings = { log_statement = \"all\", work_mem = \"64MB\" }\n");
    const auto argv = nspawn_argv(c, "/usr/bin/systemd-nspawn");
    const auto at = [&](const std::string& arg) { return std::find(argv.begin(), argv.end(), arg) - argv.begin(); };
    ASSERT_LT(at("log_statement=all"), static_cast<long>(argv.size()));
    EXPECT_EQ(argv[static_cast<std::size_t>(at("log_statement=all") - 1)], "-c");
    EXPECT_EQ(argv[static_cast<std::size_t>(at("work_mem=64MB") - 1)], "-c");
    EXPECT_GT(at("log_statement=all"), at("logging_collector=off"));
}

TEST_F(ServerKeysTest, SettingsMustBeATableOfScalars) {
    EXPECT_EQ(error_of("settings = \"all\"\n"),
              "t.toml:4:12: \"settings\" must be a table of PostgreSQL settings, e.g. { log_statement = \"all\" }");
    EXPECT_THAT(error_of("settings = { search_path = [\"a\"] }\n"),
                HasSubstr("setting \"search_path\" must be a string, an integer, a float or a boolean"));
    EXPECT_THAT(error_of("settings = { application_name = \"a\\nb\" }\n"), HasSubstr("control characters"));
    EXPECT_THAT(error_of("settings = { random_page_cost = inf }\n"), HasSubstr("must be a finite number"));
}

TEST_F(ServerKeysTest, SettingNamesAreValidated) {
    EXPECT_THAT(error_of("settings = { \"log statement\" = \"all\" }\n"),
                HasSubstr("\"log statement\" is not a PostgreSQL setting name"));
    for (const char* bad : {"", "1abc", "a..b", ".a", "a.", "a-b", "a=b", "a;b"})
        EXPECT_TRUE(setting_name_problem(bad)) << bad;
    for (const char* good : {"work_mem", "_x", "auto_explain.log_min_duration", "a1.b2.c3", "Log_Statement"})
        EXPECT_FALSE(setting_name_problem(good)) << good;
}

TEST_F(ServerKeysTest, SettingsPgnspawnOwnsAreRefusedForEveryInstance) {
    EXPECT_EQ(error_of("settings = { port = 5434 }\n"),
              "t.toml:4:21: setting \"port\" is set by pgnspawn: use the instance's \"port\"");
    for (const char* owned :
         {"port", "listen_addresses", "unix_socket_directories", "unix_socket_group", "unix_socket_permissions",
          "data_directory", "config_file", "hba_file", "ident_file", "logging_collector", "fsync", "synchronous_commit",
          "full_page_writes", "PORT", "Data_Directory"})
        EXPECT_THAT(error_of(fmt::format("settings = {{ {} = \"x\" }}\n", owned)), HasSubstr("is set by pgnspawn"))
            << owned;
}

TEST_F(ServerKeysTest, TheFileMayRunProgramsAndLoadLibraries) {
    const auto c =
        parse("settings = { archive_command = \"true\", shared_preload_libraries = \"pg_stat_statements\" }\n");
    EXPECT_EQ(c.settings, (Settings{{"archive_command", "true"}, {"shared_preload_libraries", "pg_stat_statements"}}));
}

TEST_F(ServerKeysTest, CreatedInstancesMayNotRunProgramsLoadLibrariesOrNamePaths) {
    for (const char* refused : {"archive_command",
                                "restore_command",
                                "archive_cleanup_command",
                                "recovery_end_command",
                                "ssl_passphrase_command",
                                "archive_library",
                                "shared_preload_libraries",
                                "session_preload_libraries",
                                "local_preload_libraries",
                                "jit_provider",
                                "dynamic_library_path",
                                "ssl_cert_file",
                                "ssl_key_file",
                                "ssl_ca_file",
                                "ssl_crl_file",
                                "ssl_crl_dir",
                                "ssl_dh_params_file",
                                "krb_server_keyfile",
                                "external_pid_file",
                                "log_directory",
                                "log_filename",
                                "stats_temp_directory",
                                "promote_trigger_file",
                                "primary_conninfo",
                                "Archive_Command",
                                "auto_explain.log_min_duration",
                                "some_future_command",
                                "some_future_directory"}) {
        EXPECT_TRUE(created_setting_problem(refused)) << refused;
        EXPECT_THAT(created_error_of(fmt::format("settings = {{ {} = \"x\" }}\n", refused)),
                    HasSubstr("is not allowed for an instance created over D-Bus"))
            << refused;
    }
    EXPECT_EQ(created_error_of("settings = { archive_command = \"true\" }\n"),
              "created.toml:4:32: setting \"archive_command\" is not allowed for an instance created over D-Bus: it "
              "runs a shell command as postgres");
}

TEST_F(ServerKeysTest, CreateInstancesParserRefusesProgramsAndScripts) {
    auto created = [&](toml::table extra) {
        toml::table keys{{"port", 54300}, {"password", "generated"}};
        for (auto&& [k, v] : extra)
            keys.insert(k, v);
        return parse_created_instance("mine", keys, 1000, "CreateInstance", env);
    };
    try {
        created(toml::table{{"settings", toml::table{{"archive_command", "cp %p /tmp/%f"}}}});
        ADD_FAILURE() << "archive_command was accepted for a created instance";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(),
                     "CreateInstance: setting \"archive_command\" is not allowed for an instance created "
                     "over D-Bus: it runs a shell command as postgres");
    }
    EXPECT_THROW(created(toml::table{{"initial_script", "/etc/shadow"}}), ConfigError);
    EXPECT_THROW(created(toml::table{{"settings", toml::table{{"shared_preload_libraries", "x"}}}}), ConfigError);
    const auto c = created(toml::table{{"settings", toml::table{{"log_statement", "all"}}},
                                       {"databases", toml::array{"mine_test"}},
                                       {"extensions", toml::array{"pg_trgm"}}});
    EXPECT_EQ(c.origin, InstanceOrigin::Created);
    EXPECT_EQ(c.settings, (Settings{{"log_statement", "all"}}));
    EXPECT_THAT(c.databases, ElementsAre("mine_test"));
    EXPECT_THAT(c.extensions, ElementsAre("pg_trgm"));
}

TEST_F(ServerKeysTest, CreatedInstancesKeepOrdinarySettings) {
    for (const char* allowed : {"log_statement", "max_connections", "work_mem", "search_path", "log_temp_files",
                                "temp_file_limit", "ssl_passphrase_command_supports_reload", "timezone"})
        EXPECT_FALSE(created_setting_problem(allowed)) << allowed;
    EXPECT_EQ(created_error_of("settings = { log_statement = \"all\", search_path = \"app\" }\n"
                               "databases = [\"a\"]\nextensions = [\"pg_trgm\"]\n"),
              "");
}

TEST_F(ServerKeysTest, CreatedInstancesMayNotNameAnInitialScript) {
    EXPECT_EQ(created_error_of("initial_script = \"/etc/shadow\"\n"),
              "created.toml:4:18: \"initial_script\" names a file the daemon would read as root; an instance "
              "created over D-Bus may not have one");
}

TEST_F(ServerKeysTest, InitialScriptIsAnAbsoluteNormalPath) {
    EXPECT_EQ(parse("initial_script = \"/etc/pgnspawn//seed.sql\"\n").initial_script, "/etc/pgnspawn/seed.sql");
    EXPECT_TRUE(has_declarations(parse("initial_script = \"/seed.sql\"\n")));
    EXPECT_EQ(error_of("initial_script = \"seed.sql\"\n"),
              "t.toml:4:18: \"initial_script\" must be an absolute path without \"..\", not \"seed.sql\"");
    EXPECT_THAT(error_of("initial_script = \"/etc/../seed.sql\"\n"), HasSubstr("without \"..\""));
    EXPECT_THAT(error_of("initial_script = 1\n"), HasSubstr("\"initial_script\" must be a string"));
}

TEST_F(ServerKeysTest, InitialSqlIsTheScriptsTextInsteadOfAPath) {
    const auto c = parse("initial_sql = \"\"\"\nCREATE TABLE t (n int);\nINSERT INTO t VALUES (1);\n\"\"\"\n");
    EXPECT_EQ(c.initial_sql, "CREATE TABLE t (n int);\nINSERT INTO t VALUES (1);\n");
    EXPECT_TRUE(c.initial_script.empty());
    EXPECT_TRUE(has_declarations(c));
    EXPECT_EQ(error_of("initial_script = \"/s.sql\"\ninitial_sql = \"SELECT 1\"\n"),
              "t.toml:5:15: set either \"initial_script\" or \"initial_sql\", not both");
    EXPECT_THAT(error_of("initial_sql = \"\"\n"), HasSubstr("\"initial_sql\" must be a non-empty string of SQL"));
    EXPECT_THAT(error_of("initial_sql = \"a\\u0000b\"\n"), HasSubstr("without NUL characters"));
    EXPECT_EQ(created_error_of("initial_sql = \"CREATE TABLE t (n int)\"\n"), "");
}

TEST_F(ServerKeysTest, DatabasesAndExtensionsAreDistinctPlainNames) {
    const auto c = parse("databases = [\"a\", \"b-2\"]\nextensions = [\"postgis\", \"uuid-ossp\"]\n");
    EXPECT_THAT(c.databases, ElementsAre("a", "b-2"));
    EXPECT_THAT(c.extensions, ElementsAre("postgis", "uuid-ossp"));
    EXPECT_THAT(error_of("databases = \"a\"\n"), HasSubstr("\"databases\" must be an array of database names"));
    EXPECT_EQ(error_of("databases = [\"a\", \"b;c\"]\n"),
              "t.toml:4:19: each of \"databases\" must be a database name of 1 to 63 letters, digits, '_' or '-', "
              "not starting with a digit or '-'; got \"b;c\"");
    EXPECT_THAT(error_of("extensions = [1]\n"), HasSubstr("got a non-string"));
    EXPECT_THAT(error_of("extensions = [\"pg_trgm\", \"pg_trgm\"]\n"), HasSubstr("names \"pg_trgm\" twice"));
    for (const char* taken : {"db", "postgres", "template0", "template1", "pgnspawn_snap_x"})
        EXPECT_THAT(error_of(fmt::format("databases = [\"{}\"]\n", taken)), HasSubstr("\"databases\" must not name"))
            << taken;
}

TEST_F(ServerKeysTest, BootedImagesRunTheirOwnPostgresql) {
    for (const char* key : {"settings = { jit = false }", "initial_script = \"/s.sql\"", "databases = [\"a\"]",
                            "extensions = [\"pg_trgm\"]"})
        EXPECT_THAT(error_of(fmt::format("image = \"directory\"\ndirectory = \"/srv/os\"\n{}\n", key)),
                    HasSubstr("applies to image \"host\" only"))
            << key;
}

TEST(Declare, DatabasesAreCreatedWhenMissingAndGivenToTheUser) {
    test::Unconnected conn;
    InstanceConfig c;
    c.user = "app";
    c.databases = {"a", "b", "c"};
    EXPECT_EQ(existing_databases_sql(conn.get(), c),
              "SELECT d.datname, r.rolname FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid = "
              "d.datdba WHERE d.datname IN ('a', 'b', 'c')");
    EXPECT_THAT(database_statements(conn.get(), c, {{"a", "app"}, {"b", "postgres"}}),
                ElementsAre("ALTER DATABASE \"b\" OWNER TO \"app\"", "CREATE DATABASE \"c\" OWNER \"app\""));
}

TEST(Declare, AMissingExtensionNamesItsPackage) {
    EXPECT_EQ(extension_package_hint("postgis", "15"), "install postgresql-15-postgis-3");
    EXPECT_EQ(extension_package_hint("plpython3u", "16"), "install postgresql-plpython3-16");
    EXPECT_THAT(extension_package_hint("vector", "15"),
                AllOf(HasSubstr("not packaged in Debian bookworm"), HasSubstr("p.pgvector")));
    EXPECT_EQ(extension_package_hint("no_such_extension", "15"), "");
}

TEST(Declare, TheInitialScriptsMarkerLivesWithTheCluster) {
    EXPECT_EQ(initial_script_marker("/var/lib/pgnspawn/db/data"),
              "/var/lib/pgnspawn/db/data/pgnspawn-initial-script.done");
}

}  // namespace
}  // namespace pgnspawn
