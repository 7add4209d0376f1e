// Work that waits for a quiet moment (core/when_quiet.*): it runs once nothing has been
// starting for the delay, never while something is, once per key, and not at all if cancelled.
#include "core/when_quiet.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "loop_deadline.hpp"

namespace pgnspawn {
namespace {

using namespace std::chrono_literals;

class WhenQuietTest : public ::testing::Test, protected test::LoopWithDeadline {
protected:
    bool busy = false;
    std::vector<std::string> ran;
    WhenQuiet quiet{loop, 50ms, [this] { return busy; }};

    std::function<void()> record(const std::string& what) {
        return [this, what] { ran.push_back(what); };
    }
};

TEST_F(WhenQuietTest, WorkRunsAfterTheDelayWhenNothingIsStarting) {
    quiet.run("a", record("a"));
    EXPECT_TRUE(ran.empty()) << "ran at once";
    auto stop = loop.add_timer(1s, [this] { loop.exit(0); });
    loop.run();
    EXPECT_FALSE(timed_out);
    EXPECT_EQ(ran, std::vector<std::string>{"a"});
    EXPECT_EQ(quiet.waiting(), 0u);
}

TEST_F(WhenQuietTest, WorkWaitsWhileAStartIsUnderWay) {
    busy = true;
    quiet.run("a", record("a"));
    std::vector<std::string> seen_while_busy;
    // Busy for far longer than the delay; then the start ends (and pokes, as the manager does).
    auto end_start = loop.add_timer(600ms, [this, &seen_while_busy] {
        seen_while_busy = ran;
        busy = false;
        quiet.poke();
    });
    auto stop = loop.add_timer(1500ms, [this] { loop.exit(0); });
    loop.run();
    EXPECT_FALSE(timed_out);
    EXPECT_TRUE(seen_while_busy.empty()) << "ran while a start was under way";
    EXPECT_EQ(ran, std::vector<std::string>{"a"});
}

TEST_F(WhenQuietTest, WorkRunsEvenIfTheEndOfAStartIsNeverReported) {
    busy = true;
    quiet.run("a", record("a"));
    auto end_start = loop.add_timer(300ms, [this] { busy = false; });  // no poke
    auto stop = loop.add_timer(1500ms, [this] { loop.exit(0); });
    loop.run();
    EXPECT_EQ(ran, std::vector<std::string>{"a"});
}

TEST_F(WhenQuietTest, LaterWorkUnderTheSameKeyReplacesTheEarlier) {
    quiet.run("a", record("first"));
    quiet.run("b", record("b"));
    quiet.run("a", record("second"));
    EXPECT_EQ(quiet.waiting(), 2u);
    auto stop = loop.add_timer(1s, [this] { loop.exit(0); });
    loop.run();
    EXPECT_EQ(ran, (std::vector<std::string>{"second", "b"}));
}

TEST_F(WhenQuietTest, CancelledWorkNeverRuns) {
    quiet.run("a", record("a"));
    quiet.run("b", record("b"));
    quiet.cancel("a");
    EXPECT_EQ(quiet.waiting(), 1u);
    auto stop = loop.add_timer(1s, [this] { loop.exit(0); });
    loop.run();
    EXPECT_EQ(ran, std::vector<std::string>{"b"});
}

TEST_F(WhenQuietTest, WorkMayAskForMoreWorkWhileItRuns) {
    quiet.run("a", [this] {
        ran.push_back("a");
        quiet.run("a", record("again"));
    });
    auto stop = loop.add_timer(1500ms, [this] { loop.exit(0); });
    loop.run();
    EXPECT_EQ(ran, (std::vector<std::string>{"a", "again"}));
}

}  // namespace
}  // namespace pgnspawn
