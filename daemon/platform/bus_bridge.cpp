#include "platform/bus_bridge.hpp"

#include "platform/log.hpp"

#include <cstdint>
#include <stdexcept>
#include <system_error>

namespace pgnspawn {

BusBridge::BusBridge(EventLoop& loop, sdbus::IConnection& connection) : connection_(connection) {
    const auto poll = connection_.getEventLoopPollData();
    sd_event_source* io = nullptr;
    int r = sd_event_add_io(loop.get(), &io, poll.fd, static_cast<uint32_t>(poll.events), &BusBridge::on_io, this);
    if (r < 0)
        throw std::system_error(-r, std::generic_category(), "sd_event_add_io(bus)");
    io_.reset(io);
    sd_event_source* timer = nullptr;
    r = sd_event_add_time(loop.get(), &timer, CLOCK_MONOTONIC, 0, 0, &BusBridge::on_time, this);
    if (r < 0)
        throw std::system_error(-r, std::generic_category(), "sd_event_add_time(bus)");
    timer_.reset(timer);
    sd_event_source_set_enabled(timer_.get(), SD_EVENT_OFF);
    // Before every poll: messages may already sit in sd-bus's read queue (after a
    // synchronous call, for example), which the fd alone would never announce.
    sd_event_source_set_prepare(io_.get(), &BusBridge::on_prepare);
}

void BusBridge::process() {
    try {
        while (connection_.processPendingRequest()) {
        }
    } catch (const std::exception& e) {
        log_error(fmt::format("Failed to process D-Bus messages: {}", e.what()));
    }
}

int BusBridge::on_io(sd_event_source*, int, uint32_t, void* self) {
    static_cast<BusBridge*>(self)->process();
    return 0;
}

int BusBridge::on_time(sd_event_source*, uint64_t, void* self) {
    static_cast<BusBridge*>(self)->process();
    return 0;
}

int BusBridge::on_prepare(sd_event_source*, void* p) {
    auto* self = static_cast<BusBridge*>(p);
    const auto poll = self->connection_.getEventLoopPollData();
    sd_event_source_set_io_events(self->io_.get(), static_cast<uint32_t>(poll.events));
    if (poll.timeout_usec == UINT64_MAX) {
        sd_event_source_set_enabled(self->timer_.get(), SD_EVENT_OFF);
    } else {
        sd_event_source_set_time(self->timer_.get(), poll.timeout_usec);
        sd_event_source_set_enabled(self->timer_.get(), SD_EVENT_ONESHOT);
    }
    return 0;
}

}  // namespace pgnspawn
