#include "images/declare.hpp"

#include "core/names.hpp"
#include "images/files.hpp"
#include "images/provision.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace pgnspawn {

namespace {

/// An initial script larger than this is refused (it is sent to the server as one query).
constexpr std::size_t kMaxInitialScriptBytes = 64u << 20;

std::string read_initial_script(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in)
        throw std::runtime_error(fmt::format("cannot read initial_script {}: {}", p.string(), std::strerror(errno)));
    std::string text(kMaxInitialScriptBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad())
        throw std::runtime_error(fmt::format("cannot read initial_script {}: {}", p.string(), std::strerror(errno)));
    if (text.size() > kMaxInitialScriptBytes)
        throw std::runtime_error(fmt::format("initial_script {} is larger than 64 MiB", p.string()));
    if (text.find('\0') != std::string::npos)
        throw std::runtime_error(fmt::format("initial_script {} is not a text file (it holds a NUL byte)", p.string()));
    return text;
}

/// A missing extension, as PostgreSQL 15 ("could not open extension control file") and
/// later ("extension ... is not available") report it.
bool extension_missing(const std::string& error) {
    return error.find("extension control file") != std::string::npos ||
           error.find("is not available") != std::string::npos;
}

}  // namespace

bool has_declarations(const InstanceConfig& c) {
    return !c.databases.empty() || !c.extensions.empty() || !c.initial_script.empty() || !c.initial_sql.empty();
}

std::filesystem::path initial_script_marker(const std::filesystem::path& data) {
    return data / "pgnspawn-initial-script.done";
}

std::string existing_databases_sql(PGconn* conn, const InstanceConfig& c) {
    std::string names;
    for (const auto& db : c.databases)
        names += (names.empty() ? "" : ", ") + quote_literal(conn, db);
    return fmt::format(
        "SELECT d.datname, r.rolname FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON "
        "r.oid = d.datdba WHERE d.datname IN ({})",
        names);
}

std::vector<std::string> database_statements(PGconn* conn, const InstanceConfig& c, const PgRows& existing) {
    std::vector<std::string> out;
    for (const auto& db : c.databases) {
        const std::vector<std::string>* row = nullptr;
        for (const auto& r : existing)
            if (r.size() == 2 && r[0] == db)
                row = &r;
        if (!row)
            out.push_back(
                fmt::format("CREATE DATABASE {} OWNER {}", quote_identifier(conn, db), quote_identifier(conn, c.user)));
        else if ((*row)[1] != c.user)
            out.push_back(fmt::format("ALTER DATABASE {} OWNER TO {}", quote_identifier(conn, db),
                                      quote_identifier(conn, c.user)));
    }
    return out;
}

std::string extension_package_hint(std::string_view extension, std::string_view version) {
    if (extension == "vector")
        return fmt::format(
            "pgvector is not packaged in Debian bookworm: install postgresql-{}-pgvector from "
            "PostgreSQL's own apt repository (apt.postgresql.org), or on NixOS use "
            "postgresql.withPackages (p: [ p.pgvector ])",
            version);
    struct Package {
        std::string_view extension, package;
    };
    // Debian bookworm's packages; {} is the major version.
    static constexpr Package kPackages[] = {
        {"postgis", "postgresql-{}-postgis-3"},
        {"postgis_raster", "postgresql-{}-postgis-3"},
        {"postgis_topology", "postgresql-{}-postgis-3"},
        {"postgis_sfcgal", "postgresql-{}-postgis-3"},
        {"postgis_tiger_geocoder", "postgresql-{}-postgis-3"},
        {"address_standardizer", "postgresql-{}-postgis-3"},
        {"address_standardizer_data_us", "postgresql-{}-postgis-3"},
        {"pgrouting", "postgresql-{}-pgrouting"},
        {"pg_cron", "postgresql-{}-cron"},
        {"pg_partman", "postgresql-{}-partman"},
        {"hypopg", "postgresql-{}-hypopg"},
        {"pgaudit", "postgresql-{}-pgaudit"},
        {"pg_repack", "postgresql-{}-repack"},
        {"pgtap", "postgresql-{}-pgtap"},
        {"plpgsql_check", "postgresql-{}-plpgsql-check"},
        {"orafce", "postgresql-{}-orafce"},
        {"ip4r", "postgresql-{}-ip4r"},
        {"rum", "postgresql-{}-rum"},
        {"semver", "postgresql-{}-semver"},
        {"plpython3u", "postgresql-plpython3-{}"},
        {"plperl", "postgresql-plperl-{}"},
        {"plperlu", "postgresql-plperl-{}"},
        {"pltcl", "postgresql-pltcl-{}"},
        {"pltclu", "postgresql-pltcl-{}"},
    };
    for (const auto& p : kPackages)
        if (p.extension == extension)
            return fmt::format("install {}", fmt::format(fmt::runtime(p.package), version));
    return {};
}

