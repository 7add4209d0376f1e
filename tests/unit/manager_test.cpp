// Manager: lookup, autostart, and reload — new instances appear, dropped ones disappear
// only at rest, changed settings apply only at rest, and nothing running is restarted.
// Driven through a fake Backend whose completions the tests run by hand, and a real
// event loop whose iterations the tests run one at a time. A daemon that started on a
// bad file serves no instances and answers BadConfiguration until a good reload.

#include "core/manager.hpp"
#include "core/errors.hpp"
#include "fake_backend.hpp"
#include "platform/event_loop.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pgnspawn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

/// Records what the D-Bus face would be told, checking that each Instance it is shown
/// is still alive and consistent at that moment.
class RecordingObserver : public Manager::Observer {
public:
    std::vector<std::string> events;

    void instance_added(const Instance& i) override { events.push_back("added " + i.name()); }
    void instance_removed(const Instance& i) override {
        events.push_back("removed " + i.name() + " " + std::string(to_string(i.state())));
    }
    void instance_replaced(const Instance& old, const Instance& fresh) override {
        EXPECT_EQ(old.name(), fresh.name());
        events.push_back(
            fmt::format("replaced {} port {} -> {}", fresh.name(), old.config().port, fresh.config().port));
    }
    void state_changed(const Instance& i) override {
        events.push_back("state " + i.name() + " " + std::string(to_string(i.state())));
    }
    void phase_changed(const Instance& i) override {
        events.push_back("phase " + i.name() + " " + i.phase() + " (" + std::string(to_string(i.state())) + ")");
    }
};

InstanceConfig instance(const std::string& name, uint16_t port, bool autostart = false) {
    return instance_config(name, port, autostart);
}

Config config_of(std::vector<InstanceConfig> instances) {
    Config c;
    c.source = "/etc/pgnspawn/pgnspawn.toml";
    c.instances = std::move(instances);
    return c;
}

class ManagerTest : public ::testing::Test {
protected:
    EventLoop loop;
    FakeBackend backend;
    RecordingObserver observer;
    Manager manager{config_of({instance("alpha", 5433), instance("beta", 5434)}), backend, loop};

    void SetUp() override { manager.set_observer(&observer); }

    /// The event loop's next iteration: runs what was posted until now, nothing else.
    void run_deferred() { ASSERT_GE(sd_event_run(loop.get(), 0), 0); }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& i : manager.instances())
            out.push_back(i->name());
        return out;
    }

    std::string error_name_of(const std::function<void()>& f) {
        try {
            f();
        } catch (const DomainError& e) {
            return std::string(e.name()) + ": " + e.what();
        }
        return "no error";
    }

    void start(const std::string& name) {
        manager.lookup_startable(name).start([](const std::string& e) { EXPECT_EQ(e, ""); });
        backend.finish_start(name);
    }
};

// --- lookup ------------------------------------------------------------------------------

TEST_F(ManagerTest, LookupDistinguishesMalformedFromUnknownNames) {
    EXPECT_EQ(&manager.lookup("alpha"), manager.instances()[0].get());
    EXPECT_THAT(error_name_of([&] { manager.lookup("a/b"); }), HasSubstr(error_name::InvalidArgs));
    EXPECT_THAT(error_name_of([&] { manager.lookup("gamma"); }),
                HasSubstr("NoSuchInstance: no instance named \"gamma\" is configured in /etc/pgnspawn/pgnspawn.toml"));
}

// --- reload: additions ---------------------------------------------------------------

TEST_F(ManagerTest, ReloadAddsNewInstancesInFileOrder) {
    const auto s =
        manager.reload(config_of({instance("gamma", 5435), instance("alpha", 5433), instance("beta", 5434)}));
    EXPECT_THAT(s.added, ElementsAre("gamma"));
    EXPECT_THAT(s.removed, IsEmpty());
    EXPECT_THAT(s.changed, IsEmpty());
    EXPECT_THAT(names(), ElementsAre("gamma", "alpha", "beta"));
    EXPECT_THAT(observer.events, ElementsAre("added gamma"));
    EXPECT_EQ(manager.lookup_startable("gamma").config().port, 5435);
    EXPECT_EQ(manager.lookup("gamma").state(), State::Stopped);
}

