// The lifecycle: the legal-transition table, and Instance driven through a fake Backend
// whose completions the tests hold and run by hand; what its observer is told.

#include "core/instance.hpp"
#include "core/state.hpp"
#include "fake_backend.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace pgnspawn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// --- is_legal_transition ---------------------------------------------------------------

constexpr std::array kAllStates = {State::Stopped, State::Starting, State::Running, State::Stopping, State::Failed};

TEST(StateTransition, TableIsExactlyThis) {
    // Rows: from; columns: to, in the order Stopped, Starting, Running, Stopping, Failed.
    constexpr bool kExpected[5][5] = {
        /* Stopped  */ {false, true, true, false, false},  // start; adopt a running container
        /* Starting */ {false, false, true, false, true},  // started; failed to start
        /* Running  */ {false, false, false, true, true},  // stop; container went away
        /* Stopping */ {true, false, false, false, true},  // stopped; failed to stop
        /* Failed   */ {false, true, false, true, false},  // start again; clean up with a stop
    };
    for (std::size_t from = 0; from < kAllStates.size(); ++from)
        for (std::size_t to = 0; to < kAllStates.size(); ++to)
            EXPECT_EQ(is_legal_transition(kAllStates[from], kAllStates[to]), kExpected[from][to])
                << to_string(kAllStates[from]) << " -> " << to_string(kAllStates[to]);
}

TEST(StateTransition, NoStateMayMoveToItself) {
    for (State s : kAllStates)
        EXPECT_FALSE(is_legal_transition(s, s)) << to_string(s);
}

TEST(StateTransition, StateNames) {
    EXPECT_EQ(to_string(State::Stopped), "stopped");
    EXPECT_EQ(to_string(State::Starting), "starting");
    EXPECT_EQ(to_string(State::Running), "running");
    EXPECT_EQ(to_string(State::Stopping), "stopping");
    EXPECT_EQ(to_string(State::Failed), "failed");
}

InstanceConfig db_config() { return instance_config("db", 5433); }

class InstanceTest : public ::testing::Test, private Instance::Observer {
protected:
    FakeBackend backend;
    Instance instance{db_config(), backend};
    /// The state at each state_changed().
    std::vector<State> states;
    /// The phase at each phase_changed().
    std::vector<std::string> phases;
    /// "label:error" for each completed waiter, in completion order.
    std::vector<std::string> results;

    void SetUp() override { instance.set_observer(this); }

    void state_changed(const Instance& i) override {
        EXPECT_EQ(&i, &instance);
        states.push_back(i.state());
    }
    void phase_changed(const Instance& i) override {
        EXPECT_EQ(&i, &instance);
        phases.push_back(i.phase());
    }

    Instance::Done waiter(const std::string& label) {
        return [this, label](const std::string& error) { results.push_back(label + ":" + error); };
    }

    /// Brings the instance to Running and forgets the calls and notifications on the way.
    void make_running() {
        instance.start(waiter("setup"));
        backend.finish_start("db", "");
        ASSERT_EQ(instance.state(), State::Running);
        backend.calls.clear();
        states.clear();
        results.clear();
    }
};

TEST_F(InstanceTest, InitialStateIsStopped) {
    EXPECT_EQ(instance.state(), State::Stopped);
    EXPECT_EQ(instance.name(), "db");
    EXPECT_EQ(instance.config(), db_config());
    EXPECT_EQ(instance.last_error(), "");
    EXPECT_TRUE(backend.calls.empty());
}

TEST_F(InstanceTest, StartFromStoppedCallsBackendStartOnceAndEntersStarting) {
    instance.start(waiter("start"));
    EXPECT_EQ(instance.state(), State::Starting);
    EXPECT_THAT(backend.calls, ElementsAre("start db"));
    EXPECT_TRUE(results.empty());
}

TEST_F(InstanceTest, SuccessfulStartRunsWatchesAndAnswersTheWaiter) {
    instance.start(waiter("start"));
    backend.finish_start("db", "");
    EXPECT_EQ(instance.state(), State::Running);
    EXPECT_THAT(results, ElementsAre("start:"));
    EXPECT_THAT(backend.calls, ElementsAre("start db", "watch db"));
    EXPECT_EQ(instance.last_error(), "");
    EXPECT_THAT(states, ElementsAre(State::Starting, State::Running));
}