Declaration::Declaration(EventLoop& loop, std::chrono::milliseconds timeout) : loop_(loop), timeout_(timeout) {}

void Declaration::run(const InstanceConfig& c, const std::filesystem::path& socket_dir,
                      const std::filesystem::path& data, Done done) {
    c_ = c;
    socket_dir_ = socket_dir;
    data_ = data;
    done_ = std::move(done);
    if (!has_declarations(c_))
        return finish("");
    if (c_.databases.empty())
        return connect(c_.database, [this] { plan({}); });
    connect("postgres", [this] {
        std::string sql;
        try {
            sql = existing_databases_sql(pg_->raw(), c_);
        } catch (const std::exception& e) {
            return finish(e.what());
        }
        pg_->query(sql, [this](const std::string& error, PgRows rows) {
            if (!error.empty())
                return finish(fmt::format("cannot list the databases of \"databases\": {}", error));
            plan(rows);
        });
    });
}

void Declaration::plan(const PgRows& existing) {
    try {
        for (auto& sql : database_statements(pg_->raw(), c_, existing))
            todo_.push_back({"postgres", std::move(sql), "cannot provision \"databases\"", "", false});
        std::vector<std::string> databases{c_.database};
        databases.insert(databases.end(), c_.databases.begin(), c_.databases.end());
        for (const auto& db : databases)
            for (const auto& ext : c_.extensions)
                todo_.push_back(
                    {db, fmt::format("CREATE EXTENSION IF NOT EXISTS {} CASCADE", quote_identifier(pg_->raw(), ext)),
                     fmt::format("cannot create extension \"{}\" in database \"{}\"", ext, db), ext, false});
    } catch (const std::exception& e) {
        return finish(e.what());
    }
    if ((!c_.initial_script.empty() || !c_.initial_sql.empty()) &&
        !std::filesystem::exists(initial_script_marker(data_)))
        todo_.push_back({c_.database, c_.initial_sql, fmt::format("{} failed", initial_name()), "", true});
    next();
}

void Declaration::next() {
    if (todo_.empty())
        return finish("");
    Statement s = std::move(todo_.front());
    todo_.pop_front();
    if (s.database == connected_to_)
        return execute(std::move(s));
    auto database = s.database;
    connect(database, [this, s = std::move(s)]() mutable { execute(std::move(s)); });
}

void Declaration::execute(Statement s) {
    if (s.script && s.sql.empty()) {
        try {
            s.sql = read_initial_script(c_.initial_script);
        } catch (const std::exception& e) {
            return finish(e.what());
        }
    }
    pg_->query(s.sql, [this, s](const std::string& error, PgRows) {
        if (!error.empty()) {
            std::string message = fmt::format("{}: {}", s.failure, error);
            if (!s.extension.empty() && extension_missing(error))
                if (auto hint = extension_package_hint(s.extension, c_.postgresql_version); !hint.empty())
                    message += fmt::format(" ({})", hint);
            return finish(message);
        }
        if (s.script) {
            try {
                write_file_durably(initial_script_marker(data_),
                                   fmt::format("{} ran on this cluster\n", initial_name()), 0, 0, 0600);
            } catch (const std::exception& e) {
                return finish(fmt::format("{} ran, but {}", initial_name(), e.what()));
            }
            log_info(fmt::format("Ran the {} of instance {}.", initial_name(), c_.name), c_.name);
        }
        next();
    });
}

void Declaration::connect(const std::string& database, std::function<void()> then) {
    pg_ = std::make_unique<PgConnection>(loop_, timeout_);
    connected_to_ = database;
    pg_->connect(
        {{"host", socket_dir_.string()},
         {"port", std::to_string(c_.port)},
         {"user", "postgres"},
         {"dbname", database},
         {"application_name", "pgnspawnd"}},
        [this, database, then = std::move(then)](const std::string& error) {
            if (!error.empty())
                return finish(fmt::format("cannot connect to database \"{}\" as the superuser: {}", database, error));
            then();
        });
}

std::string Declaration::initial_name() const {
    return c_.initial_sql.empty() ? fmt::format("initial_script {}", c_.initial_script.string()) : "initial_sql";
}

void Declaration::finish(const std::string& error) {
    if (auto done = std::move(done_))
        done(error);
}

}  // namespace pgnspawn