TEST_F(ManagerTest, AddedInstanceWorksAndReportsStateChanges) {
    manager.reload(config_of({instance("alpha", 5433), instance("beta", 5434), instance("gamma", 5435)}));
    observer.events.clear();
    start("gamma");
    EXPECT_EQ(manager.lookup("gamma").state(), State::Running);
    EXPECT_THAT(observer.events, ElementsAre("state gamma starting", "state gamma running"));
}

TEST_F(ManagerTest, UnchangedInstancesAreKeptAsTheyAre) {
    start("alpha");
    const Instance* alpha = &manager.lookup("alpha");
    const Instance* beta = &manager.lookup("beta");
    const auto s = manager.reload(config_of({instance("alpha", 5433), instance("beta", 5434)}));
    EXPECT_THAT(s.added, IsEmpty());
    EXPECT_THAT(s.removed, IsEmpty());
    EXPECT_THAT(s.changed, IsEmpty());
    EXPECT_THAT(s.removal_pending, IsEmpty());
    EXPECT_THAT(s.change_pending, IsEmpty());
    EXPECT_EQ(&manager.lookup("alpha"), alpha);
    EXPECT_EQ(&manager.lookup("beta"), beta);
    EXPECT_EQ(alpha->state(), State::Running);
    EXPECT_THAT(observer.events, ElementsAre("state alpha starting", "state alpha running"));
}

// --- reload: removals ----------------------------------------------------------------

TEST_F(ManagerTest, DroppedStoppedInstanceIsRemovedAtOnce) {
    const auto s = manager.reload(config_of({instance("alpha", 5433)}));
    EXPECT_THAT(s.removed, ElementsAre("beta"));
    EXPECT_THAT(s.removal_pending, IsEmpty());
    EXPECT_THAT(names(), ElementsAre("alpha"));
    EXPECT_THAT(observer.events, ElementsAre("removed beta stopped"));
    EXPECT_THAT(error_name_of([&] { manager.lookup("beta"); }), HasSubstr("NoSuchInstance"));
}

TEST_F(ManagerTest, DroppedFailedInstanceWithoutContainerIsRemovedAtOnce) {
    manager.lookup("beta").start([](const std::string&) {});
    backend.finish_start("beta", "port 5434 is already in use");
    ASSERT_EQ(manager.lookup("beta").state(), State::Failed);
    const auto s = manager.reload(config_of({instance("alpha", 5433)}));
    EXPECT_THAT(s.removed, ElementsAre("beta"));
    EXPECT_THAT(names(), ElementsAre("alpha"));
}

TEST_F(ManagerTest, DroppedRunningInstanceKeepsServingUntilItStops) {
    start("beta");
    const Instance* beta = &manager.lookup("beta");
    observer.events.clear();
    backend.calls.clear();

    const auto s = manager.reload(config_of({instance("alpha", 5433)}));
    EXPECT_THAT(s.removed, IsEmpty());
    EXPECT_THAT(s.removal_pending, ElementsAre("beta"));
    EXPECT_TRUE(manager.removal_pending("beta"));
    EXPECT_THAT(observer.events, IsEmpty());
    EXPECT_THAT(backend.calls, IsEmpty()) << "a reload must not touch a running container";
    // Still there, still running, still reachable for everything but Start.
    EXPECT_THAT(names(), ElementsAre("alpha", "beta"));
    EXPECT_EQ(&manager.lookup("beta"), beta);
    EXPECT_EQ(beta->state(), State::Running);
    EXPECT_THAT(error_name_of([&] { manager.lookup_startable("beta"); }),
                HasSubstr("NoSuchInstance: instance beta was removed from /etc/pgnspawn/pgnspawn.toml"));
    run_deferred();
    EXPECT_THAT(names(), ElementsAre("alpha", "beta"));

    std::string stop_result = "not called";
    manager.lookup("beta").stop([&](const std::string& e) { stop_result = e; });
    backend.finish_stop("beta");
    EXPECT_EQ(stop_result, "");
    // Not destroyed from inside its own callback: only on the next loop iteration.
    EXPECT_THAT(names(), ElementsAre("alpha", "beta"));
    run_deferred();
    EXPECT_THAT(names(), ElementsAre("alpha"));
    EXPECT_FALSE(manager.removal_pending("beta"));
    EXPECT_THAT(observer.events, ElementsAre("state beta stopping", "state beta stopped", "removed beta stopped"));
    EXPECT_THAT(error_name_of([&] { manager.lookup("beta"); }), HasSubstr("NoSuchInstance"));
}

