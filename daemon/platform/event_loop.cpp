#include "platform/event_loop.hpp"

#include "platform/log.hpp"

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

/// A source's callback and the instance it works for; sd-event frees it with the source.
template <typename F>
struct Userdata {
    F f;
    std::string instance;
};

/// Creates a source whose userdata is a heap-allocated Userdata<F>.
template <typename F, typename Add>
EventSource add_source(F callback, std::string instance, const char* what, Add&& add) {
    auto* u = new Userdata<F>{std::move(callback), std::move(instance)};
    sd_event_source* s = nullptr;
    const int r = add(&s, u);
    if (r < 0) {
        delete u;
        check(r, what);
    }
    sd_event_source_set_destroy_callback(s, [](void* p) { delete static_cast<Userdata<F>*>(p); });
    return EventSource(s);
}

/// Calls a source's callback with args, guarded.
template <typename F, typename... Args>
int call(const char* where, void* userdata, Args&&... args) {
    auto* u = static_cast<Userdata<F>*>(userdata);
    return run_guarded(where, u->instance, [&] { u->f(std::forward<Args>(args)...); });
}

}  // namespace

int run_guarded(const char* where, const std::string& instance, const std::function<void()>& f) noexcept {
    std::string what;
    try {
        f();
        return 0;
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        what = "unknown exception";
    }
    try {
        log_error(instance.empty()
                      ? fmt::format("Internal error in a {} callback: {}", where, what)
                      : fmt::format("Internal error in a {} callback for instance {}: {}", where, instance, what),
                  instance);
    } catch (...) {
    }
    return -EIO;
}

EventLoop::EventLoop() { check(sd_event_new(&event_), "sd_event_new"); }

EventLoop::~EventLoop() {
    posted_source_.reset();
    sd_event_unref(event_);
}

EventSource EventLoop::add_io(int fd, uint32_t events, std::function<void(uint32_t)> cb, std::string instance) {
    using F = std::function<void(uint32_t)>;
    return add_source(F(std::move(cb)), std::move(instance), "sd_event_add_io", [&](sd_event_source** s, void* u) {
        return sd_event_add_io(
            event_, s, fd, events,
            [](sd_event_source*, int, uint32_t revents, void* p) { return call<F>("I/O", p, revents); }, u);
    });
}

EventSource EventLoop::add_timer(std::chrono::microseconds after, std::function<void()> cb, std::string instance) {
    using F = std::function<void()>;
    return add_source(F(std::move(cb)), std::move(instance), "sd_event_add_time_relative",
                      [&](sd_event_source** s, void* u) {
                          return sd_event_add_time_relative(
                              event_, s, CLOCK_MONOTONIC, static_cast<uint64_t>(after.count()), 0,
                              [](sd_event_source*, uint64_t, void* p) { return call<F>("timer", p); }, u);
                      });
}

EventSource EventLoop::add_child(pid_t pid, std::function<void(const siginfo_t&)> cb, std::string instance) {
    using F = std::function<void(const siginfo_t&)>;
    return add_source(F(std::move(cb)), std::move(instance), "sd_event_add_child", [&](sd_event_source** s, void* u) {
        return sd_event_add_child(
            event_, s, pid, WEXITED,
            [](sd_event_source*, const siginfo_t* si, void* p) { return call<F>("child", p, *si); }, u);
    });
}

EventSource EventLoop::add_inotify(const std::filesystem::path& path, uint32_t mask,
                                   std::function<void(const struct inotify_event&)> cb, std::string instance) {
    using F = std::function<void(const struct inotify_event&)>;
    return add_source(F(std::move(cb)), std::move(instance), "sd_event_add_inotify", [&](sd_event_source** s, void* u) {
        return sd_event_add_inotify(
            event_, s, path.c_str(), mask,
            [](sd_event_source*, const struct inotify_event* ev, void* p) { return call<F>("inotify", p, *ev); }, u);
    });
}

EventSource EventLoop::add_defer(std::function<void()> cb, std::string instance) {
    using F = std::function<void()>;
    auto source =
        add_source(F(std::move(cb)), std::move(instance), "sd_event_add_defer", [&](sd_event_source** s, void* u) {
            return sd_event_add_defer(
                event_, s,
                [](sd_event_source* src, void* p) {
                    sd_event_source_set_enabled(src, SD_EVENT_OFF);
                    return call<F>("deferred", p);
                },
                u);
        });
    sd_event_source_set_enabled(source.get(), SD_EVENT_ONESHOT);
    return source;
}

EventSource EventLoop::add_signal(int sig, std::function<void()> cb) {
    using F = std::function<void()>;
    return add_source(F(std::move(cb)), {}, "sd_event_add_signal", [&](sd_event_source** s, void* u) {
        return sd_event_add_signal(
            event_, s, sig,
            [](sd_event_source*, const struct signalfd_siginfo*, void* p) { return call<F>("signal", p); }, u);
    });
}

void EventLoop::post(std::function<void()> f, std::string instance) {
    posted_.push_back({std::move(f), std::move(instance)});
    // One source, kept for the loop's lifetime and armed once per batch, so it is never
    // destroyed from inside its own callback.
    if (!posted_source_)
        posted_source_ = add_defer([this] { run_posted(); });
    else
        sd_event_source_set_enabled(posted_source_.get(), SD_EVENT_ONESHOT);
}

void EventLoop::post(std::function<void()> f, std::weak_ptr<const void> owner, std::string instance) {
    post(
        [f = std::move(f), owner = std::move(owner)] {
            if (!owner.expired())
                f();
        },
        std::move(instance));
}

void EventLoop::run_posted() {
    // Only what was posted before this run; each item is guarded on its own, so one that
    // throws does not keep the others from running.
    auto now = std::move(posted_);
    posted_.clear();
    for (auto& item : now)
        run_guarded("posted", item.instance, item.f);
}

int EventLoop::run() { return sd_event_loop(event_); }

void EventLoop::exit(int code) { sd_event_exit(event_, code); }

uint64_t monotonic_usec() {
    struct timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace pgnspawn
