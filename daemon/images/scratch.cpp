#include "images/scratch.hpp"

#include "core/errors.hpp"
#include "images/layout.hpp"
#include "images/provision.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace pgnspawn {

namespace {

/// Measured in the test host (bench/run.sh --testdbs): see README, Speed.
constexpr std::string_view kStrategy = "WAL_LOG";

}  // namespace

std::string snapshot_database(std::string_view snapshot) {
    return std::string(kSnapshotPrefix) + std::string(snapshot);
}

std::string scratch_database_name(std::string_view nonce, uint64_t serial) {
    return fmt::format("{}{}_{}", kScratchPrefix, nonce, serial);
}

bool is_scratch_database_name(std::string_view name) {
    if (name.substr(0, kScratchPrefix.size()) != kScratchPrefix)
        return false;
    const auto rest = name.substr(kScratchPrefix.size());
    if (rest.empty() || rest.size() > 40)
        return false;
    for (char ch : rest)
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    return true;
}

std::string create_scratch_sql(PGconn* conn, const std::string& database, const std::string& owner,
                               const std::string& template_db, std::string_view strategy) {
    if (strategy != "FILE_COPY" && strategy != "WAL_LOG")
        throw std::runtime_error(fmt::format("unknown CREATE DATABASE strategy {}", strategy));
    return fmt::format("CREATE DATABASE {} OWNER {} TEMPLATE {} STRATEGY {}", quote_identifier(conn, database),
                       quote_identifier(conn, owner), quote_identifier(conn, template_db), strategy);
}

std::string drop_database_sql(PGconn* conn, const std::string& database) {
    return fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(conn, database));
}

std::string database_exists_sql(PGconn* conn, const std::string& database) {
    return fmt::format("SELECT count(*) FROM pg_catalog.pg_database WHERE datname = {}", quote_literal(conn, database));
}

std::string list_scratch_sql() {
    // '_' is a LIKE wildcard: escaped, so only the real prefix matches.
    std::string pattern;
    for (char ch : kScratchPrefix) {
        if (ch == '_')
            pattern += '\\';
        pattern += ch;
    }
    return fmt::format("SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE '{}%' ORDER BY datname", pattern);
}

// ---------------------------------------------------------------------------------------

struct ScratchDatabases::Job {
    Job(EventLoop& loop, std::chrono::milliseconds timeout) : pg(loop, timeout) {}
    PgConnection pg;
    std::vector<Statement> statements;
    size_t next = 0;
    std::function<void(const std::string&, const PgRows&)> done;
};

ScratchDatabases::ScratchDatabases(EventLoop& loop, std::string nonce, std::chrono::milliseconds timeout)
    : loop_(loop), nonce_(std::move(nonce)), timeout_(timeout) {}

ScratchDatabases::~ScratchDatabases() = default;

void ScratchDatabases::create(const InstanceConfig& c, const std::string& owner, const std::string& from_snapshot,
                              Created done) {
    running_[c.name] = c;
    const PoolKey key{c.name, from_snapshot};
    Pool& pool = pools_[key];  // asked for once: kept filled from now on
    if (pool.generation == 0)
        pool.generation = ++pool_generation_;
    if (!pool.ready.empty()) {
        const std::string database = pool.ready.front();
        pool.ready.pop_front();
        Record& record = records_.at(database);
        record.owner = owner;
        hold_owner(owner);
        record.ready = true;
        refill(key);
        return done(nullptr, "", database);
    }
    const std::string database = scratch_database_name(nonce_, ++serial_);
    // Recorded before it exists: a leftover sweep running meanwhile must not take it.
    records_[database] = Record{c.name, owner};
    hold_owner(owner);
    copy(c, database, from_snapshot,
         [this, c, key, database, done = std::move(done)](const char* error_name, const std::string& error) {
             auto it = records_.find(database);
             if (error_name) {
                 forget(database);
                 if (std::string_view(error_name) == error_name::NoSuchSnapshot)
                     pools_.erase(key);
                 return done(error_name, error, "");
             }
             if (it == records_.end() || it->second.orphaned) {
                 // Its owner is gone already (or the instance stopped): nobody will drop it later.
                 drop(c, database, [](const std::string&) {});
                 return done(error_name::Failed, "the caller disconnected before its scratch database was ready", "");
             }
             it->second.ready = true;
             done(nullptr, "", database);
             refill(key);
         });
}

