#include "platform/event_loop.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <system_error>

namespace pgnspawn {

namespace {

void check(int r, const char* what) {
    if (r < 0)
        throw std::system_error(-r, std::generic_category(), what);
}

/// Creates a source with a heap-allocated callback as its userdata; sd-event frees the
/// callback together with the source.
template <typename F, typename Add>
EventSource add_source(F callback, const char* what, Add&& add) {
    auto* f = new F(std::move(callback));
    sd_event_source* s = nullptr;
    const int r = add(&s, f);
    if (r < 0) {
        delete f;
        check(r, what);
    }
    sd_event_source_set_destroy_callback(s, [](void* p) { delete static_cast<F*>(p); });
    return EventSource(s);
}

}  // namespace

EventLoop::EventLoop() { check(sd_event_new(&event_), "sd_event_new"); }

EventLoop::~EventLoop() { sd_event_unref(event_); }

EventSource EventLoop::add_io(int fd, uint32_t events, std::function<void(uint32_t)> cb) {
    using F = std::function<void(uint32_t)>;
    return add_source(F(std::move(cb)), "sd_event_add_io", [&](sd_event_source** s, F* f) {
        return sd_event_add_io(
            event_, s, fd, events,
            [](sd_event_source*, int, uint32_t revents, void* p) {
                (*static_cast<F*>(p))(revents);
                return 0;
            },
            f);
    });
}

EventSource EventLoop::add_timer(std::chrono::microseconds after, std::function<void()> cb) {
    using F = std::function<void()>;
    return add_source(F(std::move(cb)), "sd_event_add_time_relative", [&](sd_event_source** s, F* f) {
        return sd_event_add_time_relative(
            event_, s, CLOCK_MONOTONIC, static_cast<uint64_t>(after.count()), 0,
            [](sd_event_source*, uint64_t, void* p) {
                (*static_cast<F*>(p))();
                return 0;
            },
            f);
    });
}

EventSource EventLoop::add_child(pid_t pid, std::function<void(const siginfo_t&)> cb) {
    using F = std::function<void(const siginfo_t&)>;
    return add_source(F(std::move(cb)), "sd_event_add_child", [&](sd_event_source** s, F* f) {
        return sd_event_add_child(
            event_, s, pid, WEXITED,
            [](sd_event_source*, const siginfo_t* si, void* p) {
                (*static_cast<F*>(p))(*si);
                return 0;
            },
            f);
    });
}

EventSource EventLoop::add_inotify(const std::filesystem::path& path, uint32_t mask,
                                   std::function<void(const struct inotify_event&)> cb) {
    using F = std::function<void(const struct inotify_event&)>;
    return add_source(F(std::move(cb)), "sd_event_add_inotify", [&](sd_event_source** s, F* f) {
        return sd_event_add_inotify(
            event_, s, path.c_str(), mask,
            [](sd_event_source*, const struct inotify_event* ev, void* p) {
                (*static_cast<F*>(p))(*ev);
                return 0;
            },
            f);
    });
}

EventSource EventLoop::add_defer(std::function<void()> cb) {
    using F = std::function<void()>;
    auto source = add_source(F(std::move(cb)), "sd_event_add_defer", [&](sd_event_source** s, F* f) {
        return sd_event_add_defer(
            event_, s,
            [](sd_event_source* src, void* p) {
                sd_event_source_set_enabled(src, SD_EVENT_OFF);
                (*static_cast<F*>(p))();
                return 0;
            },
            f);
    });
    sd_event_source_set_enabled(source.get(), SD_EVENT_ONESHOT);
    return source;
}

EventSource EventLoop::add_signal(int sig, std::function<void()> cb) {
    using F = std::function<void()>;
    return add_source(F(std::move(cb)), "sd_event_add_signal", [&](sd_event_source** s, F* f) {
        return sd_event_add_signal(
            event_, s, sig,
            [](sd_event_source*, const struct signalfd_siginfo*, void* p) {
                (*static_cast<F*>(p))();
                return 0;
            },
            f);
    });
}

int EventLoop::run() { return sd_event_loop(event_); }

void EventLoop::exit(int code) { sd_event_exit(event_, code); }

uint64_t monotonic_usec() {
    struct timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace pgnspawn
