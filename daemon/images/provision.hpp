// Provisioning of the host image's cluster, what NixOS's ensureUsers/ensureDatabases do:
// the configured role with its password and the database owned by it, idempotently, as
// the superuser over the unix socket. The SQL is built by pure functions (unit-tested);
// every string libpq allocates is owned by an RAII handle.
#pragma once

#include "core/config.hpp"
#include "platform/pg.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace pgnspawn {

struct PqFreemem {
    void operator()(char* p) const noexcept { PQfreemem(p); }
};
/// A string allocated by libpq (an escaped literal or identifier, a password verifier).
using PqString = std::unique_ptr<char, PqFreemem>;

/// `s` as an SQL identifier / string literal, by `conn`'s quoting rules (it need not be
/// connected). Throws std::runtime_error, naming `s` but not quoting it raw, when libpq cannot.
std::string quote_identifier(PGconn* conn, const std::string& s);
std::string quote_literal(PGconn* conn, const std::string& s);

/// The role exists, can log in, has the configured attributes (CREATEDB, SUPERUSER or
/// their NO forms) and the configured password, which travels as a SCRAM
/// verifier (never in clear text); the query's one row counts the databases named as
/// configured. `conn` supplies the quoting rules (its encoding); it need not be connected.
/// Throws std::runtime_error when libpq cannot quote or hash.
std::string ensure_role_sql(PGconn* conn, const InstanceConfig& c);
/// The round trip of a warm start, as the configured user: its role's attributes.
inline constexpr const char* kRoleAttributesSql =
    "SELECT rolcreatedb, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user";
/// Empty when `rows` (of kRoleAttributesSql) show the configured attributes; otherwise
/// what differs, e.g. "the role lacks CREATEDB".
std::string role_attributes_difference(const PgRows& rows, const InstanceConfig& c);
/// CREATE DATABASE owned by the configured role. Throws like ensure_role_sql.
std::string create_database_sql(PGconn* conn, const InstanceConfig& c);

/// One provisioning of a running cluster: connect as postgres over `socket_dir`, make the
/// role, create the database if it is missing. done(error) runs once, on the loop, and may destroy this object.
class Provisioning {
public:
    using Done = std::function<void(const std::string& error)>;

    Provisioning(EventLoop& loop, std::chrono::milliseconds query_timeout);
    void run(const InstanceConfig& c, const std::filesystem::path& socket_dir, Done done);

private:
    void ensure_role();
    void create_database();
    /// Builds a statement with `build` and runs it: then(rows), or finish("FAILURE: why").
    void run(std::string (*build)(PGconn*, const InstanceConfig&), std::string failure,
             std::function<void(const PgRows&)> then);
    void finish(const std::string& error);

    PgConnection pg_;
    InstanceConfig c_;
    Done done_;
};

}  // namespace pgnspawn
