#include "client/format.hpp"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

namespace pgnspawn::client {

namespace {

/// Keeps the keys in the order docs/client-json.md shows them.
using Json = nlohmann::ordered_json;

/// Compact, UTF-8 as it is; bytes that are not UTF-8 (D-Bus never sends any) become
/// U+FFFD rather than an exception or a document no parser accepts.
std::string dump(const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json address_object(std::string_view host, std::uint16_t port) { return {{"host", host}, {"port", port}}; }

Json health_object(const Health& health) {
    return {{"healthy", health.healthy}, {"detail", health.detail}, {"latency_usec", health.latency_usec}};
}

std::string field_line(std::string_view label, std::string_view value) {
    return fmt::format("{:>9}: {}\n", label, value.empty() ? "-" : value);
}

}  // namespace

std::string sh_quote(std::string_view value) {
    std::string out = "'";
    for (const char c : value)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string fish_quote(std::string_view value) {
    std::string out = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "'";
}

std::string env_assignment(std::string_view variable, std::string_view value, bool fish) {
    if (fish)
        return fmt::format("set -gx {} {};", variable, fish_quote(value));
    return fmt::format("export {}={}", variable, sh_quote(value));
}

std::string health_text(const Health& health) {
    if (!health.healthy)
        return fmt::format("unhealthy: {}", health.detail);
    return fmt::format("healthy: {} ({:.1f} ms)", health.detail, static_cast<double>(health.latency_usec) / 1000.0);
}

std::string status_table_text(const std::vector<InstanceEntry>& entries) {
    std::size_t width = std::string_view("NAME").size();
    for (const auto& entry : entries)
        width = std::max(width, entry.name.size());
    std::string out = fmt::format("{:<{}}  {}\n", "NAME", width, "STATE");
    for (const auto& entry : entries)
        out += fmt::format("{:<{}}  {}\n", entry.name, width, entry.state);
    return out;
}

std::string details_text(const InstanceDetails& details, const std::optional<LiveDetails>& live) {
    std::string out = field_line("Name", details.name) + field_line("State", details.state) +
                      field_line("Port", std::to_string(details.port)) + field_line("Database", details.database) +
                      field_line("User", details.user) + field_line("Image", details.image) +
                      field_line("Unit", details.unit) + field_line("Machine", details.machine) +
                      field_line("LastError", details.last_error);
    if (live) {
        out += field_line("Address", fmt::format("{} {}", live->host, live->port));
        out += field_line("Health", health_text(live->health));
    }
    return out;
}

std::string snapshots_text(const std::vector<SnapshotEntry>& entries) {
    std::size_t width = std::string_view("SNAPSHOT").size();
    for (const auto& e : entries)
        width = std::max(width, e.name.size());
    std::string out = fmt::format("{:<{}}  {:<20}  {}\n", "SNAPSHOT", width, "CREATED", "SIZE");
    for (const auto& e : entries) {
        const std::time_t seconds = static_cast<std::time_t>(e.created_usec / 1'000'000);
        std::tm tm{};
        gmtime_r(&seconds, &tm);
        char created[32];
        std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
        out += fmt::format("{:<{}}  {:<20}  {}\n", e.name, width, created, e.size_bytes);
    }
    return out;
}

std::string snapshots_json(const std::vector<SnapshotEntry>& entries) {
    Json list = Json::array();
    for (const auto& e : entries)
        list.push_back({{"name", e.name}, {"created_usec", e.created_usec}, {"size_bytes", e.size_bytes}});
    return dump({{"snapshots", list}});
}

std::string instances_json(const std::vector<InstanceEntry>& entries) {
    Json instances = Json::array();
    for (const auto& entry : entries)
        instances.push_back({{"name", entry.name}, {"state", entry.state}, {"object_path", entry.path}});
    return dump({{"instances", std::move(instances)}});
}

std::string details_json(const InstanceDetails& details, const std::optional<LiveDetails>& live) {
    return dump({
        {"name", details.name},
        {"state", details.state},
        {"port", details.port},
        {"database", details.database},
        {"user", details.user},
        {"image", details.image},
        {"unit", details.unit},
        {"machine", details.machine},
        {"last_error", details.last_error},
        {"address", live ? address_object(live->host, live->port) : Json(nullptr)},
        {"health", live ? health_object(live->health) : Json(nullptr)},
    });
}

std::string address_json(std::string_view host, std::uint16_t port) { return dump(address_object(host, port)); }

std::string health_json(const Health& health) { return dump(health_object(health)); }

std::string uri_json(std::string_view uri) { return dump({{"uri", uri}}); }

std::string monitor_event_json(std::string_view event, std::string_view name, std::string_view state,
                               std::int64_t time_usec) {
    return dump({
        {"event", event},
        {"name", name},
        {"state", state.empty() ? Json(nullptr) : Json(state)},
        {"time_usec", time_usec},
    });
}

}  // namespace pgnspawn::client
