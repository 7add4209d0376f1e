// Scratch databases: throw-away copies of a snapshot (or empty databases) whose lifetime
// is tied to a D-Bus connection. The daemon records which connection asked for which
// database; when that connection goes away the database is dropped. What no record
// covers (a daemon crash, a stop, a daemon restart with the instance still running) is
// dropped when the instance is next seen running: every database with the reserved
// prefix that the daemon does not hold a record for is a leftover.
//
// A plain copy of a migrated database takes tens of milliseconds (CREATE DATABASE ...
// TEMPLATE writes every page; see README, Speed), so for each (instance, snapshot) that has
// been asked for, kPoolSize copies are made ahead of time, one at a time, and a request
// takes one of those: it only becomes the caller's. Copies are owned by the configured
// role and named like every scratch database from the start, so nothing is renamed.
//
// Each operation is one short connection as the superuser over the instance's unix
// socket, as provisioning does; the SQL is built by pure functions (unit-tested).
#pragma once

#include "core/config.hpp"
#include "images/snapshots.hpp"
#include "platform/pg.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pgnspawn {

/// Every scratch database's name starts with this; nothing else may use it.
inline constexpr std::string_view kScratchPrefix = "pgnspawn_scratch_";

/// The template database holding snapshot `snapshot` (a valid instance-style name).
std::string snapshot_database(std::string_view snapshot);
/// A fresh scratch database name: the prefix, the daemon's nonce and a serial number.
std::string scratch_database_name(std::string_view nonce, uint64_t serial);
/// Whether `name` could be a scratch database: the prefix then 1-40 of [a-z0-9_].
bool is_scratch_database_name(std::string_view name);

/// CREATE DATABASE `database` owned by `owner`, a copy of `template_db` made with
/// `strategy` (FILE_COPY or WAL_LOG). Throws std::runtime_error when libpq cannot quote.
std::string create_scratch_sql(PGconn* conn, const std::string& database, const std::string& owner,
                               const std::string& template_db, std::string_view strategy);
/// DROP DATABASE IF EXISTS `database` WITH (FORCE): ends its sessions first.
std::string drop_database_sql(PGconn* conn, const std::string& database);
/// One row, one column: how many databases are named `database`.
std::string database_exists_sql(PGconn* conn, const std::string& database);
/// The names of every database with the scratch prefix (the LIKE pattern escaped).
std::string list_scratch_sql();

class ScratchDatabases {
public:
    /// error_name is empty on success (then database is set), else a D-Bus error name.
    using Created = std::function<void(const char* error_name, const std::string& error, const std::string& database)>;
    using Done = std::function<void(const std::string& error)>;

    /// `nonce` makes this daemon's names distinct from an earlier one's.
    ScratchDatabases(EventLoop& loop, std::string nonce, std::chrono::milliseconds timeout);
    ~ScratchDatabases();
    ScratchDatabases(const ScratchDatabases&) = delete;
    ScratchDatabases& operator=(const ScratchDatabases&) = delete;

    /// A new database for `owner` (a unique bus name) in the running instance `c`: a copy
    /// of snapshot `from_snapshot`, or an empty one for "". NoSuchSnapshot if it does not
    /// exist. If `owner` vanishes before the copy is made, it is dropped at once.
    void create(const InstanceConfig& c, const std::string& owner, const std::string& from_snapshot, Created done);
    /// Who created `database` in instance `instance`, or "" if no record says so.
    std::string owner_of(const std::string& instance, const std::string& database) const;
    /// Drops a recorded database now.
    void drop(const InstanceConfig& c, const std::string& database, Done done);
    /// The connection `owner` has gone: drops everything it held.
    void owner_vanished(const std::string& owner);
    /// The instance runs (started, or taken over after a restart of the daemon).
    void instance_running(const InstanceConfig& c);
    /// Drops every scratch database in a running instance that no record covers (what an
    /// earlier daemon or run left). Safe at any time: a database is recorded before it is made.
    void sweep_leftovers(const InstanceConfig& c);
    /// The instance stopped or failed: its records are forgotten; what was left is
    /// dropped at its next start.
    void instance_stopped(const std::string& instance);
    /// Snapshot `snapshot` of `instance` was made anew or deleted: its pooled copies are
    /// stale and are dropped. The snapshot API calls this.
    void snapshot_changed(const std::string& instance, const std::string& snapshot);
    /// Copies kept ready per (instance, snapshot) once it has been asked for.
    static constexpr size_t kPoolSize = 8;
    /// How many records there are (for tests and the journal).
    size_t size() const { return records_.size(); }

    /// Told (owner, true) when a connection comes to hold its first scratch database (or
    /// hold_owner()), and (owner, false) on a later loop iteration once it holds none, so
    /// that the bus watches only the connections that own something.
    using OwnerWatch = std::function<void(const std::string& owner, bool watch)>;
    void set_owner_watch(OwnerWatch watch) { owner_watch_ = std::move(watch); }
    /// Keeps `owner` watched while a request of its is under way (before its record exists).
    void hold_owner(const std::string& owner);
    void release_owner(const std::string& owner);
    /// The connections watched now (until the posted release has run).
    std::vector<std::string> watched_owners() const;

private:
    struct Record {
        std::string instance;
        std::string owner;
        bool ready = false;     ///< CREATE DATABASE has completed
        bool orphaned = false;  ///< the owner vanished while it was being made
    };
    struct Job;
    using PoolKey = std::pair<std::string, std::string>;  ///< instance, snapshot ("" = empty)
    struct Pool {
        std::deque<std::string> ready;  ///< databases made ahead of time, oldest first
        bool filling = false;
        uint64_t generation = 0;  ///< a copy made for an earlier pool of this key is not this one's
    };
    using Copied = std::function<void(const char* error_name, const std::string& error)>;
    /// CREATE DATABASE `database` for the configured role from the snapshot (checked first).
    void copy(const InstanceConfig& c, const std::string& database, const std::string& from_snapshot, Copied done);
    /// Makes one more copy for the pool of `key` if it is short and nothing fills it yet.
    void refill(const PoolKey& key);
    void drop_pool(const PoolKey& key);
    /// Connects as the superuser and runs `statements` one after the other (CREATE and
    /// DROP DATABASE may not share a query); done(error, rows of the last).
    using Statement = std::function<std::string(PGconn*)>;
    void run(const InstanceConfig& c, std::vector<Statement> statements,
             std::function<void(const std::string&, const PgRows&)> done);
    void step(uint64_t id);
    void finish_job(uint64_t id, const std::string& error, const PgRows& rows);
    void forget(const std::string& database);

    EventLoop& loop_;
    std::string nonce_;
    std::chrono::milliseconds timeout_;
    uint64_t serial_ = 0;
    std::map<std::string, Record> records_;          ///< by database name
    std::map<std::string, InstanceConfig> running_;  ///< instances seen running, for drops
    std::map<PoolKey, Pool> pools_;
    uint64_t pool_generation_ = 0;
    uint64_t next_job_ = 0;
    std::map<uint64_t, std::unique_ptr<Job>> jobs_;
    std::map<std::string, size_t> owners_;  ///< records and holds per owner
    std::set<std::string> watched_;         ///< owners the watch was told to watch
    OwnerWatch owner_watch_;
    Lifetime lifetime_;
};

}  // namespace pgnspawn
