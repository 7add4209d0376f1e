// The daemon's one event loop: a thin C++ face over sd-event. Every source is an RAII
// handle; dropping it removes the source. Callbacks run on the loop, never concurrently.
//
// Nothing escapes into sd-event's C frames: an exception from any callback is logged
// (naming the instance, when the source was given one) and contained. The source that
// threw is disabled, as sd-event does for a handler that returns an error, so a
// callback that keeps failing cannot spin the loop; every other source runs on.
#pragma once

#include <systemd/sd-event.h>

#include <sys/inotify.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

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

    // `instance`, where given, names the instance the source works for; it is logged
    // with an exception that escapes the callback.

    EventSource add_io(int fd, uint32_t events, std::function<void(uint32_t revents)> cb, std::string instance = {});
    /// One-shot timer on CLOCK_MONOTONIC.
    EventSource add_timer(std::chrono::microseconds after, std::function<void()> cb, std::string instance = {});
    /// Fires when the child exits; SIGCHLD must be blocked.
    EventSource add_child(pid_t pid, std::function<void(const siginfo_t&)> cb, std::string instance = {});
    EventSource add_inotify(const std::filesystem::path& path, uint32_t mask,
                            std::function<void(const struct inotify_event&)> cb, std::string instance = {});
    /// Runs cb on the next loop iteration (once), unless the source is dropped first.
    EventSource add_defer(std::function<void()> cb, std::string instance = {});
    /// Handles a (blocked) signal.
    EventSource add_signal(int sig, std::function<void()> cb);

    /// The daemon's one deferral queue: runs f on a later loop iteration, after the current
    /// callback has returned, in the order posted. Work posted while the queue runs waits
    /// for the next iteration. Use it to destroy an object from inside its own callback.
    void post(std::function<void()> f, std::string instance = {});
    /// The same, but f is skipped if `owner` has expired by then: an object that posts
    /// work capturing `this` holds a Lifetime and passes it here.
    void post(std::function<void()> f, std::weak_ptr<const void> owner, std::string instance = {});

    int run();
    void exit(int code);

private:
    struct Posted {
        std::function<void()> f;
        std::string instance;
    };
    void run_posted();

    sd_event* event_ = nullptr;
    std::deque<Posted> posted_;
    EventSource posted_source_;
};

/// Held by an object that posts work capturing `this`: the work is skipped once the
/// object is gone.
class Lifetime {
public:
    std::weak_ptr<const void> token() const { return token_; }

private:
    std::shared_ptr<const void> token_ = std::make_shared<char>(0);
};

/// Runs f and contains what it throws: logged as an error in `where` (e.g. "timer") for
/// `instance`. Returns 0, or -EIO if f threw (sd-event then disables the source).
int run_guarded(const char* where, const std::string& instance, const std::function<void()>& f) noexcept;

/// Microseconds on CLOCK_MONOTONIC, for latency figures.
uint64_t monotonic_usec();

}  // namespace pgnspawn