TEST_F(ManagerTest, NewInstanceCannotTakeThePortOfADroppedOneThatStillRuns) {
    start("beta");
    manager.reload(config_of({instance("alpha", 5433), instance("gamma", 5434)}));
    EXPECT_THAT(error_name_of([&] { manager.lookup_startable("gamma"); }),
                HasSubstr("StartFailed: instance gamma cannot start: port 5434 on 127.0.0.1 is still taken by "
                          "instance beta, which was removed from /etc/pgnspawn/pgnspawn.toml but is still running; "
                          "stop it first (pgnspawnctl stop beta)"));
    EXPECT_NO_THROW(manager.lookup_startable("alpha")) << "other ports are not affected";
    manager.lookup("beta").stop([](const std::string&) {});
    backend.finish_stop("beta");
    run_deferred();
    EXPECT_NO_THROW(manager.lookup_startable("gamma"));
}

TEST_F(ManagerTest, StoppedInstanceCannotTakeAPortStillHeldUnderOldSettings) {
    start("beta");  // 5434
    // alpha (stopped) moves to 5434 at once; beta's move to 5435 waits until it stops.
    manager.reload(config_of({instance("alpha", 5434), instance("beta", 5435)}));
    EXPECT_EQ(manager.lookup("alpha").config().port, 5434);
    EXPECT_EQ(manager.lookup("beta").config().port, 5434);
    EXPECT_THAT(error_name_of([&] { manager.lookup_startable("alpha"); }),
                HasSubstr("StartFailed: instance alpha cannot start: port 5434 on 127.0.0.1 is still taken by "
                          "instance beta, which is still running with its settings from before the reload"));
    EXPECT_NO_THROW(manager.lookup_startable("beta")) << "Start of the running instance itself stays idempotent";
}

TEST_F(ManagerTest, DroppedInstanceThatFailsIsRemovedOnceTheContainerIsGone) {
    start("beta");
    manager.reload(config_of({instance("alpha", 5433)}));
    backend.running.erase("beta");
    backend.watches.at("beta")("the container stopped unexpectedly");
    run_deferred();
    EXPECT_THAT(names(), ElementsAre("alpha"));
    EXPECT_EQ(observer.events.back(), "removed beta failed");
}

TEST_F(ManagerTest, FailedInstanceWhoseContainerIsStillUpIsRemovedOnlyAfterAStop) {
    start("beta");
    manager.lookup("beta").stop([](const std::string&) {});
    backend.finish_stop("beta", "systemd could not stop the unit");  // the container stays up
    ASSERT_EQ(manager.lookup("beta").state(), State::Failed);
    ASSERT_TRUE(backend.running.count("beta"));

    const auto s = manager.reload(config_of({instance("alpha", 5433)}));
    EXPECT_THAT(s.removal_pending, ElementsAre("beta"));
    run_deferred();
    EXPECT_THAT(names(), ElementsAre("alpha", "beta"));

    manager.lookup("beta").stop([](const std::string&) {});
    backend.finish_stop("beta");
    run_deferred();
    EXPECT_THAT(names(), ElementsAre("alpha"));
}

TEST_F(ManagerTest, DroppedStartingInstanceIsRemovedAfterItRunsAndStops) {
    manager.lookup("beta").start([](const std::string&) {});
    ASSERT_EQ(manager.lookup("beta").state(), State::Starting);
    const auto s = manager.reload(config_of({instance("alpha", 5433)}));
    EXPECT_THAT(s.removal_pending, ElementsAre("beta"));
    backend.finish_start("beta");
    run_deferred();
    EXPECT_EQ(manager.lookup("beta").state(), State::Running);
    manager.lookup("beta").stop([](const std::string&) {});
    backend.finish_stop("beta");
    run_deferred();
    EXPECT_THAT(names(), ElementsAre("alpha"));
}

