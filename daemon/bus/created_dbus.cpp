// CreateInstance and DestroyInstance: a{sv} into the table the file's parser reads, the
// caller's uid from the bus, and the domain's answers back.
#include "bus/manager_dbus.hpp"

#include "bus/boundary.hpp"
#include "bus/created_settings.hpp"
#include "core/created_ops.hpp"
#include "core/errors.hpp"
#include "core/names.hpp"

#include <fmt/format.h>

namespace pgnspawn {

namespace {

using VariantMap = std::map<std::string, sdbus::Variant>;

[[noreturn]] void bad_type(const std::string& key, const std::string& type) {
    throw DomainError(error_name::InvalidSetting,
                      fmt::format("setting {} has the D-Bus type {}, which no key takes (strings are s, true/false "
                                  "b, numbers q, u, i or x, lists as, tables a{{sv}} or a{{ss}})",
                                  quote_untrusted(key), quote_untrusted(type)));
}

toml::table to_table(const VariantMap& settings, const std::string& prefix);

/// One value as the file would have it; the parser then decides whether the key takes it.
void insert_value(toml::table& into, const std::string& key, const sdbus::Variant& v, const std::string& prefix) {
    const std::string type = v.peekValueType();
    const std::string path = prefix + key;
    if (type == "s")
        into.insert(key, v.get<std::string>());
    else if (type == "b")
        into.insert(key, v.get<bool>());
    else if (type == "q")
        into.insert(key, static_cast<int64_t>(v.get<uint16_t>()));
    else if (type == "u")
        into.insert(key, static_cast<int64_t>(v.get<uint32_t>()));
    else if (type == "i")
        into.insert(key, static_cast<int64_t>(v.get<int32_t>()));
    else if (type == "x")
        into.insert(key, v.get<int64_t>());
    else if (type == "as") {
        toml::array array;
        for (const auto& s : v.get<std::vector<std::string>>())
            array.push_back(s);
        into.insert(key, std::move(array));
    } else if (type == "a{sv}")
        into.insert(key, to_table(v.get<VariantMap>(), path + "."));
    else if (type == "a{ss}") {
        toml::table table;
        for (const auto& [k, s] : v.get<std::map<std::string, std::string>>())
            table.insert(k, s);
        into.insert(key, std::move(table));
    } else
        bad_type(path, type);
}

toml::table to_table(const VariantMap& settings, const std::string& prefix) {
    toml::table out;
    for (const auto& [key, value] : settings)
        insert_value(out, key, value, prefix);
    return out;
}

}  // namespace

toml::table settings_to_toml(const std::map<std::string, sdbus::Variant>& settings) { return to_table(settings, ""); }

void ManagerObject::CreateInstance(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                                   std::map<std::string, sdbus::Variant> settings) {
    auto reply = std::make_shared<sdbus::Result<sdbus::ObjectPath>>(std::move(result));
    at_boundary_async(*reply, [&] {
        if (auto problem = instance_name_problem(name))
            throw DomainError(error_name::InvalidArgs, *problem);
        auto keys = std::make_shared<toml::table>(settings_to_toml(settings));
        authorized_as(action::Create, std::nullopt, *reply, [this, reply, name, keys](uint32_t uid) {
            const Instance& instance = created_.create(name, std::move(*keys), uid);
            reply->returnResults(sdbus::ObjectPath(instance_object_path(instance.name())));
        });
    });
}

void ManagerObject::DestroyInstance(sdbus::Result<>&& result, std::string name) {
    auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
    at_boundary_async(*reply, [&] {
        const InstanceConfig& config = manager_.lookup(name).config();
        require_created(config);  // before polkit is asked
        const std::string checked = config.name;
        const auto creator = config.created_by;
        authorizer_.check_as(
            current_caller(getObject()), creator, action::DestroyAny,
            [this, reply, checked, creator](const std::string& denied, uint32_t) {
                if (!denied.empty())
                    return reply->returnError(sdbus::Error(
                        error_name::AccessDenied,
                        fmt::format("Access denied: instance {} was created by uid {}; only that user, root or whom "
                                    "polkit grants {} may destroy it",
                                    checked, creator.value_or(0), action::DestroyAny)));
                at_boundary_async(*reply, [&] {
                    created_.destroy(checked, [reply, checked](const std::string& error) {
                        if (error.empty())
                            return reply->returnResults();
                        reply->returnError(sdbus::Error(
                            error_name::StopFailed, fmt::format("Failed to destroy instance {}: {}", checked, error)));
                    });
                });
            });
    });
}

}  // namespace pgnspawn
