#include "core/config.hpp"

#include "core/config_limits.hpp"
#include "core/config_server.hpp"
#include "core/created.hpp"
#include "core/names.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

namespace pgnspawn {

namespace {

constexpr std::array kInstanceKeys = {
    "image",     "port",      "listen_address", "database",  "user",       "password",   "password_file", "version",
    "autostart", "directory", "toplevel",       "network",   "host_port",  "createdb",   "superuser",     "durability",
    "ephemeral", "settings",  "initial_script", "databases", "extensions", "initial_sql"};

class Parser {
public:
    Parser(const std::string& source, const ConfigEnvironment& env, InstanceOrigin origin)
        : source_(source), env_(env), origin_(origin) {}

    [[noreturn]] void fail(const toml::source_region& where, const std::string& what) const {
        throw ConfigError(fmt::format("{}:{}:{}: {}", source_, where.begin.line, where.begin.column, what));
    }

    Config parse(const toml::table& root) {
        Config config;
        config.source = source_;
        for (const auto& [key, node] : root) {
            if (key.str() == "created" && origin_ == InstanceOrigin::File) {
                config.created = parse_created_limits(node, source_);
                continue;
            }
            if (key.str() != "instances")
                fail(key.source(), fmt::format("unknown key {} (only [instances.NAME] and [created] tables are "
                                               "allowed at the top level)",
                                               quote_untrusted(key.str())));
            const auto* instances = node.as_table();
            if (!instances)
                fail(node.source(), "\"instances\" must be a table of [instances.NAME] tables");
            // toml++ keeps keys sorted; errors and the instance list follow the file instead.
            std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order;
            for (const auto& [name, inode] : *instances)
                in_file_order.emplace_back(&name, &inode);
            std::sort(in_file_order.begin(), in_file_order.end(), [](const auto& a, const auto& b) {
                const auto& pa = a.first->source().begin;
                const auto& pb = b.first->source().begin;
                return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
            });
            for (const auto& [name, inode] : in_file_order)
                config.instances.push_back(parse_instance(*name, *inode));
            check_ports_unique(config, *instances);
        }
        return config;
    }

private:
    InstanceConfig parse_instance(const toml::key& name, const toml::node& node) {
        if (auto problem = instance_name_problem(name.str()))
            fail(name.source(), *problem);
        const auto* table = node.as_table();
        if (!table)
            fail(node.source(), fmt::format("instance \"{}\" must be a table", name.str()));

        for (const auto& [key, value] : *table) {
            if (std::find(kInstanceKeys.begin(), kInstanceKeys.end(), key.str()) == kInstanceKeys.end())
                fail(key.source(), fmt::format("unknown key {} in instance \"{}\" (known keys: {})",
                                               quote_untrusted(key.str()), name.str(), fmt::join(kInstanceKeys, ", ")));
        }

        InstanceConfig c;
        c.origin = origin_;
        c.name = std::string(name.str());
        c.state_directory = env_.state_root / c.name;

        c.image = image_kind(*table);
        c.network = c.image == ImageKind::Host ? NetworkMode::Host : NetworkMode::Private;
        if (auto network = optional_string(*table, "network")) {
            if (*network == "host")
                c.network = NetworkMode::Host;
            else if (*network == "private")
                c.network = NetworkMode::Private;
            else
                fail(node_of(*table, "network").source(),
                     fmt::format("\"network\" must be \"private\" or \"host\", not {}", quote_untrusted(*network)));
            if (c.image == ImageKind::Host && c.network == NetworkMode::Private)
                fail(node_of(*table, "network").source(),
                     "network = \"private\" needs a booted image (image = \"directory\" or \"nixos\"); the host "
                     "image shares the host's network");
        }
        image_location(*table, node, c);
        const toml::node* port = (*table)["port"].node();
        if (!port)
            fail(node.source(), fmt::format("instance \"{}\" has no \"port\"", c.name));
        auto port_value = port->value<int64_t>();
        if (!port->is_integer() || !port_value || *port_value < 1 || *port_value > 65535)
            fail(port->source(), "\"port\" must be an integer between 1 and 65535");
        c.port = static_cast<std::uint16_t>(*port_value);

        if (const toml::node* hp = (*table)["host_port"].node()) {
            auto v = hp->value<int64_t>();
            if (!hp->is_integer() || !v || *v < 1 || *v > 65535)
                fail(hp->source(), "\"host_port\" must be an integer between 1 and 65535");
            if (c.network != NetworkMode::Private)
                fail(hp->source(),
                     "\"host_port\" forwards a host port into a private network; it needs "
                     "network = \"private\"");
            c.host_port = static_cast<std::uint16_t>(*v);
        }

        if (auto addr = optional_string(*table, "listen_address")) {
            if (c.network == NetworkMode::Private)
                fail(node_of(*table, "listen_address").source(),
                     "\"listen_address\" does not apply with network = \"private\": the address is the "
                     "container's own, as machined reports it");
            std::array<unsigned char, 16> buf{};
            if (inet_pton(AF_INET, addr->c_str(), buf.data()) != 1 &&
                inet_pton(AF_INET6, addr->c_str(), buf.data()) != 1)
                fail((*table)["listen_address"].node()->source(),
                     fmt::format("\"listen_address\" must be an IPv4 or IPv6 address, not {}", quote_untrusted(*addr)));
            c.listen_address = *addr;
        }

        c.database = sql_name(*table, "database", c.name);
        c.user = sql_name(*table, "user", c.name);
        c.password = password(*table, node, c.name);
        if (c.image == ImageKind::Host)
            resolve_version(*table, c);
        else if (const toml::node* v = (*table)["version"].node())
            fail(v->source(), fmt::format("\"version\" applies to image \"host\" only; a {} image brings its own "
                                          "PostgreSQL",
                                          to_string(c.image)));
        c.autostart = optional_bool(*table, "autostart", c.autostart);
        c.createdb = optional_bool(*table, "createdb", c.createdb);
        c.superuser = optional_bool(*table, "superuser", c.superuser);
        data_safety(*table, c);
        return parse_server_keys(*table, c, source_);
    }