TEST_F(ManagerTest, InstanceIsNotDestroyedWhileARequestIsQueued) {
    start("beta");
    manager.reload(config_of({instance("alpha", 5433)}));
    Instance& beta = manager.lookup("beta");
    beta.stop([](const std::string&) {});
    // Queued behind the stop (it was asked for before the reload took effect, say).
    std::string start_result = "not called";
    beta.start([&](const std::string& e) { start_result = e; });
    backend.finish_stop("beta");  // stopped, then the queued start begins at once
    run_deferred();
    ASSERT_EQ(names().size(), 2u) << "destroyed while starting";
    EXPECT_EQ(manager.lookup("beta").state(), State::Starting);
    backend.finish_start("beta");
    EXPECT_EQ(start_result, "");
    manager.lookup("beta").stop([](const std::string&) {});
    backend.finish_stop("beta");
    run_deferred();
    EXPECT_THAT(names(), ElementsAre("alpha"));
}

TEST_F(ManagerTest, ReaddingAnInstanceBeforeItStopsCancelsItsRemoval) {
    start("beta");
    manager.reload(config_of({instance("alpha", 5433)}));
    const auto s = manager.reload(config_of({instance("alpha", 5433), instance("beta", 5434)}));
    EXPECT_THAT(s.added, IsEmpty());
    EXPECT_FALSE(manager.removal_pending("beta"));
    manager.lookup_startable("beta").stop([](const std::string&) {});
    backend.finish_stop("beta");
    run_deferred();
    EXPECT_THAT(names(), ElementsAre("alpha", "beta"));
}

TEST_F(ManagerTest, InstancesWaitingForRemovalAreListedLast) {
    start("alpha");
    manager.reload(config_of({instance("beta", 5434), instance("gamma", 5435)}));
    EXPECT_THAT(names(), ElementsAre("beta", "gamma", "alpha"));
}

// --- reload: changed settings --------------------------------------------------------

TEST_F(ManagerTest, ChangedSettingsOfAStoppedInstanceApplyAtOnce) {
    const auto s = manager.reload(config_of({instance("alpha", 6000), instance("beta", 5434)}));
    EXPECT_THAT(s.changed, ElementsAre("alpha"));
    EXPECT_THAT(s.change_pending, IsEmpty());
    EXPECT_EQ(manager.lookup("alpha").config().port, 6000);
    EXPECT_EQ(manager.lookup("alpha").state(), State::Stopped);
    EXPECT_THAT(observer.events, ElementsAre("replaced alpha port 5433 -> 6000"));
    start("alpha");
    EXPECT_THAT(backend.calls, ElementsAre("start alpha", "watch alpha"));
}

TEST_F(ManagerTest, ChangedSettingsOfARunningInstanceWaitUntilItStops) {
    start("alpha");
    backend.calls.clear();
    observer.events.clear();
    auto changed = instance("alpha", 6000);
    changed.password = "new-secret";

    const auto s = manager.reload(config_of({changed, instance("beta", 5434)}));
    EXPECT_THAT(s.changed, IsEmpty());
    EXPECT_THAT(s.change_pending, ElementsAre("alpha"));
    EXPECT_THAT(backend.calls, IsEmpty()) << "a reload must never restart a running container";
    EXPECT_EQ(manager.lookup("alpha").config().port, 5433) << "it runs with its old settings";
    EXPECT_EQ(manager.lookup("alpha").config().password, "secret-alpha");
    EXPECT_EQ(manager.lookup("alpha").state(), State::Running);

    manager.lookup("alpha").stop([](const std::string&) {});
    backend.finish_stop("alpha");
    EXPECT_EQ(manager.lookup("alpha").config().port, 5433) << "not replaced inside its own callback";
    run_deferred();
    EXPECT_EQ(manager.lookup("alpha").config().port, 6000);
    EXPECT_EQ(manager.lookup("alpha").config().password, "new-secret");
    EXPECT_EQ(manager.lookup("alpha").state(), State::Stopped);
    EXPECT_THAT(observer.events,
                ElementsAre("state alpha stopping", "state alpha stopped", "replaced alpha port 5433 -> 6000"));
    start("alpha");
    EXPECT_EQ(manager.lookup("alpha").state(), State::Running);
}

