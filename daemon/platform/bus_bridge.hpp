// Runs an sdbus-c++ 1.2.0 connection on our sd-event loop. That version has no
// attachSdEventLoop(), so its poll data (fd, events, absolute timeout) is re-read before
// every poll and requests are processed until none are pending.
#pragma once

#include "platform/event_loop.hpp"

#include <sdbus-c++/IConnection.h>

namespace pgnspawn {

class BusBridge {
public:
    BusBridge(EventLoop& loop, sdbus::IConnection& connection);
    BusBridge(const BusBridge&) = delete;
    BusBridge& operator=(const BusBridge&) = delete;

private:
    void process();
    static int on_io(sd_event_source*, int, uint32_t, void* self);
    static int on_time(sd_event_source*, uint64_t, void* self);
    static int on_prepare(sd_event_source*, void* self);

    sdbus::IConnection& connection_;
    EventSource io_;
    EventSource timer_;
};

}  // namespace pgnspawn
