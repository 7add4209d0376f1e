// Who may do what: root always; everyone else as polkit decides, asked asynchronously
// with the caller's bus name as the subject (as systemd-machined and portabled do).
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace pgnspawn {

namespace action {
inline constexpr const char* Manage = "org.pgnspawn1.manage";
inline constexpr const char* ReadCredentials = "org.pgnspawn1.read-credentials";
inline constexpr const char* Create = "org.pgnspawn1.create";
/// DestroyInstance of an instance someone else created.
inline constexpr const char* DestroyAny = "org.pgnspawn1.destroy-any";
}  // namespace action

struct Caller {
    std::string bus_name;              ///< unique name, e.g. ":1.42"
    bool interactive_allowed = false;  ///< the message's ALLOW_INTERACTIVE_AUTHORIZATION flag
};

/// The caller of the method call being handled now.
Caller current_caller(const sdbus::IObject& object);

class Authorizer {
public:
    /// error is empty when allowed; otherwise a sentence saying why not.
    using Done = std::function<void(const std::string& error)>;
    virtual ~Authorizer() = default;
    virtual void check(const Caller& caller, const std::string& action, Done done) = 0;
    /// error as for check(); uid is the caller's (0 when it could not be found).
    using UidDone = std::function<void(const std::string& error, uint32_t uid)>;
    /// Like check(), and a caller whose uid is `owner` (a created instance's creator) is
    /// allowed without asking polkit.
    virtual void check_as(const Caller& caller, std::optional<uint32_t> owner, const std::string& action,
                          UidDone done) = 0;
};

/// What the authorizer asks of the world: whose a bus name is, and polkit's answer.
/// BusAuthority asks over D-Bus; tests answer by hand.
class Authority {
public:
    /// error is empty when polkit answered; `authorized` and `challenge` are its answer.
    struct Verdict {
        std::string error;
        bool authorized = false;
        bool challenge = false;  ///< authorized only after the user authenticates
    };
    virtual ~Authority() = default;
    /// The uid of the connection bus_name (org.freedesktop.DBus.GetConnectionUnixUser);
    /// error is empty unless that failed.
    virtual void unix_user(const std::string& bus_name,
                           std::function<void(const std::string& error, uint32_t uid)> done) = 0;
    /// polkit's CheckAuthorization for action, the caller's bus name as the subject.
    virtual void check_authorization(const Caller& caller, const std::string& action,
                                     std::function<void(const Verdict&)> done) = 0;
};

class BusAuthority final : public Authority {
public:
    explicit BusAuthority(sdbus::IConnection& bus);
    void unix_user(const std::string& bus_name,
                   std::function<void(const std::string& error, uint32_t uid)> done) override;
    void check_authorization(const Caller& caller, const std::string& action,
                             std::function<void(const Verdict&)> done) override;

private:
    std::unique_ptr<sdbus::IProxy> dbus_;
    std::unique_ptr<sdbus::IProxy> polkit_;
};

/// The decisions: root is always allowed, without asking polkit (as systemd does), and so
/// is a created instance's creator; an unidentified caller never; everyone else as polkit answers, with a sentence
/// saying what to do when it says no or cannot be asked.
class PolkitAuthorizer final : public Authorizer {
public:
    explicit PolkitAuthorizer(Authority& authority) : authority_(authority) {}
    void check(const Caller& caller, const std::string& action, Done done) override;
    void check_as(const Caller& caller, std::optional<uint32_t> owner, const std::string& action,
                  UidDone done) override;

private:
    Authority& authority_;
};

}  // namespace pgnspawn
