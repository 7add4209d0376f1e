// CreateInstance's decisions and its files: port picking, quota, passwords, ownership,
// the atomic file in a temporary STATE/instances.d, and CreatedInstances driving a
// Manager over a fake backend (create, name clashes, reload, destroy).

#include "core/created_store.hpp"
#include "core/created_ops.hpp"
#include "core/errors.hpp"

#include "fake_backend.hpp"
#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>

namespace pgnspawn {
namespace {

using test::FakeLibdir;
using test::TempDir;
using ::testing::HasSubstr;

InstanceConfig created_config(const std::string& name, uint16_t port, uint32_t uid) {
    InstanceConfig c = instance_config(name, port);
    c.origin = InstanceOrigin::Created;
    c.created_by = uid;
    return c;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const DomainError& e) {
        return std::string(e.name()) + ": " + e.what();
    }
    return "no error";
}

const auto all_free = [](uint16_t) { return true; };

TEST(PickPort, TakesTheLowestPortNoInstanceUsesAndTheHostHasFree) {
    const CreatedLimits limits{6000, 6005, 10};
    const std::vector<InstanceConfig> taken = {instance_config("a", 6000), created_config("b", 6001, 1000)};
    EXPECT_EQ(pick_port(limits, taken, all_free), 6002);
    EXPECT_EQ(pick_port(limits, taken, [](uint16_t p) { return p != 6002 && p != 6003; }), 6004);
    EXPECT_EQ(pick_port(limits, taken, [](uint16_t) { return false; }), std::nullopt);
    EXPECT_EQ(pick_port(CreatedLimits{6000, 6001, 10}, taken, all_free), std::nullopt);
}

TEST(PickPort, AHostPortIsTakenToo) {
    InstanceConfig forwarded = instance_config("f", 5432);
    forwarded.host_port = 6000;
    EXPECT_EQ(pick_port(CreatedLimits{6000, 6001, 10}, {forwarded}, all_free), 6001);
}

TEST(PickPort, TheHostsOwnListenersAreSeenByBinding) {
    // A real listener: the bind test must see it.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(fd, 1), 0);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const uint16_t port = ntohs(addr.sin_port);
    EXPECT_FALSE(port_is_free_on_host(port));
    close(fd);
    EXPECT_TRUE(port_is_free_on_host(port));
}

TEST(CheckPort, AGivenPortMustBeInTheRangeUnusedAndFree) {
    const CreatedLimits limits{6000, 6005, 10};
    const std::vector<InstanceConfig> taken = {instance_config("a", 6001)};
    EXPECT_EQ(error_of([&] { check_port(6002, limits, taken, all_free); }), "no error");
    EXPECT_THAT(error_of([&] { check_port(5999, limits, taken, all_free); }),
                HasSubstr("PortUnavailable: port 5999 is outside the range for created instances, 6000-6005"));
    EXPECT_THAT(error_of([&] { check_port(6001, limits, taken, all_free); }),
                HasSubstr("port 6001 is already used by instance a"));
    EXPECT_THAT(error_of([&] { check_port(6002, limits, taken, [](uint16_t) { return false; }); }),
                HasSubstr("port 6002 is already in use by another process"));
}

TEST(Quota, CountsTheCallersCreatedInstancesOnly) {
    const CreatedLimits limits{6000, 6005, 2};
    const std::vector<InstanceConfig> all = {instance_config("file", 5432), created_config("a", 6000, 1000),
                                             created_config("b", 6001, 1001)};
    EXPECT_EQ(error_of([&] { check_quota(1000, limits, all); }), "no error");
    auto more = all;
    more.push_back(created_config("c", 6002, 1000));
    EXPECT_THAT(error_of([&] { check_quota(1000, limits, more); }),
                HasSubstr("QuotaExceeded: uid 1000 already has 2 created instance(s)"));
    EXPECT_EQ(error_of([&] { check_quota(1001, limits, more); }), "no error");
}

TEST(Password, TwentyFourAlphanumericsThatDiffer) {
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
        const std::string pw = generate_password();
        EXPECT_EQ(pw.size(), 24u);
        EXPECT_EQ(pw.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
                  std::string::npos);
        seen.insert(pw);
    }
    EXPECT_EQ(seen.size(), 50u);
}

