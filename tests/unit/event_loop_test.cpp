// The event loop contains what its callbacks throw: every kind of source, and the
// deferral queue. The loop keeps running, the error is logged with the instance, and the
// source that threw is disabled.
#include "platform/event_loop.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <stdexcept>

#include "loop_deadline.hpp"
#include "temp_dir.hpp"

#include <sys/epoll.h>
#include <unistd.h>

namespace pgnspawn {
namespace {

using namespace std::chrono_literals;

/// Runs the loop until `stop` is called from a callback, bounded by a 5 s timer.
class LoopTest : public ::testing::Test, protected test::LoopWithDeadline {
protected:

    /// Ends the loop after `after` (sd-event's default timer accuracy is 250 ms, so
    /// timers due close together fire together, in any order: tests that need an order
    /// end the loop from their own callbacks instead).
    void stop_later(std::chrono::microseconds after) {
        stopper = loop.add_timer(after, [this] { loop.exit(0); });
    }
    /// Ends the loop once the current callback and what it posted have run.
    void stop_after_this() {
        loop.post([this] { loop.post([this] { loop.exit(0); }); });
    }
    std::string run_capturing_stderr() {
        testing::internal::CaptureStderr();
        loop.run();
        return testing::internal::GetCapturedStderr();
    }
    EventSource stopper;
};

TEST_F(LoopTest, TimerThatThrowsIsLoggedWithItsInstanceAndTheLoopRunsOn) {
    bool later_ran = false;
    auto bad = loop.add_timer(
        1ms, [] { throw std::runtime_error("boom in timer"); }, "dev");
    auto good = loop.add_timer(5ms, [&] {
        later_ran = true;
        stop_after_this();
    });
    const auto err = run_capturing_stderr();
    EXPECT_FALSE(timed_out);
    EXPECT_TRUE(later_ran);
    EXPECT_NE(err.find("timer callback for instance dev: boom in timer"), std::string::npos) << err;
}

TEST_F(LoopTest, IoThatThrowsIsDisabledInsteadOfSpinning) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(write(fds[1], "x", 1), 1);  // stays readable: a level-triggered source would fire forever
    int calls = 0;
    auto io = loop.add_io(fds[0], EPOLLIN, [&](uint32_t) {
        ++calls;
        throw std::runtime_error("boom in io");
    });
    stop_later(300ms);
    const auto err = run_capturing_stderr();
    EXPECT_EQ(calls, 1);
    EXPECT_NE(err.find("I/O callback: boom in io"), std::string::npos) << err;
    io.reset();
    close(fds[0]);
    close(fds[1]);
}

TEST_F(LoopTest, ChildThatThrowsIsContained) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &mask, nullptr), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0)
        _exit(0);
    bool fired = false;
    auto child = loop.add_child(
        pid,
        [&](const siginfo_t&) {
            fired = true;
            throw std::logic_error("boom in child");
        },
        "db1");
    stop_later(200ms);
    const auto err = run_capturing_stderr();
    EXPECT_TRUE(fired);
    EXPECT_NE(err.find("child callback for instance db1: boom in child"), std::string::npos) << err;
}

TEST_F(LoopTest, InotifyThatThrowsIsContained) {
    test::TempDir dir;
    bool fired = false;
    auto watch = loop.add_inotify(dir.path(), IN_CLOSE_WRITE, [&](const struct inotify_event&) {
        fired = true;
        stop_after_this();
        throw std::runtime_error("boom in inotify");
    });
    auto writer = loop.add_timer(1ms, [&] { std::ofstream(dir.path() / "f") << "x"; });
    const auto err = run_capturing_stderr();
    EXPECT_TRUE(fired);
    EXPECT_NE(err.find("inotify callback: boom in inotify"), std::string::npos) << err;
}

TEST_F(LoopTest, DeferThatThrowsIsContained) {
    auto d = loop.add_defer(
        [this] {
            stop_after_this();
            throw std::runtime_error("boom in defer");
        },
        "x");
    const auto err = run_capturing_stderr();
    EXPECT_FALSE(timed_out);
    EXPECT_NE(err.find("deferred callback for instance x: boom in defer"), std::string::npos) << err;
}

TEST_F(LoopTest, SignalThatThrowsIsContained) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &mask, nullptr), 0);
    bool fired = false;
    auto sig = loop.add_signal(SIGUSR1, [&] {
        fired = true;
        stop_after_this();
        throw std::runtime_error("boom in signal");
    });
    auto raiser = loop.add_timer(1ms, [] { kill(getpid(), SIGUSR1); });
    const auto err = run_capturing_stderr();
    EXPECT_TRUE(fired);
    EXPECT_NE(err.find("signal callback: boom in signal"), std::string::npos) << err;
}

TEST_F(LoopTest, NonStandardExceptionIsContainedToo) {
    auto t = loop.add_timer(1ms, [this] {
        stop_after_this();
        throw 42;
    });
    const auto err = run_capturing_stderr();
    EXPECT_NE(err.find("unknown exception"), std::string::npos) << err;
}

TEST_F(LoopTest, PostedWorkRunsInOrderAfterTheCallbackAndOneThrowDoesNotStopTheRest) {
    std::vector<std::string> order;
    auto t = loop.add_timer(1ms, [&] {
        loop.post([&] { order.push_back("first"); });
        loop.post([] { throw std::runtime_error("boom in posted"); }, "dev");
        loop.post([&] {
            order.push_back("third");
            loop.post([&] { order.push_back("posted while running"); });
        });
        order.push_back("callback");
        loop.post([&] { loop.post([&] { loop.exit(0); }); });
    });
    const auto err = run_capturing_stderr();
    EXPECT_EQ(order, (std::vector<std::string>{"callback", "first", "third", "posted while running"}));
    EXPECT_NE(err.find("posted callback for instance dev: boom in posted"), std::string::npos) << err;
}

TEST_F(LoopTest, PostedWorkOfAnOwnerThatIsGoneIsSkipped) {
    bool ran_alive = false, ran_gone = false;
    auto alive = std::make_unique<Lifetime>();
    auto gone = std::make_unique<Lifetime>();
    loop.post([&] { ran_alive = true; }, alive->token());
    loop.post([&] { ran_gone = true; }, gone->token());
    gone.reset();
    stop_after_this();
    loop.run();
    EXPECT_TRUE(ran_alive);
    EXPECT_FALSE(ran_gone);
}

}  // namespace
}  // namespace pgnspawn
