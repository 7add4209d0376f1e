// Cluster creation for the host image: initdb (a stand-in script here) run as an account
// into a temporary directory, the authentication files, the rename; and taking a spare.

#include "images/cluster.hpp"

#include "images/files.hpp"
#include "images/layout.hpp"
#include "temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <optional>

namespace pgnspawn {
namespace {

using namespace std::chrono_literals;
using test::TempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class ClusterInitTest : public ::testing::Test {
protected:
    TempDir dir;
    EventLoop loop;
    std::optional<std::string> result;
    EventSource deadline = loop.add_timer(10s, [this] { loop.exit(1); });

    void SetUp() override {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        ASSERT_EQ(sigprocmask(SIG_BLOCK, &mask, nullptr), 0);  // for the child source
    }

    /// BINDIR/initdb as a shell script: initdb's command line is "initdb --pgdata DIR ...".
    fs::path fake_initdb(const std::string& body) {
        const auto script = dir.write("bin/initdb", "#!/bin/sh\n" + body);
        chmod(script.c_str(), 0755);
        return dir.path() / "bin";
    }

    void run(const fs::path& bindir, const fs::path& log) {
        ClusterInit init(
            loop, bindir, dir.path() / "data.new", dir.path() / "data", log, {getuid(), getgid()},
            [this](const std::string& error) {
                result = error;
                loop.exit(0);
            },
            "dev");
        ASSERT_EQ(loop.run(), 0) << "initdb did not finish";
    }
};

TEST_F(ClusterInitTest, ACompleteClusterAppearsUnderItsFinalName) {
    run(fake_initdb("echo 15 > \"$2/PG_VERSION\"\n"), dir.path() / "initdb.log");
    ASSERT_EQ(result, "");
    EXPECT_EQ(read_file(dir.path() / "data/PG_VERSION"), "15\n");
    EXPECT_EQ(read_file(dir.path() / "data/pg_hba.conf"), pg_hba_conf());
    EXPECT_EQ(read_file(dir.path() / "data/pg_ident.conf"), pg_ident_conf());
    EXPECT_FALSE(fs::exists(dir.path() / "data.new"));
}

TEST_F(ClusterInitTest, AFailedInitdbIsQuotedAndLeavesNoCluster) {
    run(fake_initdb("echo 'initdb: error: invalid locale' >&2\nexit 3\n"), dir.path() / "initdb.log");
    EXPECT_EQ(result, "initdb failed (exit status 3): initdb: error: invalid locale");
    EXPECT_FALSE(fs::exists(dir.path() / "data"));
}

TEST_F(ClusterInitTest, AnUnwritableLogIsANamedError) {
    run(fake_initdb("exit 0\n"), dir.path() / "missing/initdb.log");
    ASSERT_TRUE(result.has_value());
    EXPECT_THAT(*result, HasSubstr("cannot write " + (dir.path() / "missing/initdb.log").string()));
    EXPECT_FALSE(fs::exists(dir.path() / "data"));
}

class SparePoolTest : public ::testing::Test {
protected:
    TempDir root;
    EventLoop loop;
    SparePool spares{loop, 10ms, [] { return false; }};
    InstanceConfig config = [this] {
        InstanceConfig c;
        c.name = "dev";
        c.postgresql_version = "15";
        c.state_directory = root.path() / "dev";
        return c;
    }();
};

TEST_F(SparePoolTest, TakingTheSpareMovesItIntoPlace) {
    root.write(".spare-15/PG_VERSION", "15\n");
    fs::create_directory(config.state_directory);
    ASSERT_EQ(spare_cluster_dir(config), root.path() / ".spare-15");
    EXPECT_TRUE(spares.take(config, config.state_directory / "data"));
    EXPECT_EQ(read_file(config.state_directory / "data/PG_VERSION"), "15\n");
    EXPECT_FALSE(fs::exists(root.path() / ".spare-15"));
}

TEST_F(SparePoolTest, WithoutACompleteSpareNothingIsTaken) {
    fs::create_directory(config.state_directory);
    EXPECT_FALSE(spares.take(config, config.state_directory / "data"));
    root.write(".spare-15/base/1", "");  // initdb interrupted: no PG_VERSION yet
    EXPECT_FALSE(spares.take(config, config.state_directory / "data"));
    EXPECT_FALSE(fs::exists(config.state_directory / "data"));
    config.postgresql_version = "16";
    root.write(".spare-15/PG_VERSION", "15\n");
    EXPECT_FALSE(spares.take(config, config.state_directory / "data")) << "a spare of another version";
}

}  // namespace
}  // namespace pgnspawn
