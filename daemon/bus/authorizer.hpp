// Who may do what: root always; everyone else as polkit decides, asked asynchronously
// with the caller's bus name as the subject (as systemd-machined and portabled do).
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <memory>
#include <string>

namespace pgnspawn {

namespace action {
inline constexpr const char* Manage = "org.pgnspawn1.manage";
inline constexpr const char* ReadCredentials = "org.pgnspawn1.read-credentials";
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
};

class PolkitAuthorizer final : public Authorizer {
public:
    explicit PolkitAuthorizer(sdbus::IConnection& bus);
    void check(const Caller& caller, const std::string& action, Done done) override;

private:
    void ask_polkit(const Caller& caller, const std::string& action, Done done);

    std::unique_ptr<sdbus::IProxy> dbus_;
    std::unique_ptr<sdbus::IProxy> polkit_;
};

}  // namespace pgnspawn
