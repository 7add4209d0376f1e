// Work that can wait until no instance is starting. Starts sent together are bound by CPU
// (each is a container, a postmaster and a round trip as the user); background work
// nobody waits for would compete with them: the sweeps for leftovers of scratch databases
// and snapshot operations an instance asks for once it runs (a connection and a query
// each), and the spare cluster's initdb (images/cluster.*). So it waits for a quiet moment.
#pragma once

#include "platform/event_loop.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace pgnspawn {

class WhenQuiet {
public:
    /// busy() tells whether a start is under way.
    WhenQuiet(EventLoop& loop, std::chrono::milliseconds delay, std::function<bool()> busy);

    /// Runs `work` once nothing has been starting for `delay`. Work already waiting under
    /// the same key is replaced. Every call re-arms the wait.
    void run(const std::string& key, std::function<void()> work);
    /// Drops the work waiting under `key`, if any.
    void cancel(const std::string& key);
    /// Something changed (a start began or ended): the quiet moment starts again.
    void poke();

    size_t waiting() const { return work_.size(); }

private:
    void fire();

    EventLoop& loop_;
    std::chrono::milliseconds delay_;
    std::function<bool()> busy_;
    std::map<std::string, std::function<void()>> work_;
    EventSource timer_;
};

}  // namespace pgnspawn
