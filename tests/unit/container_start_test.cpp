// The one start sequence every image kind shares (images/container_start.hpp), driven on
// a real event loop against a fake systemd: the order of its steps, what the unit is
// given, and what a failure at each point leaves behind.
#include "images/container_start.hpp"

#include "fake_systemd.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

namespace pgnspawn {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

constexpr const char* kUnit = "pgnspawn-dev.service";

/// The parts of a backend every container start uses; starting and stopping are not asked of it.
class TestBackend final : public ContainerBackend {
public:
    using ContainerBackend::ContainerBackend;
    void start(const InstanceConfig&, Done, Progress) override {}
    void stop(const InstanceConfig&, Done) override {}
};

BackendSettings fast_settings() {
    BackendSettings s;
    s.start_timeout = 1500ms;
    return s;
}

class ContainerStartTest : public ::testing::Test {
protected:
    EventLoop loop;
    std::vector<std::string> events;
    test::FakeSystemd systemd{loop, events};
    TestBackend backend{loop, systemd, fast_settings()};
    InstanceConfig config = [] {
        InstanceConfig c;
        c.name = "dev";
        c.port = 5433;
        return c;
    }();
    std::optional<std::string> result;
    std::vector<std::string> phases;
    EventSource deadline = loop.add_timer(10s, [this] { loop.exit(1); });

    /// A description whose steps record themselves and succeed at once.
    ContainerDescription recording() {
        ContainerDescription d;
        d.argv = {"/usr/bin/systemd-nspawn", "--quiet"};
        d.prepare = [this](const PhaseReport& phase, Backend::Done done) {
            events.push_back("prepare");
            phase("initdb");
            done("");
        };
        d.precondition = [this] {
            events.push_back("precondition");
            return std::string();
        };
        d.ready = [this](const PhaseReport& phase, Backend::Done done) {
            events.push_back("ready");
            phase("connecting");
            done("");
        };
        d.timeout_message = [] { return std::string("too slow"); };
        return d;
    }

