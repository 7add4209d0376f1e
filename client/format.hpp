// Everything pgnspawnctl prints: text, shell assignments (sh, fish) and the --json
// documents of docs/client-json.md. Each function returns the text without a final
// newline unless it says otherwise.
#pragma once

#include "client/records.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgnspawn::client {

/// sh: one single-quoted word; a quote inside becomes '\''.
std::string sh_quote(std::string_view value);
/// fish: inside single quotes only \ and ' are special, each escaped with a backslash.
std::string fish_quote(std::string_view value);
/// `export NAME='value'` (sh) or `set -gx NAME 'value';` (fish).
std::string env_assignment(std::string_view variable, std::string_view value, bool fish);

/// "healthy: DETAIL (1.2 ms)" or "unhealthy: DETAIL".
std::string health_text(const Health& health);
/// `status` without a name: an aligned NAME/STATE table, one line each, newline-terminated.
std::string status_table_text(const std::vector<InstanceEntry>& entries);
/// `status NAME`: one "    Label: value" line per property, newline-terminated.
std::string details_text(const InstanceDetails& details, const std::optional<LiveDetails>& live);

/// `snapshots NAME`: an aligned SNAPSHOT/CREATED/SIZE table, newline-terminated;
/// CREATED in UTC (ISO 8601), SIZE in bytes.
std::string snapshots_text(const std::vector<SnapshotEntry>& entries);
std::string snapshots_json(const std::vector<SnapshotEntry>& entries);
std::string instances_json(const std::vector<InstanceEntry>& entries);
std::string details_json(const InstanceDetails& details, const std::optional<LiveDetails>& live);
std::string address_json(std::string_view host, std::uint16_t port);
std::string health_json(const Health& health);
std::string uri_json(std::string_view uri);
/// One line of `monitor --json`; an empty state is null (events added and removed).
std::string monitor_event_json(std::string_view event, std::string_view name, std::string_view state,
                               std::int64_t time_usec);

}  // namespace pgnspawn::client