void ScratchDatabases::copy(const InstanceConfig& c, const std::string& database, const std::string& from_snapshot,
                            Copied done) {
    const std::string template_db = from_snapshot.empty() ? std::string("template0") : snapshot_database(from_snapshot);
    std::vector<Statement> statements;
    if (!from_snapshot.empty())
        statements.push_back([template_db](PGconn* conn) { return database_exists_sql(conn, template_db); });
    statements.push_back(
        [=, user = c.user](PGconn* conn) { return create_scratch_sql(conn, database, user, template_db, kStrategy); });
    run(c, std::move(statements),
        [name = c.name, from_snapshot, done = std::move(done)](const std::string& error, const PgRows&) {
            if (error.empty())
                return done(nullptr, "");
            if (error == "no such snapshot")
                return done(error_name::NoSuchSnapshot,
                            fmt::format("instance {} has no snapshot \"{}\"", name, from_snapshot));
            done(error_name::Failed,
                 fmt::format("Failed to create a scratch database in instance {}: {}", name, error));
        });
}

void ScratchDatabases::refill(const PoolKey& key) {
    auto pool = pools_.find(key);
    auto instance = running_.find(key.first);
    if (pool == pools_.end() || instance == running_.end() || pool->second.filling ||
        pool->second.ready.size() >= kPoolSize)
        return;
    pool->second.filling = true;
    const uint64_t generation = pool->second.generation;
    const std::string database = scratch_database_name(nonce_, ++serial_);
    records_[database] = Record{key.first, ""};
    copy(instance->second, database, key.second,
         [this, key, generation, database](const char* error_name, const std::string& error) {
             auto pool = pools_.find(key);
             const bool current = pool != pools_.end() && pool->second.generation == generation;
             if (error_name) {
                 forget(database);
                 if (current)
                     pools_.erase(pool);  // tried again when next asked for
                 return log_warning(fmt::format("Failed to make a scratch database ahead of time: {}", error),
                                    key.first);
             }
             if (!current || !records_.count(database)) {
                 // The snapshot changed or the instance stopped meanwhile.
                 if (auto instance = running_.find(key.first); instance != running_.end() && records_.count(database))
                     drop(instance->second, database, [](const std::string&) {});
                 return;
             }
             pool->second.ready.push_back(database);
             pool->second.filling = false;
             // One copy at a time, each on a later loop iteration, so requests go first.
             loop_.post([this, key] { refill(key); }, lifetime_.token(), key.first);
         });
}

void ScratchDatabases::snapshot_changed(const std::string& instance, const std::string& snapshot) {
    drop_pool({instance, snapshot});
}

void ScratchDatabases::drop_pool(const PoolKey& key) {
    auto pool = pools_.find(key);
    if (pool == pools_.end())
        return;
    const auto ready = std::move(pool->second.ready);
    pools_.erase(pool);
    auto instance = running_.find(key.first);
    for (const auto& database : ready) {
        if (instance != running_.end())
            drop(instance->second, database, [](const std::string&) {});
        else
            forget(database);
    }
}

std::string ScratchDatabases::owner_of(const std::string& instance, const std::string& database) const {
    auto it = records_.find(database);
    return it != records_.end() && it->second.instance == instance && it->second.ready ? it->second.owner : "";
}

void ScratchDatabases::drop(const InstanceConfig& c, const std::string& database, Done done) {
    forget(database);
    run(c, {[database](PGconn* conn) { return drop_database_sql(conn, database); }},
        [c, database, done = std::move(done)](const std::string& error, const PgRows&) {
            if (!error.empty())
                log_warning(
                    fmt::format("Failed to drop scratch database {}: {} (dropped at the next start)", database, error),
                    c.name);
            done(error);
        });
}

void ScratchDatabases::owner_vanished(const std::string& owner) {
    std::vector<std::pair<std::string, std::string>> gone;  // database, instance
    for (auto& [database, record] : records_) {
        if (record.owner != owner)
            continue;
        if (record.ready)
            gone.emplace_back(database, record.instance);
        else
            record.orphaned = true;
    }
    for (const auto& [database, instance] : gone) {
        auto it = running_.find(instance);
        if (it == running_.end()) {
            forget(database);
            continue;
        }
        log_info(fmt::format("Dropping scratch database {}: its client {} disconnected.", database, owner), instance);
        drop(it->second, database, [](const std::string&) {});
    }
}