TEST_F(InstanceTest, TwentyConcurrentStartsShareOneBackendStart) {
    for (int i = 0; i < 20; ++i)
        instance.start(waiter("w" + std::to_string(i)));
    EXPECT_EQ(backend.count("start db"), 1);
    EXPECT_TRUE(results.empty());

    backend.finish_start("db", "");
    EXPECT_EQ(backend.count("start db"), 1);
    ASSERT_EQ(results.size(), 20u);
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(results[i], "w" + std::to_string(i) + ":");
    EXPECT_EQ(instance.state(), State::Running);
    EXPECT_EQ(backend.count("watch db"), 1);
}

TEST_F(InstanceTest, TwentyConcurrentStartsAllGetTheSameFailure) {
    for (int i = 0; i < 20; ++i)
        instance.start(waiter("w" + std::to_string(i)));
    backend.finish_start("db", "initdb failed");
    EXPECT_EQ(backend.count("start db"), 1);
    ASSERT_EQ(results.size(), 20u);
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(results[i], "w" + std::to_string(i) + ":initdb failed");
    EXPECT_EQ(instance.state(), State::Failed);
    EXPECT_EQ(instance.last_error(), "initdb failed");
    EXPECT_EQ(backend.count("watch db"), 0);
    EXPECT_THAT(states, ElementsAre(State::Starting, State::Failed));
}

TEST_F(InstanceTest, StartWhenRunningSucceedsAtOnceWithoutTheBackend) {
    make_running();
    instance.start(waiter("again"));
    EXPECT_THAT(results, ElementsAre("again:"));
    EXPECT_TRUE(backend.calls.empty());
    EXPECT_TRUE(states.empty());
    EXPECT_EQ(instance.state(), State::Running);
}

TEST_F(InstanceTest, StopWhenStoppedSucceedsAtOnceWithoutTheBackend) {
    instance.stop(waiter("stop"));
    EXPECT_THAT(results, ElementsAre("stop:"));
    EXPECT_TRUE(backend.calls.empty());
    EXPECT_TRUE(states.empty());
    EXPECT_EQ(instance.state(), State::Stopped);
}

TEST_F(InstanceTest, StopWhenRunningUnwatchesThenStops) {
    make_running();
    instance.stop(waiter("stop"));
    EXPECT_EQ(instance.state(), State::Stopping);
    EXPECT_THAT(backend.calls, ElementsAre("unwatch db", "stop db"));
    EXPECT_TRUE(results.empty());

    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Stopped);
    EXPECT_THAT(results, ElementsAre("stop:"));
    EXPECT_THAT(states, ElementsAre(State::Stopping, State::Stopped));
}

TEST_F(InstanceTest, ConcurrentStopsShareOneBackendStop) {
    make_running();
    for (int i = 0; i < 5; ++i)
        instance.stop(waiter("s" + std::to_string(i)));
    EXPECT_EQ(backend.count("stop db"), 1);
    backend.finish_stop("db", "");
    EXPECT_THAT(results, ElementsAre("s0:", "s1:", "s2:", "s3:", "s4:"));
    EXPECT_EQ(backend.count("stop db"), 1);
}

TEST_F(InstanceTest, StopDuringStartWaitsForTheStartToFinish) {
    instance.start(waiter("start"));
    instance.stop(waiter("stop"));
    EXPECT_EQ(instance.state(), State::Starting);
    EXPECT_THAT(backend.calls, ElementsAre("start db"));
    EXPECT_TRUE(results.empty());

    backend.finish_start("db", "");
    EXPECT_THAT(results, ElementsAre("start:"));
    EXPECT_EQ(instance.state(), State::Stopping);
    EXPECT_THAT(backend.calls, ElementsAre("start db", "watch db", "unwatch db", "stop db"));

    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Stopped);
    EXPECT_THAT(results, ElementsAre("start:", "stop:"));
    EXPECT_THAT(states, ElementsAre(State::Starting, State::Running, State::Stopping, State::Stopped));
}

