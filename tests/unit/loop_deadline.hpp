// Test helper: an event loop that ends itself after 5 s, so that a test whose callbacks
// never stop the loop fails (timed_out) instead of hanging.
#pragma once

#include "platform/event_loop.hpp"

#include <chrono>

namespace pgnspawn::test {

struct LoopWithDeadline {
    EventLoop loop;
    bool timed_out = false;
    EventSource deadline = loop.add_timer(std::chrono::seconds(5), [this] {
        timed_out = true;
        loop.exit(0);
    });
};

}  // namespace pgnspawn::test