    bool optional_bool(const toml::table& t, std::string_view key, bool fallback) const {
        const toml::node* n = t[key].node();
        if (!n)
            return fallback;
        if (!n->is_boolean())
            fail(n->source(), fmt::format("\"{}\" must be true or false", key));
        return *n->value<bool>();
    }

    /// durability and ephemeral: PostgreSQL's settings and its data directory, so the host
    /// image only (a booted image runs its own PostgreSQL).
    void data_safety(const toml::table& t, InstanceConfig& c) const {
        c.ephemeral = optional_bool(t, "ephemeral", c.ephemeral);
        if (!env_.runtime_root.empty())
            c.runtime_directory = env_.runtime_root / c.name;
        if (c.ephemeral && c.runtime_directory.empty())
            fail(node_of(t, "ephemeral").source(), "\"ephemeral\" needs a runtime directory; this build has none");
        const auto durability = optional_string(t, "durability").value_or("durable");
        if (durability != "durable" && durability != "fast")
            fail(node_of(t, "durability").source(),
                 fmt::format("\"durability\" must be \"durable\" or \"fast\", not {}", quote_untrusted(durability)));
        c.durability = durability == "fast" ? Durability::Fast : Durability::Durable;
        for (const char* key : {"durability", "ephemeral"})
            if (c.image != ImageKind::Host && t[key].node())
                fail(node_of(t, key).source(),
                     fmt::format("\"{}\" applies to image \"host\" only; a {} image runs its own PostgreSQL", key,
                                 to_string(c.image)));
    }

    static const toml::node& node_of(const toml::table& t, std::string_view key) { return *t[key].node(); }

    ImageKind image_kind(const toml::table& t) const {
        auto image = optional_string(t, "image");
        if (!image || *image == "host")
            return ImageKind::Host;
        if (*image == "directory")
            return ImageKind::Directory;
        if (*image == "nixos")
            return ImageKind::Nixos;
        fail(node_of(t, "image").source(), fmt::format("unsupported image {} (supported: \"host\", \"directory\", "
                                                       "\"nixos\")",
                                                       quote_untrusted(*image)));
    }