TEST(Ownership, RootCreatorAndEveryoneElse) {
    const auto mine = created_config("a", 6000, 1000);
    EXPECT_EQ(ownership(0, mine), Ownership::Root);
    EXPECT_EQ(ownership(1000, mine), Ownership::Creator);
    EXPECT_EQ(ownership(1001, mine), Ownership::Other);
    EXPECT_EQ(ownership(1000, instance_config("file", 5432)), Ownership::Other);
}

class StoreTest : public ::testing::Test {
protected:
    TempDir dir;
    FakeLibdir libdir{"15"};
    ConfigEnvironment env{dir.path() / "state", libdir.path(), dir.path() / "run"};
    CreatedStore store{dir.path() / "state/instances.d"};

    void SetUp() override { std::filesystem::create_directories(dir.path() / "state"); }
};

TEST_F(StoreTest, SavedFilesAreRootOnlyAndLoadBackAsTheSameInstance) {
    toml::table keys{{"port", 6000}, {"password", "pw"}, {"database", "app"}, {"durability", "fast"}};
    store.save("proj", keys, 1000);
    struct stat st {};
    ASSERT_EQ(stat(store.file_of("proj").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(stat(store.dir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_FALSE(std::filesystem::exists(store.file_of("proj").string() + ".tmp"));

    std::vector<std::string> problems;
    const auto loaded = store.load(env, problems);
    EXPECT_TRUE(problems.empty());
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].name, "proj");
    EXPECT_EQ(loaded[0].port, 6000);
    EXPECT_EQ(loaded[0].database, "app");
    EXPECT_EQ(loaded[0].durability, Durability::Fast);
    EXPECT_EQ(loaded[0].origin, InstanceOrigin::Created);
    EXPECT_EQ(loaded[0].created_by, 1000u);
    EXPECT_EQ(loaded[0].state_directory, dir.path() / "state/proj");

    store.remove("proj");
    EXPECT_TRUE(store.load(env, problems).empty());
}

TEST_F(StoreTest, ABadFileIsReportedAndLeftAloneTheOthersLoad) {
    store.save("good", toml::table{{"port", 6000}, {"password", "pw"}}, 1000);
    dir.write("state/instances.d/bad.toml", "created_by = 1000\n[instances.bad]\nport = \"x\"\n");
    dir.write("state/instances.d/other.toml", "created_by = 1000\n[instances.wrong]\nport = 1\n");
    dir.write("state/instances.d/paths.toml",
              "created_by = 1000\n[instances.paths]\nport = 6001\npassword_file = \"/etc/shadow\"\n");
    std::vector<std::string> problems;
    const auto loaded = store.load(env, problems);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].name, "good");
    ASSERT_EQ(problems.size(), 3u);
    const std::string all = problems[0] + problems[1] + problems[2];
    EXPECT_THAT(all, HasSubstr("bad.toml:3:8: \"port\" must be an integer"));
    EXPECT_THAT(all, HasSubstr("other.toml: not a created instance (it needs only [instances.other])"));
    EXPECT_THAT(all, HasSubstr("\"password_file\" is not allowed for a created instance"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "state/instances.d/bad.toml"));
}

class CreatedInstancesTest : public StoreTest {
protected:
    EventLoop loop;
    FakeBackend backend;
    Manager manager{file_config(), backend, loop};
    std::set<uint16_t> busy_on_host;
    CreatedInstances created{manager, store, env, loop, [this](uint16_t p) { return !busy_on_host.count(p); }};

    static Config file_config() {
        Config c;
        c.source = "/etc/pgnspawn/pgnspawn.toml";
        c.instances = {instance_config("file", 54300)};
        return c;
    }
    void run_deferred() { ASSERT_GE(sd_event_run(loop.get(), 0), 0); }
    std::string create(const std::string& name, toml::table keys = {}, uint32_t uid = 1000) {
        return error_of([&] { created.create(name, std::move(keys), uid); });
    }
};

