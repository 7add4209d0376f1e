// Snapshots of a host-image instance's configured database, kept inside its cluster as
// databases nobody may connect to (pgnspawn_snap_NAME, datallowconn = false), so they
// survive Stop/Start and daemon restarts. Copies are CREATE DATABASE ... TEMPLATE, run
// as the superuser over the unix socket. A snapshot is made under a temporary name and
// renamed once complete, so a failure (a full disk) leaves none half-made. Each snapshot
// has a ready copy (pgnspawn_ready_NAME, owned by the role) made ahead of time while idle,
// so Restore only ends the sessions and swaps names in one transaction; the copy is made
// anew right after, and the replaced databases (each under its own name) are dropped
// together once the instance has been idle a moment, as every DROP DATABASE checkpoints. The SQL is built by pure
// functions (snapshot_sql.cpp, unit-tested); libpq's strings are held by PqString.
#pragma once

#include "core/config.hpp"
#include "core/errors.hpp"
#include "platform/pg.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pgnspawn {

/// Databases named with this prefix are snapshots; the rest of the name is the snapshot's.
inline constexpr const char* kSnapshotPrefix = "pgnspawn_snap_";
/// A snapshot being made; renamed to kSnapshotPrefix + NAME once complete.
inline constexpr const char* kSnapshotPartialPrefix = "pgnspawn_part_";
/// The copy of snapshot NAME that its next Restore puts in place of the database.
inline constexpr const char* kReadyPrefix = "pgnspawn_ready_";
/// A database a Restore replaced, until it is dropped in the background: the prefix and
/// the database's oid, so that each Restore's is its own.
inline constexpr const char* kReplacedPrefix = "pgnspawn_replaced_";
/// What a pgnspawnd before kReplacedPrefix named the replaced database; swept the same way.
inline constexpr const char* kReplacedDatabase = "pgnspawn_replaced";

struct SnapshotInfo {
    std::string name;
    uint64_t created_usec = 0;
    uint64_t size_bytes = 0;
};

/// One statement (CREATE and DROP DATABASE cannot share a query string). When
/// required_count is set, the statement is a count(*) whose answer must be that number,
/// or the operation ends with `error`. A `condition` step's count decides whether the
/// following steps with `run_if` run (only when it equals their value).
struct SqlStep {
    std::string sql;
    std::optional<long> required_count;
    std::optional<DomainError> error;
    bool condition = false;
    std::optional<long> run_if;
    /// The statement answers how many bytes the next copy needs; unless the instance's
    /// data directory has that much free, the operation ends with NoSpace.
    bool space_check = false;
};

/// A step that only runs `sql`.
inline SqlStep statement(std::string sql) {
    SqlStep s;
    s.sql = std::move(sql);
    return s;
}

// Pure SQL builders. `conn` supplies libpq's quoting rules; it need not be connected.
// They throw std::runtime_error when libpq cannot quote.
std::vector<SqlStep> take_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot,
                                         uint64_t now_usec);
/// The ready copy of `snapshot`: kReadyPrefix + snapshot.
std::string ready_database(const std::string& snapshot);
std::vector<SqlStep> restore_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot);
/// After a Snapshot or Restore: makes the ready copy, unless a valid one exists.
std::vector<SqlStep> prepare_restore_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot);
/// Rows: (database) for each database a Restore replaced.
std::string replaced_databases_sql();
std::vector<SqlStep> delete_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot);
std::vector<SqlStep> reset_database_steps(PGconn* conn, const InstanceConfig& c);
/// Rows: snapshot name, created µs (from the database's COMMENT), size in bytes.
std::string list_snapshots_sql();
/// Rows ('drop', database) left by interrupted operations and ('ready', snapshot) for
/// snapshots without a valid ready copy.
std::string leftovers_sql();
/// Parses list_snapshots_sql()'s rows; a malformed row throws std::runtime_error.
std::vector<SnapshotInfo> parse_snapshot_rows(const PgRows& rows);