    /// directory = for image "directory", toplevel = for image "nixos", neither for "host".
    /// Only the form is checked here; whether the tree exists is checked at Start.
    void image_location(const toml::table& t, const toml::node& instance, InstanceConfig& c) const {
        auto directory = optional_string(t, "directory");
        auto toplevel = optional_string(t, "toplevel");
        if (directory && c.image != ImageKind::Directory)
            fail(node_of(t, "directory").source(), "\"directory\" applies to image = \"directory\" only");
        if (toplevel && c.image != ImageKind::Nixos)
            fail(node_of(t, "toplevel").source(), "\"toplevel\" applies to image = \"nixos\" only");
        if (c.image == ImageKind::Directory) {
            if (!directory)
                fail(instance.source(),
                     fmt::format("instance \"{}\" has image = \"directory\" but no \"directory\"", c.name));
            c.directory = checked_path(node_of(t, "directory"), *directory, "directory", "/");
        }
        if (c.image == ImageKind::Nixos) {
            if (!toplevel)
                fail(instance.source(),
                     fmt::format("instance \"{}\" has image = \"nixos\" but no \"toplevel\"", c.name));
            c.toplevel = checked_path(node_of(t, "toplevel"), *toplevel, "toplevel", env_.nix_store_dir + "/");
        }
    }

    /// An absolute, normalised path under `under`, without "..", so it is safe to hand to nspawn.
    std::filesystem::path checked_path(const toml::node& where, const std::string& value, std::string_view key,
                                       std::string_view under) const {
        const std::filesystem::path p(value);
        bool ok = p.is_absolute() && value.rfind(under, 0) == 0 && value != "/" &&
                  value.find_first_of(std::string_view(":,\n\0", 4)) == std::string::npos;
        for (const auto& part : p)
            ok = ok && part != ".." && part != ".";
        if (!ok)
            fail(where.source(), fmt::format("\"{}\" must be an absolute path under {} without \"..\", \":\" or "
                                             "\",\"; got {}",
                                             key, under, quote_untrusted(value)));
        return p.lexically_normal();
    }

    std::optional<std::string> optional_string(const toml::table& t, std::string_view key) const {
        const toml::node* n = t[key].node();
        if (!n)
            return std::nullopt;
        if (!n->is_string())
            fail(n->source(), fmt::format("\"{}\" must be a string", key));
        return n->value<std::string>();
    }

    /// Role and database names: plain identifiers, so they are safe in every context.
    std::string sql_name(const toml::table& t, std::string_view key, const std::string& fallback) const {
        auto v = optional_string(t, key);
        if (!v)
            return fallback;
        auto ok_char = [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                   ch == '-';
        };
        bool ok = !v->empty() && v->size() <= 63 && std::all_of(v->begin(), v->end(), ok_char) &&
                  !((*v)[0] >= '0' && (*v)[0] <= '9') && (*v)[0] != '-';
        if (!ok)
            fail(t[key].node()->source(),
                 fmt::format(
                     "\"{}\" must be 1 to 63 letters, digits, '_' or '-', not starting with a digit or '-'; got {}",
                     key, quote_untrusted(*v)));
        return *v;
    }

    std::string password(const toml::table& t, const toml::node& instance, const std::string& name) const {
        auto inline_pw = optional_string(t, "password");
        auto file = optional_string(t, "password_file");
        if (inline_pw && file)
            fail(t["password_file"].node()->source(), "set either \"password\" or \"password_file\", not both");
        if (!inline_pw && !file)
            fail(instance.source(), fmt::format("instance \"{}\" has no \"password\" or \"password_file\"", name));
        if (inline_pw) {
            if (inline_pw->empty())
                fail(t["password"].node()->source(), "\"password\" must not be empty");
            return *inline_pw;
        }
        const auto& where = t["password_file"].node()->source();
        std::filesystem::path path(*file);
        if (!path.is_absolute())
            fail(where, fmt::format("\"password_file\" must be an absolute path, not {}", quote_untrusted(*file)));
        std::error_code ec;
        if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
            fail(where, fmt::format("password_file {} is not a regular file", quote_untrusted(*file)));
        std::ifstream in(path, std::ios::binary);
        if (!in)
            fail(where, fmt::format("cannot read password_file {}: {}", quote_untrusted(*file), std::strerror(errno)));
        // The password, a line end, and one byte more to tell a file that is too large.
        std::string pw(kMaxPasswordFileBytes + 3, '\0');
        in.read(pw.data(), static_cast<std::streamsize>(pw.size()));
        pw.resize(static_cast<std::size_t>(in.gcount()));
        const bool whole = pw.size() <= kMaxPasswordFileBytes + 2;
        while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r'))
            pw.pop_back();
        if (!whole || pw.size() > kMaxPasswordFileBytes)
            fail(where, fmt::format("password_file {} is larger than 4 KiB", quote_untrusted(*file)));
        if (pw.empty())
            fail(where, fmt::format("password_file {} is empty", quote_untrusted(*file)));
        if (pw.find('\n') != std::string::npos || pw.find('\0') != std::string::npos)
            fail(where,
                 fmt::format("password_file {} must hold the password on a single line", quote_untrusted(*file)));
        return pw;
    }