TEST_F(ManagerTest, RevertingAPendingChangeCancelsIt) {
    start("alpha");
    manager.reload(config_of({instance("alpha", 6000), instance("beta", 5434)}));
    const auto s = manager.reload(config_of({instance("alpha", 5433), instance("beta", 5434)}));
    EXPECT_THAT(s.change_pending, IsEmpty());
    const Instance* alpha = &manager.lookup("alpha");
    manager.lookup("alpha").stop([](const std::string&) {});
    backend.finish_stop("alpha");
    run_deferred();
    EXPECT_EQ(&manager.lookup("alpha"), alpha) << "nothing left to apply";
    EXPECT_EQ(alpha->config().port, 5433);
}

TEST_F(ManagerTest, ChangedSettingsOfAFailedInstanceApplyAtOnce) {
    manager.lookup("alpha").start([](const std::string&) {});
    backend.finish_start("alpha", "initdb failed");
    const auto s = manager.reload(config_of({instance("alpha", 6000), instance("beta", 5434)}));
    EXPECT_THAT(s.changed, ElementsAre("alpha"));
    EXPECT_EQ(manager.lookup("alpha").config().port, 6000);
    EXPECT_EQ(manager.lookup("alpha").state(), State::Stopped);
}

TEST_F(ManagerTest, PostedCallsAfterTheManagerIsGoneDoNothing) {
    {
        FakeBackend b;
        Manager m(config_of({instance("alpha", 5433)}), b, loop);
        m.lookup("alpha").start([](const std::string&) {});
        b.finish_start("alpha");
        m.reload(config_of({}));
        m.lookup("alpha").stop([](const std::string&) {});
        b.finish_stop("alpha");  // posts the removal
    }
    bool later = false;
    loop.post([&] { later = true; });
    run_deferred();  // must not touch the destroyed Manager (ASan would tell)
    EXPECT_TRUE(later);
}

// --- what the observer is told -------------------------------------------------------

TEST_F(ManagerTest, APhaseChangeIsToldAsAPhaseAndAStateChangeAsAState) {
    manager.lookup_startable("alpha").start([](const std::string&) {});
    backend.progress.at("alpha")("initdb");
    backend.progress.at("alpha")("connecting");
    backend.finish_start("alpha");
    EXPECT_THAT(observer.events, ElementsAre("state alpha starting", "phase alpha initdb (starting)",
                                             "phase alpha connecting (starting)", "state alpha running"));
}

TEST_F(ManagerTest, ARemovedInstanceLeavesNothingBehind) {
    start("beta");
    manager.reload(config_of({instance("alpha", 5433)}));
    manager.lookup("beta").stop([](const std::string&) {});
    backend.finish_stop("beta");
    run_deferred();
    ASSERT_EQ(observer.events.back(), "removed beta stopped");
    // The name comes back as a new instance: it starts from scratch, told like any other.
    observer.events.clear();
    manager.reload(config_of({instance("alpha", 5433), instance("beta", 5434)}));
    Instance& beta = manager.lookup_startable("beta");
    EXPECT_EQ(beta.state(), State::Stopped);
    EXPECT_EQ(beta.phase(), "");
    beta.start([](const std::string&) {});
    backend.progress.at("beta")("starting");
    EXPECT_THAT(observer.events, ElementsAre("added beta", "state beta starting", "phase beta starting (starting)"));
}

// --- a bad file at start-up ----------------------------------------------------------------

constexpr const char* kProblem = "/etc/pgnspawn/pgnspawn.toml:4:1: unknown key \"bogus\" in instance \"alpha\"";

class BadStartTest : public ManagerTest {
protected:
    Manager bad{config_of({}), backend, loop};

    void SetUp() override {
        bad.set_configuration_problem(kProblem);
        bad.set_observer(&observer);
    }
};