void ScratchDatabases::instance_running(const InstanceConfig& c) { running_[c.name] = c; }

void ScratchDatabases::sweep_leftovers(const InstanceConfig& c) {
    run(c, {[](PGconn*) { return list_scratch_sql(); }}, [this, c](const std::string& error, const PgRows& rows) {
        if (!error.empty())
            return log_warning(fmt::format("Failed to look for leftover scratch databases: {}", error), c.name);
        for (const auto& row : rows) {
            if (row.empty() || records_.count(row[0]))
                continue;
            log_info(fmt::format("Dropping leftover scratch database {}.", row[0]), c.name);
            drop(c, row[0], [](const std::string&) {});
        }
    });
}

void ScratchDatabases::instance_stopped(const std::string& instance) {
    running_.erase(instance);
    for (auto it = pools_.begin(); it != pools_.end();) {
        if (it->first.first == instance)
            it = pools_.erase(it);
        else
            ++it;
    }
    for (auto it = records_.begin(); it != records_.end();) {
        if (it->second.instance == instance) {
            release_owner(it->second.owner);
            it = records_.erase(it);
        } else {
            ++it;
        }
    }
}

void ScratchDatabases::forget(const std::string& database) {
    auto it = records_.find(database);
    if (it == records_.end())
        return;
    release_owner(it->second.owner);
    records_.erase(it);
}

void ScratchDatabases::hold_owner(const std::string& owner) {
    if (owner.empty() || ++owners_[owner] > 1 || !watched_.insert(owner).second)
        return;
    if (owner_watch_)
        owner_watch_(owner, true);
}

void ScratchDatabases::release_owner(const std::string& owner) {
    auto it = owners_.find(owner);
    if (it == owners_.end() || --it->second > 0)
        return;
    owners_.erase(it);
    // Later: this may run inside the watch's own callback (the owner left).
    loop_.post(
        [this, owner] {
            if (owners_.count(owner) || !watched_.erase(owner))
                return;
            if (owner_watch_)
                owner_watch_(owner, false);
        },
        lifetime_.token());
}

std::vector<std::string> ScratchDatabases::watched_owners() const { return {watched_.begin(), watched_.end()}; }

void ScratchDatabases::run(const InstanceConfig& c, std::vector<Statement> statements,
                           std::function<void(const std::string&, const PgRows&)> done) {
    const uint64_t id = ++next_job_;
    auto job = std::make_unique<Job>(loop_, timeout_);
    job->statements = std::move(statements);
    job->done = std::move(done);
    Job& j = *jobs_.emplace(id, std::move(job)).first->second;
    j.pg.connect({{"host", InstancePaths(c).socket_dir.string()},
                  {"port", std::to_string(c.port)},
                  {"user", "postgres"},
                  {"dbname", "postgres"},
                  {"application_name", "pgnspawnd"}},
                 [this, id](const std::string& error) {
                     if (!error.empty())
                         return finish_job(id, fmt::format("cannot connect as the superuser: {}", error), {});
                     step(id);
                 });
}

void ScratchDatabases::step(uint64_t id) {
    Job& j = *jobs_.at(id);
    std::string sql;
    try {
        sql = j.statements.at(j.next++)(j.pg.raw());
    } catch (const std::exception& e) {
        return finish_job(id, e.what(), {});
    }
    j.pg.query(sql, [this, id](const std::string& error, PgRows rows) {
        Job& job = *jobs_.at(id);
        if (!error.empty())
            return finish_job(id, error, {});
        // A step answering count = 0 is the existence check of a snapshot.
        if (job.next < job.statements.size() && rows.size() == 1 && rows[0].size() == 1 && rows[0][0] == "0")
            return finish_job(id, "no such snapshot", {});
        if (job.next < job.statements.size())
            return step(id);
        finish_job(id, "", rows);
    });
}

void ScratchDatabases::finish_job(uint64_t id, const std::string& error, const PgRows& rows) {
    auto done = std::move(jobs_.at(id)->done);
    // The connection is inside one of its own callbacks: destroyed from the loop's queue.
    loop_.post([this, id] { jobs_.erase(id); }, lifetime_.token());
    done(error, rows);
}

}  // namespace pgnspawn