    void resolve_version(const toml::table& t, InstanceConfig& c) const {
        const toml::node* n = t["version"].node();
        std::string version;
        if (n) {
            if (n->is_integer())
                version = std::to_string(*n->value<int64_t>());
            else if (n->is_string())
                version = *n->value<std::string>();
            else
                fail(n->source(), "\"version\" must be a PostgreSQL major version such as 15 or \"15\"");
            bool digits = !version.empty() && version.size() <= 4 &&
                          std::all_of(version.begin(), version.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
            if (!digits)
                fail(n->source(), fmt::format("\"version\" must be a PostgreSQL major version such as 15, not {}",
                                              quote_untrusted(version)));
            if (!std::filesystem::exists(env_.postgresql_libdir / version / "bin/postgres"))
                fail(n->source(), fmt::format("PostgreSQL {} is not installed ({} does not exist)", version,
                                              (env_.postgresql_libdir / version / "bin/postgres").string()));
        } else {
            version = newest_postgresql_version(env_.postgresql_libdir);
            if (version.empty())
                fail(t.source(), fmt::format("no PostgreSQL server is installed under {} (install postgresql)",
                                             env_.postgresql_libdir.string()));
        }
        c.postgresql_version = version;
        c.postgresql_bindir = env_.postgresql_libdir / version / "bin";
    }

    void check_ports_unique(const Config& config, const toml::table& instances) const {
        for (std::size_t i = 0; i < config.instances.size(); ++i)
            for (std::size_t j = 0; j < i; ++j) {
                const auto& a = config.instances[i];
                const auto& b = config.instances[j];
                if (auto shared = shared_host_port(a, b); !shared.empty()) {
                    const char* key = a.host_port && a.host_port == b.host_port ? "host_port" : "port";
                    fail((*instances[a.name].as_table())[key].node()->source(),
                         fmt::format("instance \"{}\" uses {}, which instance \"{}\" already uses", a.name, shared,
                                     b.name));
                }
            }
    }

    std::string source_;
    const ConfigEnvironment& env_;
    InstanceOrigin origin_;
};

}  // namespace

Config parse_config(std::string_view text, const std::string& source_name, const ConfigEnvironment& env) {
    check_config_limits(text, source_name);
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source();
        throw ConfigError(
            fmt::format("{}:{}:{}: {}", source_name, where.begin.line, where.begin.column, e.description()));
    }
    return parse_config_table(root, source_name, env, InstanceOrigin::File);
}

Config parse_config_table(const toml::table& root, const std::string& source_name, const ConfigEnvironment& env,
                          InstanceOrigin origin) {
    return Parser(source_name, env, origin).parse(root);
}

Config load_config(const std::filesystem::path& file, const ConfigEnvironment& env) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ConfigError(fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno)));
    // One byte over the limit is enough to refuse the file, whatever its size.
    std::string text(kMaxConfigBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad())
        throw ConfigError(fmt::format("{}: cannot read: {}", file.string(), std::strerror(errno)));
    if (text.size() > kMaxConfigBytes)
        throw ConfigError(fmt::format("{}: more than the 1 MiB a configuration file may have", file.string()));
    return parse_config(text, file.string(), env);
}

}  // namespace pgnspawn