TEST_F(BadStartTest, EveryLookupAnswersBadConfigurationWithTheParsersMessage) {
    EXPECT_THAT(bad.instances(), IsEmpty());
    const std::string expected = std::string(error_name::BadConfiguration) + ": " + kProblem;
    EXPECT_EQ(error_name_of([&] { bad.lookup("alpha"); }), expected);
    EXPECT_EQ(error_name_of([&] { bad.lookup_startable("alpha"); }), expected);
    EXPECT_EQ(error_name_of([&] { bad.lookup("nosuch"); }), expected);
    EXPECT_EQ(error_name_of([&] { bad.require_configuration(); }), expected);
    EXPECT_THAT(error_name_of([&] { bad.lookup("a/b"); }), HasSubstr(error_name::InvalidArgs))
        << "a name that could never be valid is refused as such";
    EXPECT_EQ(error_name_of([&] { manager.require_configuration(); }), "no error");
}

TEST_F(BadStartTest, ARefusedReloadTellsTheNewerProblem) {
    bad.reload_failed("/etc/pgnspawn/pgnspawn.toml:1:22: expected ']'");
    EXPECT_EQ(error_name_of([&] { bad.lookup("alpha"); }),
              std::string(error_name::BadConfiguration) + ": /etc/pgnspawn/pgnspawn.toml:1:22: expected ']'");
}

TEST_F(BadStartTest, ARefusedReloadKeepsAGoodConfigurationServing) {
    manager.reload_failed(kProblem);
    EXPECT_EQ(manager.configuration_problem(), "");
    EXPECT_NO_THROW(manager.lookup_startable("alpha"));
}

TEST_F(BadStartTest, AGoodReloadBringsTheInstancesUpAsStartUpWould) {
    backend.running.insert("alpha");  // its container kept running through the bad start
    const auto s = bad.reload(config_of({instance("alpha", 5433), instance("beta", 5434, true)}));
    EXPECT_EQ(bad.configuration_problem(), "");
    EXPECT_THAT(s.added, ElementsAre("alpha", "beta"));
    EXPECT_THAT(s.autostarted, ElementsAre("beta"));
    EXPECT_EQ(bad.lookup("alpha").state(), State::Running) << "adopted, not started again";
    EXPECT_EQ(bad.lookup("beta").state(), State::Starting);
    EXPECT_EQ(backend.count("start alpha"), 0);
    EXPECT_THAT(observer.events,
                ElementsAre("added alpha", "added beta", "state alpha running", "state beta starting"));
    EXPECT_NO_THROW(bad.require_configuration());
}

TEST_F(BadStartTest, OnlyAManagerWithoutInstancesCanHaveAProblem) {
    EXPECT_THROW(manager.set_configuration_problem(kProblem), std::logic_error);
}

// --- autostart -----------------------------------------------------------------------

TEST_F(ManagerTest, AutostartStartsOnlyAutostartInstancesThatAreNotRunning) {
    FakeBackend b;
    b.running.insert("adopted");
    Manager m(config_of({instance("plain", 5433), instance("auto", 5434, true), instance("adopted", 5435, true)}), b,
              loop);
    m.adopt_running();
    EXPECT_EQ(m.lookup("adopted").state(), State::Running);
    b.calls.clear();

    EXPECT_THAT(m.start_autostart_instances(), ElementsAre("auto"));
    EXPECT_THAT(b.calls, ElementsAre("start auto")) << "an adopted container is never started again";
    EXPECT_EQ(m.lookup("plain").state(), State::Stopped);
    b.finish_start("auto");
    EXPECT_EQ(m.lookup("auto").state(), State::Running);
}

TEST_F(ManagerTest, AutostartFailureLeavesTheInstanceFailedAndTheOthersStarting) {
    FakeBackend b;
    Manager m(config_of({instance("one", 5433, true), instance("two", 5434, true)}), b, loop);
    EXPECT_THAT(m.start_autostart_instances(), ElementsAre("one", "two"));
    b.finish_start("one", "port 5433 is already in use by another process");
    b.finish_start("two");
    EXPECT_EQ(m.lookup("one").state(), State::Failed);
    EXPECT_EQ(m.lookup("one").last_error(), "port 5433 is already in use by another process");
    EXPECT_EQ(m.lookup("two").state(), State::Running);
}

}  // namespace
}  // namespace pgnspawn
