// The daemon's one event loop: a thin C++ face over sd-event. Every source is an RAII
// handle; dropping it removes the source. Callbacks run on the loop, never concurrently.
#pragma once

#include <systemd/sd-event.h>

#include <sys/inotify.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

namespace pgnspawn {

struct EventSourceDeleter {
    void operator()(sd_event_source* s) const noexcept { sd_event_source_disable_unref(s); }
};
using EventSource = std::unique_ptr<sd_event_source, EventSourceDeleter>;

class EventLoop {
public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    sd_event* get() const { return event_; }

    EventSource add_io(int fd, uint32_t events, std::function<void(uint32_t revents)> cb);
    /// One-shot timer on CLOCK_MONOTONIC.
    EventSource add_timer(std::chrono::microseconds after, std::function<void()> cb);
    /// Fires when the child exits; SIGCHLD must be blocked.
    EventSource add_child(pid_t pid, std::function<void(const siginfo_t&)> cb);
    EventSource add_inotify(const std::filesystem::path& path, uint32_t mask,
                            std::function<void(const struct inotify_event&)> cb);
    /// Runs cb on the next loop iteration (once).
    EventSource add_defer(std::function<void()> cb);
    /// Handles a (blocked) signal.
    EventSource add_signal(int sig, std::function<void()> cb);

    int run();
    void exit(int code);

private:
    sd_event* event_ = nullptr;
};

/// Microseconds on CLOCK_MONOTONIC, for latency figures.
uint64_t monotonic_usec();

}  // namespace pgnspawn