TEST_F(InstanceTest, StopDuringAFailingStartCleansUpAfterIt) {
    instance.start(waiter("start"));
    instance.stop(waiter("stop"));
    backend.finish_start("db", "container exited");
    EXPECT_THAT(results, ElementsAre("start:container exited"));
    EXPECT_EQ(instance.state(), State::Stopping);
    EXPECT_THAT(backend.calls, ElementsAre("start db", "unwatch db", "stop db"));

    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Stopped);
    EXPECT_EQ(instance.last_error(), "");
    EXPECT_THAT(results, ElementsAre("start:container exited", "stop:"));
    EXPECT_THAT(states, ElementsAre(State::Starting, State::Failed, State::Stopping, State::Stopped));
}

TEST_F(InstanceTest, StartDuringStopRunsAfterTheStop) {
    make_running();
    instance.stop(waiter("stop"));
    instance.start(waiter("start"));
    EXPECT_EQ(instance.state(), State::Stopping);
    EXPECT_THAT(backend.calls, ElementsAre("unwatch db", "stop db"));

    backend.finish_stop("db", "");
    EXPECT_THAT(results, ElementsAre("stop:"));
    EXPECT_EQ(instance.state(), State::Starting);
    EXPECT_THAT(backend.calls, ElementsAre("unwatch db", "stop db", "start db"));

    backend.finish_start("db", "");
    EXPECT_EQ(instance.state(), State::Running);
    EXPECT_THAT(results, ElementsAre("stop:", "start:"));
    EXPECT_THAT(states, ElementsAre(State::Stopping, State::Stopped, State::Starting, State::Running));
}

TEST_F(InstanceTest, FailedStopLeavesFailedWithTheError) {
    make_running();
    instance.stop(waiter("stop"));
    backend.finish_stop("db", "timed out waiting for shutdown");
    EXPECT_EQ(instance.state(), State::Failed);
    EXPECT_EQ(instance.last_error(), "timed out waiting for shutdown");
    EXPECT_THAT(results, ElementsAre("stop:timed out waiting for shutdown"));
    EXPECT_THAT(states, ElementsAre(State::Stopping, State::Failed));
}

TEST_F(InstanceTest, StartWorksFromFailedAndClearsTheError) {
    make_running();
    instance.stop(waiter("stop"));
    backend.finish_stop("db", "timed out");
    backend.calls.clear();
    states.clear();

    instance.start(waiter("start"));
    EXPECT_EQ(instance.state(), State::Starting);
    EXPECT_EQ(instance.last_error(), "");
    EXPECT_THAT(backend.calls, ElementsAre("start db"));
    backend.finish_start("db", "");
    EXPECT_EQ(instance.state(), State::Running);
    EXPECT_THAT(results, ElementsAre("stop:timed out", "start:"));
    EXPECT_THAT(states, ElementsAre(State::Starting, State::Running));
}

TEST_F(InstanceTest, StopFromFailedCleansUp) {
    instance.start(waiter("start"));
    backend.finish_start("db", "boom");
    backend.calls.clear();
    instance.stop(waiter("stop"));
    EXPECT_EQ(instance.state(), State::Stopping);
    EXPECT_THAT(backend.calls, ElementsAre("unwatch db", "stop db"));
    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Stopped);
    EXPECT_EQ(instance.last_error(), "");
}

TEST_F(InstanceTest, UnexpectedExitWhileRunningFailsAndNotifies) {
    make_running();
    ASSERT_TRUE(backend.watches.count("db"));
    backend.watches.at("db")("the container exited with status 1");
    EXPECT_EQ(instance.state(), State::Failed);
    EXPECT_EQ(instance.last_error(), "the container exited with status 1");
    EXPECT_THAT(states, ElementsAre(State::Failed));
}

