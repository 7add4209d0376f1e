#include "core/config_server.hpp"

#include "core/names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace pgnspawn {

namespace {

struct Refusal {
    std::string_view name;
    std::string_view why;
};

constexpr std::string_view kSocket = "the daemon provisions the cluster through the socket it binds into the container";
constexpr std::string_view kDurability = "\"durability\" sets it (\"fast\" turns it off)";

/// Settings pgnspawn passes on the command line or relies on; refused for every instance.
constexpr Refusal kOwned[] = {
    {"port", "use the instance's \"port\""},
    {"listen_addresses", "use the instance's \"listen_address\""},
    {"unix_socket_directories", kSocket},
    {"unix_socket_group", kSocket},
    {"unix_socket_permissions", kSocket},
    {"data_directory", "the data directory is the instance's state (or, ephemeral, runtime) directory"},
    {"config_file", "the server reads the configuration files of its own cluster"},
    {"hba_file", "pgnspawn writes pg_hba.conf (peer on the socket, scram-sha-256 over TCP)"},
    {"ident_file", "pgnspawn writes pg_ident.conf (root maps to postgres on the socket)"},
    {"logging_collector", "the server logs to the journal, where Start reads its messages for its errors"},
    {"fsync", kDurability},
    {"synchronous_commit", kDurability},
    {"full_page_writes", kDurability},
};

constexpr std::string_view kRunsCommand = "it runs a shell command as postgres";
constexpr std::string_view kLoads = "it loads libraries into the server";
constexpr std::string_view kReads = "it names a file the server reads";
constexpr std::string_view kWrites = "it names a file or directory the server writes";

/// Refused for instances created over D-Bus: whoever created one is not root, and these
/// would have the server run programs or load code at times they do not control, or aim
/// it at paths. The suffix rules below catch what later versions add.
constexpr Refusal kCreatedRefused[] = {
    {"archive_command", kRunsCommand},
    {"restore_command", kRunsCommand},
    {"archive_cleanup_command", kRunsCommand},
    {"recovery_end_command", kRunsCommand},
    {"ssl_passphrase_command", "it runs a shell command as postgres when the server starts"},
    {"archive_library", kLoads},
    {"shared_preload_libraries", kLoads},
    {"session_preload_libraries", kLoads},
    {"local_preload_libraries", kLoads},
    {"jit_provider", kLoads},
    {"dynamic_library_path", "it says where the server loads libraries from"},
    {"ssl_cert_file", kReads},
    {"ssl_key_file", kReads},
    {"ssl_ca_file", kReads},
    {"ssl_crl_file", kReads},
    {"ssl_crl_dir", kReads},
    {"ssl_dh_params_file", kReads},
    {"krb_server_keyfile", kReads},
    {"external_pid_file", kWrites},
    {"log_directory", kWrites},
    {"log_filename", kWrites},
    {"stats_temp_directory", kWrites},
    {"promote_trigger_file", "it names a file the server watches"},
    {"primary_conninfo",
     "it makes the server connect out, and a connection string may hold a password, which would show in the "
     "unit's command line"},
};

constexpr std::string_view kPathSuffixes[] = {"_command", "_library",   "_libraries",   "_file",
                                              "_dir",     "_directory", "_directories", "_path"};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return out;
}

