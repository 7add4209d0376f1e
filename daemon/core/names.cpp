#include "core/names.hpp"

#include <fmt/format.h>
#include <systemd/sd-bus.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace pgnspawn {

namespace {
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
}  // namespace

namespace {
/// The rules both instance and snapshot names follow; `what` names which one it is.
std::optional<std::string> name_problem(std::string_view name, const char* what) {
    if (name.empty())
        return fmt::format("the {} name is empty", what);
    if (name.size() > kMaxInstanceNameLength)
        return fmt::format("the {} name is {} bytes long; at most {} are allowed", what, name.size(),
                           kMaxInstanceNameLength);
    if (!is_alnum(name.front()))
        return fmt::format("the {} name {} must start with a letter or digit", what, quote_untrusted(name));
    for (char c : name)
        if (!is_alnum(c) && c != '-')
            return fmt::format("the {} name {} may contain only letters, digits and '-'", what, quote_untrusted(name));
    return std::nullopt;
}
}  // namespace

std::optional<std::string> instance_name_problem(std::string_view name) { return name_problem(name, "instance"); }

std::optional<std::string> snapshot_name_problem(std::string_view name) { return name_problem(name, "snapshot"); }

std::string instance_object_path(std::string_view valid_name) {
    char* out = nullptr;
    std::string name(valid_name);
    int r = sd_bus_path_encode(kInstanceObjectPrefix, name.c_str(), &out);
    if (r < 0)
        throw std::runtime_error("sd_bus_path_encode failed");
    std::unique_ptr<char, decltype(&std::free)> guard(out, &std::free);
    return std::string(out);
}

std::string unit_name(std::string_view valid_name) { return fmt::format("pgnspawn-{}.service", valid_name); }

std::string machine_name(std::string_view valid_name) { return fmt::format("pgnspawn-{}", valid_name); }

std::string quote_untrusted(std::string_view s) {
    constexpr std::size_t kMax = 64;
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\')
            out += fmt::format("\\{}", static_cast<char>(c));
        else if (c < 0x20 || c >= 0x7f)
            out += fmt::format("\\x{:02x}", c);
        else
            out += static_cast<char>(c);
    }
    out += '"';
    if (s.size() > kMax)
        out += fmt::format(" (and {} more bytes)", s.size() - kMax);
    return out;
}

}  // namespace pgnspawn