TEST_F(InstanceTest, ExitReportedDuringStopIsIgnored) {
    make_running();
    auto on_exit = backend.watches.at("db");
    instance.stop(waiter("stop"));
    ASSERT_EQ(backend.calls.front(), "unwatch db");
    on_exit("the container exited");  // a late report from the old watch
    EXPECT_EQ(instance.state(), State::Stopping);
    EXPECT_EQ(instance.last_error(), "");
    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Stopped);
}

TEST_F(InstanceTest, ObserverIsToldOncePerStateChangeWithTheNewState) {
    instance.start(waiter("a"));
    instance.start(waiter("b"));
    backend.finish_start("db", "");
    instance.start(waiter("c"));  // already running: no change
    instance.stop(waiter("d"));
    instance.stop(waiter("e"));
    backend.finish_stop("db", "");
    instance.stop(waiter("f"));  // already stopped: no change
    EXPECT_THAT(states, ElementsAre(State::Starting, State::Running, State::Stopping, State::Stopped));
    EXPECT_THAT(results, ElementsAre("a:", "b:", "c:", "d:", "e:", "f:"));
    EXPECT_THAT(phases, IsEmpty()) << "no phase was reported, so none is announced";
}

TEST_F(InstanceTest, HealthWhenStoppedIsUnhealthyWithoutAskingTheBackend) {
    bool answered = false;
    instance.health([&](HealthResult r) {
        answered = true;
        EXPECT_FALSE(r.healthy);
        EXPECT_EQ(r.detail, "instance db is stopped");
        EXPECT_EQ(r.latency_usec, 0u);
    });
    EXPECT_TRUE(answered);
    EXPECT_EQ(backend.count("health db"), 0);
}

TEST_F(InstanceTest, HealthWhenFailedIncludesTheLastError) {
    instance.start(waiter("start"));
    backend.finish_start("db", "port 5433 on 127.0.0.1 is already in use");
    bool answered = false;
    instance.health([&](HealthResult r) {
        answered = true;
        EXPECT_FALSE(r.healthy);
        EXPECT_EQ(r.detail, "instance db is failed: port 5433 on 127.0.0.1 is already in use");
    });
    EXPECT_TRUE(answered);
    EXPECT_EQ(backend.count("health db"), 0);
}

TEST_F(InstanceTest, HealthWhenStartingIsUnhealthy) {
    instance.start(waiter("start"));
    bool answered = false;
    instance.health([&](HealthResult r) {
        answered = true;
        EXPECT_FALSE(r.healthy);
        EXPECT_THAT(r.detail, HasSubstr("starting"));
    });
    EXPECT_TRUE(answered);
    EXPECT_EQ(backend.count("health db"), 0);
}

TEST_F(InstanceTest, HealthWhenRunningIsDelegatedToTheBackend) {
    make_running();
    backend.health_result = {true, "SELECT 1 ok", 1234};
    bool answered = false;
    instance.health([&](HealthResult r) {
        answered = true;
        EXPECT_TRUE(r.healthy);
        EXPECT_EQ(r.detail, "SELECT 1 ok");
        EXPECT_EQ(r.latency_usec, 1234u);
    });
    EXPECT_TRUE(answered);
    EXPECT_THAT(backend.calls, ElementsAre("health db"));
}

TEST_F(InstanceTest, AdoptRunningContainerBecomesRunningAndWatched) {
    backend.running.insert("db");
    instance.adopt();
    EXPECT_EQ(instance.state(), State::Running);
    EXPECT_THAT(backend.calls, ElementsAre("is_running db", "watch db"));
    EXPECT_THAT(states, ElementsAre(State::Running));
    ASSERT_TRUE(backend.watches.count("db"));
    backend.watches.at("db")("gone");
    EXPECT_EQ(instance.state(), State::Failed);
}

TEST_F(InstanceTest, AdoptWithoutRunningContainerStaysStopped) {
    backend.running.erase("db");
    instance.adopt();
    EXPECT_EQ(instance.state(), State::Stopped);
    EXPECT_THAT(backend.calls, ElementsAre("is_running db"));
    EXPECT_TRUE(states.empty());
}