/// Runs snapshot operations, one at a time per instance, and remembers each instance's
/// snapshot names as last read from its cluster.
class SnapshotStore {
public:
    /// How long an instance's snapshot operations must have been idle before the replaced
    /// databases are dropped (each DROP DATABASE checkpoints; a Restore waits for it).
    static constexpr std::chrono::milliseconds kDropWhenIdle{500};
    /// Replaced databases that may wait for an idle moment; with more, they go at once.
    static constexpr int kMaxReplaced = 8;

    using Done = std::function<void(const std::optional<DomainError>& error)>;
    using Listed = std::function<void(const std::optional<DomainError>& error, std::vector<SnapshotInfo>)>;

    SnapshotStore(EventLoop& loop, std::filesystem::path (*socket_dir)(const InstanceConfig&),
                  std::chrono::milliseconds timeout);
    ~SnapshotStore();

    /// Throws DomainError(NotSupported) unless the instance runs the host image.
    static void require_supported(const InstanceConfig& c);

    void take(const InstanceConfig& c, const std::string& snapshot, Done done);
    void restore(const InstanceConfig& c, const std::string& snapshot, Done done);
    void remove(const InstanceConfig& c, const std::string& snapshot, Done done);
    void reset(const InstanceConfig& c, Done done);
    /// In a running instance: drops what interrupted operations left and makes missing
    /// ready copies, in the background.
    void sweep_leftovers(const InstanceConfig& c);
    void list(const InstanceConfig& c, Listed done);
    /// Re-reads the names; the listener hears if they changed.
    void refresh(const InstanceConfig& c);
    /// refresh(), unless the names are known or being read.
    void refresh_if_unknown(const InstanceConfig& c);

    /// Names as last read (empty until first read).
    std::vector<std::string> names(const std::string& instance) const;
    /// Told the instance's name whenever its snapshot names change.
    void set_listener(std::function<void(const std::string& instance)> listener) { listener_ = std::move(listener); }

    class Job;

private:
    using Build = std::function<std::vector<SqlStep>(PGconn*)>;
    void enqueue(const InstanceConfig& c, Build build,
                 std::function<void(const std::optional<DomainError>&, PgRows)> then);
    void run_next(const std::string& instance);
    void remember(const std::string& instance, const std::vector<SnapshotInfo>& infos);
    /// Queues prepare_restore_steps(); a failure is only logged (Restore makes the copy then).
    void prepare(const InstanceConfig& c, const std::string& snapshot);
    /// A Restore replaced a database: it is dropped once the instance has been idle for
    /// kDropWhenIdle, or at once (after what is queued) when kMaxReplaced are waiting.
    void replaced(const InstanceConfig& c);
    /// Queues the drop of every replaced database, in one operation.
    void drop_replaced(const InstanceConfig& c);
    /// Queues DROP DATABASE of each; a failure is logged, naming `what` was dropped.
    void drop_databases(const InstanceConfig& c, std::vector<std::string> drops, const char* what);

    EventLoop& loop_;
    std::filesystem::path (*socket_dir_)(const InstanceConfig&);
    std::chrono::milliseconds timeout_;
    std::map<std::string, std::deque<std::function<void()>>> queues_;  ///< waiting operations by instance
    std::map<std::string, std::unique_ptr<Job>> running_;              ///< the running one by instance
    std::set<std::string> busy_;                                       ///< an operation runs or is due
    std::map<std::string, std::vector<std::string>> names_;            ///< as last read, by instance
    std::set<std::string> reading_;                                    ///< a refresh_if_unknown() is under way
    std::map<std::string, InstanceConfig> drops_due_;                  ///< replaced databases wait, by instance
    std::map<std::string, int> replaced_count_;                        ///< how many, as far as known
    std::map<std::string, EventSource> drop_timers_;                   ///< armed while idle with drops due
    std::function<void(const std::string&)> listener_;
    Lifetime lifetime_;
};

}  // namespace pgnspawn
