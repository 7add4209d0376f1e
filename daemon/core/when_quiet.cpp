#include "core/when_quiet.hpp"

namespace pgnspawn {

WhenQuiet::WhenQuiet(EventLoop& loop, std::chrono::milliseconds delay, std::function<bool()> busy)
    : loop_(loop), delay_(delay), busy_(std::move(busy)) {}

void WhenQuiet::run(const std::string& key, std::function<void()> work) {
    work_.insert_or_assign(key, std::move(work));
    poke();
}

void WhenQuiet::cancel(const std::string& key) {
    work_.erase(key);
    if (work_.empty())
        timer_.reset();
}

void WhenQuiet::poke() {
    if (work_.empty())
        return;  // nothing waits: no timer, no wake-up
    timer_ = loop_.add_timer(delay_, [this] { fire(); });
}

void WhenQuiet::fire() {
    timer_.reset();
    if (busy_())
        return poke();  // a start that ends pokes again; this covers one that never reports
    auto work = std::move(work_);
    work_.clear();
    for (auto& [key, f] : work)
        f();
}

}  // namespace pgnspawn