TEST_F(InstanceTest, AdoptDoesNothingUnlessStopped) {
    instance.start(waiter("start"));
    backend.running.insert("db");
    backend.calls.clear();
    instance.adopt();
    EXPECT_EQ(instance.state(), State::Starting);
    EXPECT_TRUE(backend.calls.empty());
}

// Requests take effect in the order they came, and every caller is answered by the
// operation that served its request.
TEST_F(InstanceTest, StartStopStartRunInOrderAndAnswerEveryone) {
    instance.start(waiter("start1"));
    instance.stop(waiter("stop"));
    instance.start(waiter("start2"));
    backend.finish_start("db", "");
    EXPECT_EQ(instance.state(), State::Stopping);
    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Starting);
    backend.finish_start("db", "");
    EXPECT_EQ(instance.state(), State::Running);
    EXPECT_EQ(results, (std::vector<std::string>{"start1:", "stop:", "start2:"}));
    EXPECT_EQ(backend.count("start db"), 2);
    EXPECT_EQ(backend.count("stop db"), 1);
}

TEST_F(InstanceTest, StopStartStopRunInOrderAndAnswerEveryone) {
    make_running();
    instance.stop(waiter("stop1"));
    instance.start(waiter("start"));
    instance.stop(waiter("stop2"));
    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Starting);
    backend.finish_start("db", "");
    EXPECT_EQ(instance.state(), State::Stopping);
    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Stopped);
    EXPECT_EQ(results, (std::vector<std::string>{"stop1:", "start:", "stop2:"}));
}

TEST_F(InstanceTest, ConsecutiveQueuedRequestsOfOneKindShareOneOperation) {
    instance.start(waiter("start1"));
    instance.stop(waiter("stop1"));
    instance.stop(waiter("stop2"));
    instance.start(waiter("start2"));
    instance.start(waiter("start3"));
    backend.finish_start("db", "");
    backend.finish_stop("db", "");
    backend.finish_start("db", "");
    EXPECT_EQ(instance.state(), State::Running);
    EXPECT_EQ(results, (std::vector<std::string>{"start1:", "stop1:", "stop2:", "start2:", "start3:"}));
    EXPECT_EQ(backend.count("start db"), 2);
    EXPECT_EQ(backend.count("stop db"), 1);
}

TEST_F(InstanceTest, QueuedStopAfterFailedStartCleansUp) {
    instance.start(waiter("start"));
    instance.stop(waiter("stop"));
    backend.finish_start("db", "boom");
    EXPECT_EQ(instance.state(), State::Stopping);
    backend.finish_stop("db", "");
    EXPECT_EQ(instance.state(), State::Stopped);
    EXPECT_EQ(results, (std::vector<std::string>{"start:boom", "stop:"}));
}

TEST_F(InstanceTest, PhasesOfAStartAreKeptAndAnnouncedAsPhaseChangesOnly) {
    instance.start(waiter("a"));
    ASSERT_TRUE(backend.progress.at("db"));
    EXPECT_EQ(instance.phase(), "");
    backend.progress.at("db")("creating");
    backend.progress.at("db")("initdb");
    backend.progress.at("db")("initdb");  // the same phase again is no change
    EXPECT_EQ(instance.phase(), "initdb");
    EXPECT_THAT(states, ElementsAre(State::Starting)) << "a phase is not a state change";
    EXPECT_THAT(phases, ElementsAre("creating", "initdb"));
    // "ready", and the cleared phase of a stop, come with the state change they belong to.
    backend.finish_start("db", "");
    EXPECT_EQ(instance.phase(), "ready");
    instance.stop(waiter("b"));
    EXPECT_EQ(instance.phase(), "");
    EXPECT_THAT(states, ElementsAre(State::Starting, State::Running, State::Stopping));
    EXPECT_THAT(phases, ElementsAre("creating", "initdb"));
}

TEST_F(InstanceTest, AFailedStartKeepsThePhaseItFailedIn) {
    instance.start(waiter("a"));
    backend.progress.at("db")("provisioning");
    backend.finish_start("db", "cannot provision");
    EXPECT_EQ(instance.state(), State::Failed);
    EXPECT_EQ(instance.phase(), "provisioning");
}

}  // namespace
}  // namespace pgnspawn
