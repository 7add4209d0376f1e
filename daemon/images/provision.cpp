#include "images/provision.hpp"

#include "core/names.hpp"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

namespace pgnspawn {

namespace {

PqString literal(PGconn* conn, const std::string& s) { return PqString(PQescapeLiteral(conn, s.c_str(), s.size())); }

PqString identifier(PGconn* conn, const std::string& s) {
    return PqString(PQescapeIdentifier(conn, s.c_str(), s.size()));
}

/// libpq's escaping, or the error that it failed.
PqString escaped(PGconn* conn, const std::string& s, char* (*escape)(PGconn*, const char*, size_t)) {
    PqString out(escape(conn, s.c_str(), s.size()));
    if (!out)
        throw std::runtime_error(
            fmt::format("cannot quote {}: {}", quote_untrusted(s), tidy_pg_message(PQerrorMessage(conn))));
    return out;
}

}  // namespace

std::string quote_identifier(PGconn* conn, const std::string& s) { return escaped(conn, s, PQescapeIdentifier).get(); }

std::string quote_literal(PGconn* conn, const std::string& s) { return escaped(conn, s, PQescapeLiteral).get(); }

std::string ensure_role_sql(PGconn* conn, const InstanceConfig& c) {
    PqString verifier(PQencryptPasswordConn(conn, c.password.c_str(), c.user.c_str(), "scram-sha-256"));
    PqString verifier_lit = verifier ? literal(conn, verifier.get()) : nullptr;
    PqString user_lit = literal(conn, c.user);
    PqString user_id = identifier(conn, c.user);
    PqString db_lit = literal(conn, c.database);
    if (!verifier_lit || !user_lit || !user_id || !db_lit)
        throw std::runtime_error(fmt::format("cannot prepare provisioning: {}", tidy_pg_message(PQerrorMessage(conn))));
    return fmt::format(
        "DO $pgnspawn$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {0}) THEN "
        "CREATE ROLE {1} LOGIN; END IF; END $pgnspawn$; "
        "ALTER ROLE {1} WITH LOGIN {4} {5} PASSWORD {2}; "
        "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = {3}",
        user_lit.get(), user_id.get(), verifier_lit.get(), db_lit.get(), c.createdb ? "CREATEDB" : "NOCREATEDB",
        c.superuser ? "SUPERUSER" : "NOSUPERUSER");
}

std::string role_attributes_difference(const PgRows& rows, const InstanceConfig& c) {
    if (rows.size() != 1 || rows[0].size() != 2)
        return "its attributes could not be read";
    std::string difference;
    auto compare = [&](const std::string& actual, bool wanted, const char* attribute) {
        if ((actual == "t") != wanted)
            difference +=
                fmt::format("{}the role {} {}", difference.empty() ? "" : ", ", wanted ? "lacks" : "has", attribute);
    };
    compare(rows[0][0], c.createdb, "CREATEDB");
    compare(rows[0][1], c.superuser, "SUPERUSER");
    return difference;
}

std::string create_database_sql(PGconn* conn, const InstanceConfig& c) {
    PqString db_id = identifier(conn, c.database);
    PqString user_id = identifier(conn, c.user);
    if (!db_id || !user_id)
        throw std::runtime_error("cannot prepare CREATE DATABASE");
    return fmt::format("CREATE DATABASE {} OWNER {}", db_id.get(), user_id.get());
}

void Provisioning::finish(const std::string& error) {
    auto done = std::move(done_);  // the owner may destroy this object from done
    done(error);
}

Provisioning::Provisioning(EventLoop& loop, std::chrono::milliseconds query_timeout) : pg_(loop, query_timeout) {}

void Provisioning::run(const InstanceConfig& c, const std::filesystem::path& socket_dir, Done done) {
    c_ = c;
    done_ = std::move(done);
    pg_.connect({{"host", socket_dir.string()},
                 {"port", std::to_string(c_.port)},
                 {"user", "postgres"},
                 {"dbname", "postgres"},
                 {"application_name", "pgnspawnd"}},
                [this](const std::string& error) {
                    if (!error.empty())
                        return finish(fmt::format("cannot connect as the superuser to provision: {}", error));
                    ensure_role();
                });
}

void Provisioning::ensure_role() {
    run(ensure_role_sql, fmt::format("cannot provision role \"{}\"", c_.user), [this](const PgRows& rows) {
        if (!rows.empty() && !rows[0].empty() && rows[0][0] == "0")
            create_database();
        else
            finish("");
    });
}

void Provisioning::create_database() {
    run(create_database_sql, fmt::format("cannot create database \"{}\"", c_.database),
        [this](const PgRows&) { finish(""); });
}

void Provisioning::run(std::string (*build)(PGconn*, const InstanceConfig&), std::string failure,
                       std::function<void(const PgRows&)> then) {
    std::string sql;
    try {
        sql = build(pg_.raw(), c_);
    } catch (const std::exception& e) {
        return finish(e.what());
    }
    pg_.query(sql, [this, failure = std::move(failure), then = std::move(then)](const std::string& error, PgRows rows) {
        if (!error.empty())
            return finish(fmt::format("{}: {}", failure, error));
        then(rows);
    });
}

}  // namespace pgnspawn
