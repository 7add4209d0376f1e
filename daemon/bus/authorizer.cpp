#include "bus/authorizer.hpp"

#include "platform/log.hpp"

#include <fmt/format.h>
#include <systemd/sd-bus.h>

#include <map>

namespace pgnspawn {

namespace {

/// sdbus-c++ 1.2.0 does not expose the ALLOW_INTERACTIVE_AUTHORIZATION header flag; its
/// Message keeps the sd_bus_message in a protected member, reachable through a
/// pointer-to-member formed in a derived class.
struct RawMessage : sdbus::Message {
    static sd_bus_message* of(const sdbus::Message& m) { return static_cast<sd_bus_message*>(m.*(&RawMessage::msg_)); }
};

constexpr uint32_t kAllowUserInteraction = 1;
// Long enough for a person to answer an authentication dialog.
constexpr uint64_t kInteractiveTimeoutUsec = 300'000'000;
constexpr uint64_t kTimeoutUsec = 25'000'000;

}  // namespace

Caller current_caller(const sdbus::IObject& object) {
    Caller c;
    if (const sdbus::Message* m = object.getCurrentlyProcessedMessage()) {
        c.bus_name = m->getSender();
        c.interactive_allowed = sd_bus_message_get_allow_interactive_authorization(RawMessage::of(*m)) > 0;
    }
    return c;
}

BusAuthority::BusAuthority(sdbus::IConnection& bus)
    : dbus_(sdbus::createProxy(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus")),
      polkit_(sdbus::createProxy(bus, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority")) {
    dbus_->finishRegistration();
    polkit_->finishRegistration();
}

void BusAuthority::unix_user(const std::string& bus_name,
                             std::function<void(const std::string& error, uint32_t uid)> done) {
    dbus_->callMethodAsync("GetConnectionUnixUser")
        .onInterface("org.freedesktop.DBus")
        .withArguments(bus_name)
        .uponReplyInvoke([done](const sdbus::Error* e, uint32_t uid) { done(e ? e->getMessage() : "", uid); });
}

void BusAuthority::check_authorization(const Caller& caller, const std::string& action,
                                       std::function<void(const Verdict&)> done) {
    using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
    Subject subject{"system-bus-name", {{"name", sdbus::Variant(caller.bus_name)}}};
    const uint32_t flags = caller.interactive_allowed ? kAllowUserInteraction : 0;
    polkit_->callMethodAsync("CheckAuthorization")
        .onInterface("org.freedesktop.PolicyKit1.Authority")
        .withTimeout(caller.interactive_allowed ? kInteractiveTimeoutUsec : kTimeoutUsec)
        .withArguments(subject, action, std::map<std::string, std::string>{}, flags, std::string())
        .uponReplyInvoke(
            [done](const sdbus::Error* e, sdbus::Struct<bool, bool, std::map<std::string, std::string>> result) {
                Verdict v;
                if (e)
                    v.error = e->getMessage();
                else
                    v = {"", std::get<0>(result), std::get<1>(result)};
                done(v);
            });
}

void PolkitAuthorizer::check(const Caller& caller, const std::string& action, Done done) {
    check_as(caller, std::nullopt, action, [done](const std::string& error, uint32_t) { done(error); });
}

void PolkitAuthorizer::check_as(const Caller& caller, std::optional<uint32_t> owner, const std::string& action,
                                UidDone done_as) {
    if (caller.bus_name.empty())
        return done_as("the caller could not be identified", 0);
    authority_.unix_user(caller.bus_name, [this, caller, owner, action, done_as](const std::string& error,
                                                                                 uint32_t uid) {
        if (!error.empty())
            return done_as(fmt::format("the caller could not be identified: {}", error), 0);
        if (uid == 0 || owner == uid)
            return done_as("", uid);
        auto done = [done_as, uid](const std::string& denied) { done_as(denied, uid); };
        authority_.check_authorization(caller, action, [action, done](const Authority::Verdict& v) {
            if (!v.error.empty()) {
                log_warning(fmt::format("Failed to check authorization for {}: {}", action, v.error));
                return done(fmt::format("the authorization for {} could not be checked ({}); only root may do this now",
                                        action, v.error));
            }
            if (v.authorized)
                return done("");
            if (v.challenge)
                return done(
                    fmt::format("{} requires authentication; run the command from a session with a polkit "
                                "agent, or ask the administrator to add you to the group \"pgnspawn\"",
                                action));
            done(
                fmt::format("{} is not allowed for this user; ask the administrator to add you to the group "
                            "\"pgnspawn\"",
                            action));
        });
    });
}

}  // namespace pgnspawn