template <std::size_t N>
std::optional<std::string_view> find_reason(const Refusal (&list)[N], std::string_view name) {
    for (const auto& r : list)
        if (r.name == name)
            return r.why;
    return std::nullopt;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Role-like names: letters, digits, '_' and '-', 1 to 63, not starting with a digit or '-'.
bool plain_name(std::string_view v) {
    auto ok_char = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-'; };
    return !v.empty() && v.size() <= 63 && std::all_of(v.begin(), v.end(), ok_char) &&
           !std::isdigit(static_cast<unsigned char>(v[0])) && v[0] != '-';
}

class ServerKeys {
public:
    ServerKeys(const toml::table& t, InstanceConfig& c, bool created, const std::string& source)
        : t_(t), c_(c), created_(created), source_(source) {}

    void parse() {
        if (c_.image != ImageKind::Host)
            for (auto key : kServerKeys)
                if (const toml::node* n = t_[key].node())
                    fail(*n, fmt::format("\"{}\" applies to image \"host\" only; a {} image runs its own PostgreSQL",
                                         key, to_string(c_.image)));
        settings();
        initial_script();
        initial_sql();
        c_.databases = names("databases", "database");
        for (const auto& db : c_.databases)
            if (db == c_.database || db == "postgres" || db == "template0" || db == "template1" ||
                db.rfind("pgnspawn_", 0) == 0)
                fail(*t_["databases"].node(),
                     fmt::format("\"databases\" must not name {}: it is the instance's \"database\", PostgreSQL's "
                                 "own, or pgnspawn's (pgnspawn_*)",
                                 quote_untrusted(db)));
        c_.extensions = names("extensions", "extension");
    }

private:
    [[noreturn]] void fail(const toml::node& where, const std::string& what) const {
        const auto& begin = where.source().begin;
        throw ConfigError(fmt::format("{}:{}:{}: {}", source_, begin.line, begin.column, what));
    }

    void settings() {
        const toml::node* node = t_["settings"].node();
        if (!node)
            return;
        const auto* table = node->as_table();
        if (!table)
            fail(*node, "\"settings\" must be a table of PostgreSQL settings, e.g. { log_statement = \"all\" }");
        add_settings(*table, "");
    }

    /// A table inside settings is an extension's: { auto_explain.log_min_duration = 0 }
    /// (TOML's dotted key) is the setting "auto_explain.log_min_duration".
    void add_settings(const toml::table& table, const std::string& prefix) {
        for (const auto& [key, value] : table) {
            const std::string name = prefix + std::string(key.str());
            if (const auto* inner = value.as_table()) {
                add_settings(*inner, name + ".");
                continue;
            }
            std::optional<std::string> problem = setting_name_problem(name);
            if (!problem)
                problem = owned_setting_problem(name);
            if (!problem && created_)
                problem = created_setting_problem(name);
            if (problem)
                fail(value, *problem);
            c_.settings.emplace_back(name, setting_value(name, value));
        }
    }

    std::string setting_value(const std::string& name, const toml::node& value) const {
        if (auto b = value.value_exact<bool>())
            return *b ? "on" : "off";
        if (auto i = value.value_exact<int64_t>())
            return std::to_string(*i);
        if (auto d = value.value_exact<double>()) {
            if (!std::isfinite(*d))
                fail(value, fmt::format("setting \"{}\" must be a finite number", name));
            return fmt::format("{}", *d);
        }
        if (auto s = value.value_exact<std::string>()) {
            if (std::any_of(s->begin(), s->end(), [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; }))
                fail(value, fmt::format("setting \"{}\" must not contain control characters", name));
            return *s;
        }
        fail(value, fmt::format("setting \"{}\" must be a string, an integer, a float or a boolean", name));
    }

    void initial_script() {
        const toml::node* node = t_["initial_script"].node();
        if (!node)
            return;
        if (created_)
            fail(*node,
                 "\"initial_script\" names a file the daemon would read as root; an instance created over "
                 "D-Bus may not have one");
        auto value = node->value_exact<std::string>();
        if (!value)
            fail(*node, "\"initial_script\" must be a string: the absolute path of an SQL file");
        const std::filesystem::path p(*value);
        bool ok = p.is_absolute() && value->find('\0') == std::string::npos && value->size() <= 4096;
        for (const auto& part : p)
            ok = ok && part != ".." && part != ".";
        if (!ok)
            fail(*node, fmt::format("\"initial_script\" must be an absolute path without \"..\", not {}",
                                    quote_untrusted(*value)));
        c_.initial_script = p.lexically_normal();
    }

    /// The SQL itself, which the client reads from a file as the user (no path for the daemon).
    void initial_sql() {
        const toml::node* node = t_["initial_sql"].node();
        if (!node)
            return;
        auto value = node->value_exact<std::string>();
        if (!value || value->empty() || value->find('\0') != std::string::npos)
            fail(*node, "\"initial_sql\" must be a non-empty string of SQL (without NUL characters)");
        if (!c_.initial_script.empty())
            fail(*node, "set either \"initial_script\" or \"initial_sql\", not both");
        c_.initial_sql = *value;
    }

    /// databases / extensions: an array of distinct plain names.
    std::vector<std::string> names(std::string_view key, std::string_view what) const {
        const toml::node* node = t_[key].node();
        if (!node)
            return {};
        const auto* array = node->as_array();
        if (!array)
            fail(*node, fmt::format("\"{}\" must be an array of {} names, e.g. [\"a\", \"b\"]", key, what));
        std::vector<std::string> out;
        for (const auto& element : *array) {
            auto v = element.value_exact<std::string>();
            if (!v || !plain_name(*v))
                fail(element, fmt::format("each of \"{}\" must be a {} name of 1 to 63 letters, digits, '_' or '-', "
                                          "not starting with a digit or '-'; got {}",
                                          key, what, v ? quote_untrusted(*v) : std::string("a non-string")));
            if (std::find(out.begin(), out.end(), *v) != out.end())
                fail(element, fmt::format("\"{}\" names {} twice", key, quote_untrusted(*v)));
            out.push_back(*v);
        }
        return out;
    }

    const toml::table& t_;
    InstanceConfig& c_;
    bool created_;
    const std::string& source_;
};

}  // namespace

std::optional<std::string> setting_name_problem(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 127;
    bool part_start = true;
    for (char ch : name) {
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '.') {
            ok = ok && !part_start;
            part_start = true;
            continue;
        }
        ok = ok && (std::isalpha(u) || ch == '_' || (!part_start && std::isdigit(u)));
        part_start = false;
    }
    if (ok && !part_start)
        return std::nullopt;
    return fmt::format(
        "{} is not a PostgreSQL setting name (letters, digits and '_', e.g. log_statement, or an "
        "extension's, e.g. pg_stat_statements.track)",
        quote_untrusted(name));
}

std::optional<std::string> owned_setting_problem(std::string_view name) {
    const std::string key = lower(name);
    if (auto why = find_reason(kOwned, key))
        return fmt::format("setting \"{}\" is set by pgnspawn: {}", key, *why);
    return std::nullopt;
}

std::optional<std::string> created_setting_problem(std::string_view name) {
    const std::string key = lower(name);
    auto refused = [&](std::string_view why) {
        return fmt::format("setting \"{}\" is not allowed for an instance created over D-Bus: {}", key, why);
    };
    if (auto why = find_reason(kCreatedRefused, key))
        return refused(*why);
    if (key.find('.') != std::string::npos)
        return refused(
            "it is an extension's setting, read by a library only shared_preload_libraries (not allowed "
            "either) or a superuser loads");
    if (key != "search_path")
        for (auto suffix : kPathSuffixes)
            if (ends_with(key, suffix))
                return refused("its name says it runs a program, loads code or names a path");
    return std::nullopt;
}

InstanceConfig& parse_server_keys(const toml::table& t, InstanceConfig& c, bool created, const std::string& source) {
    ServerKeys(t, c, created, source).parse();
    return c;
}

}  // namespace pgnspawn