TEST_F(CreatedInstancesTest, CreatePicksAPortMakesAPasswordAndPersists) {
    busy_on_host = {54301};
    ASSERT_EQ(create("proj", toml::table{{"database", "app"}}), "no error");
    const auto& c = manager.lookup("proj").config();
    EXPECT_EQ(c.port, 54302);
    EXPECT_EQ(c.password.size(), 24u);
    EXPECT_EQ(c.created_by, 1000u);
    std::vector<std::string> problems;
    const auto loaded = store.load(env, problems);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].password, c.password);  // the generated password is kept
    EXPECT_EQ(loaded[0].port, 54302);
    ASSERT_EQ(create("second"), "no error");
    EXPECT_EQ(manager.lookup("second").config().port, 54303);
}

TEST_F(CreatedInstancesTest, BadInputIsANamedErrorAndChangesNothing) {
    ASSERT_EQ(create("proj"), "no error");
    EXPECT_THAT(create("file"), HasSubstr("InstanceExists: an instance named file already exists (in the config"));
    EXPECT_THAT(create("proj"), HasSubstr("InstanceExists: an instance named proj already exists (created by uid"));
    EXPECT_THAT(create("x", toml::table{{"port", 54300}}), HasSubstr("PortUnavailable: port 54300 is already used"));
    EXPECT_THAT(create("x", toml::table{{"port", 80}}), HasSubstr("PortUnavailable: port 80 is outside"));
    EXPECT_THAT(create("x", toml::table{{"colour", "red"}}), HasSubstr("InvalidSetting: CreateInstance(\"x\"): "
                                                                       "unknown key \"colour\""));
    EXPECT_THAT(create("x", toml::table{{"directory", "/srv"}}),
                HasSubstr("InvalidSetting: CreateInstance(\"x\"): \"directory\" is not allowed"));
    EXPECT_THAT(create("x/..", {}), HasSubstr("InvalidArgs"));
    EXPECT_FALSE(std::filesystem::exists(store.file_of("x")));
    EXPECT_EQ(manager.instances().size(), 2u);
}

TEST_F(CreatedInstancesTest, TheQuotaHolds) {
    Config file = file_config();
    file.created.quota = 1;
    manager.reload(file);
    ASSERT_EQ(create("one"), "no error");
    EXPECT_THAT(create("two"), HasSubstr("QuotaExceeded"));
    EXPECT_EQ(create("two", {}, 1001), "no error");
}

TEST_F(CreatedInstancesTest, AReloadKeepsCreatedInstancesAndTheyWinANameClash) {
    ASSERT_EQ(create("proj"), "no error");
    Config file = file_config();
    file.instances.push_back(instance_config("proj", 5999));
    manager.reload(file);
    EXPECT_EQ(manager.lookup("proj").config().origin, InstanceOrigin::Created);
    EXPECT_EQ(manager.lookup("proj").config().port, 54301);
    manager.reload(file_config());
    EXPECT_EQ(manager.lookup("proj").config().origin, InstanceOrigin::Created);
}

TEST_F(CreatedInstancesTest, LoadedAtStartUpBesideTheFile) {
    store.save("proj", toml::table{{"port", 54310}, {"password", "pw"}}, 1000);
    std::vector<std::string> problems;
    manager.load_created(store.load(env, problems));
    EXPECT_EQ(manager.lookup("proj").config().port, 54310);
    EXPECT_EQ(manager.lookup("file").config().origin, InstanceOrigin::File);
}

TEST_F(CreatedInstancesTest, DestroyStopsThenRemovesFileStateAndObject) {
    ASSERT_EQ(create("proj"), "no error");
    const auto state = manager.lookup("proj").config().state_directory;
    std::filesystem::create_directories(state / "data");
    manager.lookup("proj").start([](const std::string&) {});
    backend.finish_start("proj");
    std::string answer = "no answer";
    created.destroy("proj", [&](const std::string& e) { answer = e.empty() ? "destroyed" : e; });
    EXPECT_TRUE(std::filesystem::exists(state));  // not before the container is gone
    backend.finish_stop("proj");
    run_deferred();
    EXPECT_EQ(answer, "destroyed");
    EXPECT_FALSE(std::filesystem::exists(state));
    EXPECT_FALSE(std::filesystem::exists(store.file_of("proj")));
    EXPECT_THAT(error_of([&] { manager.lookup("proj"); }), HasSubstr("NoSuchInstance"));
    EXPECT_THAT(error_of([&] { created.destroy("file", [](const std::string&) {}); }),
                HasSubstr("NotSupported: instance file is declared in the configuration file"));
}

}  // namespace
}  // namespace pgnspawn