    /// Runs a start until its done has run and what it posted is over (or 10 s passed).
    void run(ContainerDescription d) {
        start_container(
            backend, config, std::move(d),
            [this](const std::string& error) {
                result = error;
                loop.post([this] { loop.post([this] { loop.exit(0); }); });
            },
            [this](const char* phase) { phases.emplace_back(phase); });
        ASSERT_EQ(loop.run(), 0) << "the start did not finish";
        ASSERT_TRUE(result.has_value());
    }
};

TEST_F(ContainerStartTest, RunsTheDescriptionTopToBottom) {
    run(recording());
    EXPECT_EQ(*result, "");
    EXPECT_THAT(events, ElementsAre("prepare", std::string("unit-state ") + kUnit, "remove-machine pgnspawn-dev",
                                    "precondition", std::string("watch ") + kUnit, std::string("start ") + kUnit,
                                    "ready"));
    EXPECT_THAT(phases, ElementsAre("creating", "initdb", "starting", "connecting"));
    EXPECT_FALSE(backend.starting());
}

TEST_F(ContainerStartTest, TheUnitRunsTheDescribedContainer) {
    auto d = recording();
    d.environment = {"SYSTEMD_SECCOMP=0"};
    d.denied_syscalls = {"@debug"};
    d.syscall_architectures = {"native"};
    run(d);
    ASSERT_EQ(systemd.started.size(), 1u);
    const auto& s = systemd.started[0];
    EXPECT_EQ(s.unit, kUnit);
    EXPECT_EQ(s.description, "pgnspawn PostgreSQL instance dev (host image)");
    EXPECT_THAT(s.argv, ElementsAre("/usr/bin/systemd-nspawn", "--quiet"));
    EXPECT_EQ(s.syslog_identifier, "pgnspawn-dev");
    EXPECT_EQ(s.timeout_stop_usec, backend.settings().stop_timeout_usec);
    EXPECT_THAT(s.environment, ElementsAre("SYSTEMD_SECCOMP=0"));
    EXPECT_THAT(s.denied_syscalls, ElementsAre("@debug"));
    EXPECT_THAT(s.syscall_architectures, ElementsAre("native"));
}

TEST_F(ContainerStartTest, StepsLeftEmptyAreSkipped) {
    ContainerDescription d;
    d.argv = {"/usr/bin/systemd-nspawn"};
    run(d);
    EXPECT_EQ(*result, "");
    EXPECT_THAT(events, Contains(std::string("start ") + kUnit));
}

TEST_F(ContainerStartTest, FailedPreparationStartsNoUnit) {
    auto d = recording();
    d.prepare = [](const PhaseReport&, Backend::Done done) { done("directory /x does not exist"); };
    run(d);
    EXPECT_EQ(*result, "directory /x does not exist");
    EXPECT_THAT(events, ElementsAre());
    EXPECT_FALSE(backend.starting());
}

TEST_F(ContainerStartTest, AStepThatThrowsEndsTheStartWithItsMessage) {
    auto d = recording();
    d.prepare = [](const PhaseReport&, Backend::Done) { throw std::runtime_error("cannot create /x"); };
    run(d);
    EXPECT_EQ(*result, "cannot create /x");
}

TEST_F(ContainerStartTest, FailedPreconditionStartsNoUnitAndStopsNothing) {
    auto d = recording();
    d.precondition = [] { return std::string("port 5433 on 127.0.0.1 is already in use by another process"); };
    run(d);
    EXPECT_EQ(*result, "port 5433 on 127.0.0.1 is already in use by another process");
    EXPECT_THAT(events, Not(Contains(std::string("start ") + kUnit)));
    EXPECT_THAT(events, Not(Contains(std::string("stop ") + kUnit)));
}

TEST_F(ContainerStartTest, ALeftoverRunningUnitIsStoppedBeforeTheStart) {
    systemd.unit_states = {{"loaded", "active"}};
    run(recording());
    EXPECT_EQ(*result, "");
    auto at = [&](const std::string& e) { return std::find(events.begin(), events.end(), e) - events.begin(); };
    EXPECT_LT(at(std::string("stop ") + kUnit), at("remove-machine pgnspawn-dev"));
    EXPECT_LT(at("remove-machine pgnspawn-dev"), at(std::string("start ") + kUnit));
}

TEST_F(ContainerStartTest, AFailedLeftoverUnitIsResetAndItsUnloadingAwaitedBeforeTheStart) {
    systemd.unit_states = {{"loaded", "failed"}};  // then: not loaded any more
    run(recording());
    EXPECT_EQ(*result, "");
    auto at = [&](const std::string& e) { return std::find(events.begin(), events.end(), e) - events.begin(); };
    EXPECT_LT(at(std::string("reset-failed ") + kUnit), at(std::string("start ") + kUnit));
    EXPECT_EQ(std::count(events.begin(), events.end(), std::string("reset-failed ") + kUnit), 1);
}

TEST_F(ContainerStartTest, AStaleUnitIsWaitedForAndTheStartTriedAgain) {
    systemd.start_answers = {{"systemd refused to start pgnspawn-dev.service: exists", true}};
    run(recording());
    EXPECT_EQ(*result, "");
    EXPECT_EQ(systemd.started.size(), 2u);
    EXPECT_EQ(std::count(events.begin(), events.end(), "precondition"), 1) << "checked once, before the first try";
}

TEST_F(ContainerStartTest, AfterThreeRetriesAStaleUnitEndsTheStart) {
    for (int i = 0; i < 4; ++i)
        systemd.start_answers.push_back({"systemd refused to start pgnspawn-dev.service: exists", true});
    run(recording());
    EXPECT_EQ(systemd.started.size(), 4u);
    EXPECT_EQ(*result, "systemd refused to start pgnspawn-dev.service: exists");
    EXPECT_THAT(events, Not(Contains("ready")));
}

TEST_F(ContainerStartTest, FailedReadinessStopsTheUnitAndQuotesItsLastLogLines) {
    systemd.journal = {"LOG: starting", "FATAL: could not bind"};
    auto d = recording();
    d.ready = [](const PhaseReport&, Backend::Done done) { done("cannot connect as \"dev\": refused"); };
    run(d);
    EXPECT_EQ(*result, "cannot connect as \"dev\": refused. Last log lines: LOG: starting | FATAL: could not bind");
    EXPECT_THAT(events, Contains(std::string("stop ") + kUnit));
    EXPECT_FALSE(backend.starting());
}

TEST_F(ContainerStartTest, AFailedStartJobEndsTheStartWithTheLogLines) {
    systemd.journal = {"nspawn: boom"};
    systemd.start_answers = {{"the start job of pgnspawn-dev.service finished with result \"failed\"", false}};
    run(recording());
    EXPECT_EQ(*result,
              "the start job of pgnspawn-dev.service finished with result \"failed\". Last log lines: "
              "nspawn: boom");
    EXPECT_THAT(events, Not(Contains("ready")));
    EXPECT_THAT(events, Contains(std::string("stop ") + kUnit));
}

TEST_F(ContainerStartTest, AUnitThatGoesDownBeforeItIsReadyEndsTheStart) {
    auto d = recording();
    d.ready = [this](const PhaseReport&, Backend::Done) {
        // Never ready: the container comes up, then dies.
        systemd.set_state(kUnit, "inactive");  // a new unit's first report: not a death
        systemd.set_state(kUnit, "activating");
        systemd.set_state(kUnit, "failed");
    };
    run(d);
    EXPECT_EQ(*result, "the container exited before it was ready");
    EXPECT_THAT(events, Contains(std::string("stop ") + kUnit));
}

TEST_F(ContainerStartTest, TheTimeoutEndsTheStartAndNothingIsReportedAfterIt) {
    Backend::Done late_done;
    PhaseReport late_phase;
    auto d = recording();
    d.ready = [&](const PhaseReport& phase, Backend::Done done) {
        EXPECT_TRUE(backend.starting());
        late_phase = phase;
        late_done = std::move(done);
    };
    run(d);
    EXPECT_EQ(*result, "too slow");
    EXPECT_THAT(events, Contains(std::string("stop ") + kUnit));
    ASSERT_TRUE(late_done);
    const auto phases_before = phases;
    late_phase("provisioning");
    late_done("");
    EXPECT_EQ(phases, phases_before);
    EXPECT_EQ(*result, "too slow");
}

}  // namespace
}  // namespace pgnspawn
