// What a host instance's declarative keys ask of its running cluster, checked on every
// start (a warm one included, so a changed list takes effect at the next start), as the
// superuser over the unix socket: each of `databases` exists and belongs to the user
// (NixOS's ensureDatabases), each of `extensions` exists in the instance's database and
// in each of `databases`, and `initial_script` (or `initial_sql`) has run once on this cluster (a marker
// in the data directory, written only after it succeeded, so a failed script runs again
// at the next start). Settings are not applied here but on the server's command line.
#pragma once

#include "core/config.hpp"
#include "platform/pg.hpp"

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace pgnspawn {

/// Whether the instance declares databases, extensions or an initial script.
bool has_declarations(const InstanceConfig& c);

/// The marker of a cluster on which initial_script has run.
std::filesystem::path initial_script_marker(const std::filesystem::path& data);

/// The configured `databases` that exist, with their owners: rows (datname, owner name).
std::string existing_databases_sql(PGconn* conn, const InstanceConfig& c);
/// For each configured database: CREATE DATABASE when `existing` (rows of
/// existing_databases_sql) lacks it, ALTER DATABASE ... OWNER TO when another role owns it.
std::vector<std::string> database_statements(PGconn* conn, const InstanceConfig& c, const PgRows& existing);

/// The package that provides a missing extension, as a sentence to append to the error,
/// e.g. "install postgresql-15-postgis-3"; empty when not known.
std::string extension_package_hint(std::string_view extension, std::string_view version);

class Declaration {
public:
    using Done = std::function<void(const std::string& error)>;

    /// `timeout` bounds each step; an initial script or CREATE EXTENSION postgis may take
    /// seconds, so the start's own bound is meant.
    Declaration(EventLoop& loop, std::chrono::milliseconds timeout);
    /// done("") at once when nothing is declared. done(error) runs once, on the loop, and
    /// may destroy this object.
    void run(const InstanceConfig& c, const std::filesystem::path& socket_dir, const std::filesystem::path& data,
             Done done);

private:
    struct Statement {
        std::string database;  ///< connected to as postgres
        std::string sql;
        std::string failure;  ///< what the error is prefixed with
        std::string extension;
        bool script = false;  ///< the initial script (`sql` empty: read from initial_script then)
    };

    void plan(const PgRows& existing);
    void next();
    void execute(Statement s);
    void connect(const std::string& database, std::function<void()> then);
    void finish(const std::string& error);
    /// "initial_script PATH" or "initial_sql", for messages.
    std::string initial_name() const;

    EventLoop& loop_;
    std::chrono::milliseconds timeout_;
    InstanceConfig c_;
    std::filesystem::path socket_dir_;
    std::filesystem::path data_;
    std::unique_ptr<PgConnection> pg_;
    std::string connected_to_;
    std::deque<Statement> todo_;
    Done done_;
};

}  // namespace pgnspawn
