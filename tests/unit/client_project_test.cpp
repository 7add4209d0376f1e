// create, destroy, up and psql on the command line; the project's instance name; and the
// URI psql gets, which must not carry the password.

#include "client/args.hpp"
#include "client/errors.hpp"
#include "client/project.hpp"
#include "client/uri.hpp"

#include <gtest/gtest.h>

#include "client_parse.hpp"
#include "temp_dir.hpp"

#include <string>
#include <vector>

namespace pgnspawn::client {
namespace {

TEST(ClientProjectArgs, CreateTakesTheInstanceSettings) {
    const auto invocation = parse({"create", "proj", "--port", "54321", "--database=app", "--user", "dev", "--version",
                                   "15", "--durability", "fast", "--ephemeral", "--no-createdb"});
    EXPECT_EQ(resolve_command(invocation).name, "create");
    EXPECT_FALSE(invocation.version);
    const auto& c = invocation.options.create;
    EXPECT_EQ(c.port, 54321);
    EXPECT_EQ(c.database, "app");
    EXPECT_EQ(c.user, "dev");
    EXPECT_EQ(c.version, "15");
    EXPECT_EQ(c.durability, "fast");
    EXPECT_TRUE(c.ephemeral);
    EXPECT_EQ(c.createdb, false);
    EXPECT_EQ(parse({"up", "--createdb"}).options.create.createdb, true);
    EXPECT_FALSE(parse({"create", "proj"}).options.create.createdb.has_value());
}

TEST(ClientProjectArgs, VersionIsOursEverywhereElse) {
    EXPECT_TRUE(parse({"--version"}).version);
    EXPECT_TRUE(parse({"status", "--version"}).version);
    EXPECT_EQ(parse({"up", "--version", "13"}).options.create.version, "13");
}

TEST(ClientProjectArgs, BadValuesAreUsageErrors) {
    EXPECT_EQ(usage_error({"create", "p", "--port", "65536"}),
              "invalid port '65536' (0 to 65535; 0 lets the daemon pick)");
    EXPECT_EQ(usage_error({"create", "p", "--port", "x"}), "invalid port 'x' (0 to 65535; 0 lets the daemon pick)");
    EXPECT_EQ(usage_error({"create", "p", "--durability", "slow"}), "invalid durability 'slow' (fast or durable)");
    EXPECT_EQ(usage_error({"create", "p", "--createdb", "--no-createdb"}),
              "'--createdb' and '--no-createdb' contradict each other");
    EXPECT_EQ(usage_error({"create"}), "'create' needs an instance name");
    EXPECT_EQ(usage_error({"destroy", "p", "--port", "1"}), "an option given does not apply to 'destroy'");
    EXPECT_EQ(usage_error({"start", "p", "--yes"}), "an option given does not apply to 'start'");
}

TEST(ClientProjectArgs, UpNameIsOptionalDestroyTakesYes) {
    EXPECT_EQ(resolve_command(parse({"up"})).name, "up");
    EXPECT_EQ(resolve_command(parse({"up", "proj", "--shell", "fish"})).name, "up");
    EXPECT_EQ(parse({"destroy", "p", "-y"}).options.given, unsigned{kOptYes});
}

TEST(ClientProjectArgs, EverythingAfterThePsqlNameIsPsqls) {
    const auto invocation = parse({"psql", "proj", "-c", "select 1", "--json", "-X"});
    EXPECT_EQ(invocation.words, (std::vector<std::string>{"psql", "proj", "-c", "select 1", "--json", "-X"}));
    EXPECT_EQ(invocation.options.given, 0u);
    EXPECT_EQ(resolve_command(invocation).name, "psql");
}

TEST(ProjectName, DirectoryNamesBecomeValidInstanceNames) {
    EXPECT_EQ(instance_name_from("my-app"), "my-app");
    EXPECT_EQ(instance_name_from("My_App.v2"), "my-app-v2");
    EXPECT_EQ(instance_name_from("--Web  Shop!!"), "web-shop");
    EXPECT_EQ(instance_name_from("日本"), "");
    EXPECT_EQ(instance_name_from("..."), "");
    EXPECT_EQ(instance_name_from(std::string(60, 'a')), std::string(48, 'a'));
    EXPECT_EQ(instance_name_from(std::string(47, 'a') + "_b"), std::string(47, 'a'));
}

TEST(ProjectName, TheGitTopLevelIsTheNearestDirectoryWithDotGit) {
    test::TempDir dir;
    dir.write("repo/.git/HEAD", "ref: refs/heads/main\n");
    dir.write("repo/src/deep/file", "");
    dir.write("worktree/.git", "gitdir: /elsewhere\n");  // a worktree's .git is a file
    dir.write("plain/file", "");
    EXPECT_EQ(git_top_level(dir.path() / "repo/src/deep"), dir.path() / "repo");
    EXPECT_EQ(git_top_level(dir.path() / "worktree"), dir.path() / "worktree");
    EXPECT_EQ(git_top_level(dir.path() / "plain"), std::filesystem::path());
}

TEST(PsqlUri, ThePasswordIsLeftOut) {
    EXPECT_EQ(uri_without_password("postgresql://dev:s%40cret@127.0.0.1:54300/app"),
              "postgresql://dev@127.0.0.1:54300/app");
    EXPECT_EQ(uri_without_password("postgresql://dev@127.0.0.1:54300/app"), "postgresql://dev@127.0.0.1:54300/app");
    EXPECT_EQ(password_from_uri("postgresql://dev:s%40cret@127.0.0.1:54300/app"), "s@cret");
}

}  // namespace
}  // namespace pgnspawn::client
