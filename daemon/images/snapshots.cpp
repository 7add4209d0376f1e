#include "images/snapshots.hpp"

#include "core/names.hpp"
#include "images/provision.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace pgnspawn {

namespace {

/// WAL_LOG: measured about twice as fast as FILE_COPY for a migrated test database, whose
/// two checkpoints cost more than copying the pages through the WAL (README, Snapshots).
/// STRATEGY exists from PostgreSQL 15 on; before that FILE_COPY is the only way.
std::string copy_clause(const InstanceConfig& c) {
    return std::atoi(c.postgresql_version.c_str()) >= 15 ? " STRATEGY WAL_LOG" : "";
}

std::string count_sql(PGconn* conn, const std::string& database) {
    return fmt::format("SELECT count(*) FROM pg_catalog.pg_database WHERE datname = {}", quote_literal(conn, database));
}

/// Ends every other session on `database`; CREATE DATABASE ... TEMPLATE then waits (up to
/// 5 s) for them to be gone.
std::string terminate_sql(PGconn* conn, const std::string& database) {
    return fmt::format(
        "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity "
        "WHERE datname = {} AND pid <> pg_catalog.pg_backend_pid()",
        quote_literal(conn, database));
}

SqlStep must_not_exist(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    return {count_sql(conn, kSnapshotPrefix + snapshot), 0,
            DomainError(error_name::SnapshotExists,
                        fmt::format("instance {} already has a snapshot named {}", c.name, snapshot))};
}

SqlStep must_exist(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    return {
        count_sql(conn, kSnapshotPrefix + snapshot), 1,
        DomainError(error_name::NoSuchSnapshot, fmt::format("instance {} has no snapshot named {}", c.name, snapshot))};
}

SqlStep plain(std::string sql) { return {std::move(sql), std::nullopt, std::nullopt}; }

}  // namespace

std::vector<SqlStep> take_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot,
                                         uint64_t now_usec) {
    const std::string partial = quote_identifier(conn, kSnapshotPartialPrefix + snapshot);
    const std::string db = quote_identifier(conn, c.database);
    return {
        must_not_exist(conn, c, snapshot),
        plain(fmt::format("DROP DATABASE IF EXISTS {}", partial)),  // left by a crash mid-way
        plain(terminate_sql(conn, c.database)),
        plain(fmt::format("CREATE DATABASE {} TEMPLATE {}{}", partial, db, copy_clause(c))),
        plain(fmt::format("ALTER DATABASE {} ALLOW_CONNECTIONS false", partial)),
        plain(fmt::format("COMMENT ON DATABASE {} IS {}", partial, quote_literal(conn, std::to_string(now_usec)))),
        plain(
            fmt::format("ALTER DATABASE {} RENAME TO {}", partial, quote_identifier(conn, kSnapshotPrefix + snapshot))),
    };
}

std::vector<SqlStep> restore_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    const std::string restoring = quote_identifier(conn, kRestoringDatabase);
    const std::string db = quote_identifier(conn, c.database);
    // The copy is made first, so a failure leaves the database as it was.
    return {
        must_exist(conn, c, snapshot),
        plain(fmt::format("DROP DATABASE IF EXISTS {}", restoring)),
        plain(fmt::format("CREATE DATABASE {} TEMPLATE {} OWNER {}{}", restoring,
                          quote_identifier(conn, kSnapshotPrefix + snapshot), quote_identifier(conn, c.user),
                          copy_clause(c))),
        plain(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", db)),
        plain(fmt::format("ALTER DATABASE {} RENAME TO {}", restoring, db)),
    };
}

std::vector<SqlStep> delete_snapshot_steps(PGconn* conn, const InstanceConfig& c, const std::string& snapshot) {
    return {
        must_exist(conn, c, snapshot),
        plain(fmt::format("DROP DATABASE {}", quote_identifier(conn, kSnapshotPrefix + snapshot))),
    };
}

std::vector<SqlStep> reset_database_steps(PGconn* conn, const InstanceConfig& c) {
    // Provisioning's own CREATE DATABASE, so that Reset gives what a first start gives.
    return {
        plain(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(conn, c.database))),
        plain(create_database_sql(conn, c)),
    };
}

std::string list_snapshots_sql() {
    return fmt::format(
        "SELECT substr(datname, {}), coalesce(pg_catalog.shobj_description(oid, 'pg_database'), '0'), "
        "pg_catalog.pg_database_size(oid) FROM pg_catalog.pg_database "
        "WHERE starts_with(datname, '{}') ORDER BY 1",
        std::strlen(kSnapshotPrefix) + 1, kSnapshotPrefix);
}

std::vector<SnapshotInfo> parse_snapshot_rows(const PgRows& rows) {
    std::vector<SnapshotInfo> out;
    for (const auto& row : rows) {
        if (row.size() != 3)
            throw std::runtime_error("unexpected answer listing snapshots");
        try {
            out.push_back({row[0], std::stoull(row[1]), std::stoull(row[2])});
        } catch (const std::logic_error&) {
            throw std::runtime_error(fmt::format("malformed metadata of snapshot {}", quote_untrusted(row[0])));
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------

/// One operation: connect as postgres over the socket, run the steps in order.
class SnapshotStore::Job {
public:
    using Done = std::function<void(const std::optional<DomainError>&, PgRows)>;

    Job(EventLoop& loop, std::chrono::milliseconds timeout) : pg_(loop, timeout) {}

    void run(const InstanceConfig& c, const std::filesystem::path& socket_dir, Build build, Done done) {
        done_ = std::move(done);
        name_ = c.name;
        pg_.connect(
            {{"host", socket_dir.string()},
             {"port", std::to_string(c.port)},
             {"user", "postgres"},
             {"dbname", "postgres"},
             {"application_name", "pgnspawnd"}},
            [this, build = std::move(build)](const std::string& error) {
                if (!error.empty())
                    return fail(fmt::format("cannot connect to instance {} as the superuser: {}", name_, error));
                try {
                    steps_ = build(pg_.raw());
                } catch (const std::exception& e) {
                    return fail(e.what());
                }
                next({});
            });
    }

private:
    void next(PgRows rows) {
        if (index_ == steps_.size())
            return finish(std::nullopt, std::move(rows));
        pg_.query(steps_[index_].sql, [this](const std::string& error, PgRows rows) {
            if (!error.empty())
                return fail(fmt::format("snapshot operation on instance {} failed: {}", name_, error));
            const SqlStep& step = steps_[index_++];
            if (step.required_count) {
                const bool matches = !rows.empty() && !rows[0].empty() &&
                                     std::strtol(rows[0][0].c_str(), nullptr, 10) == *step.required_count;
                if (!matches)
                    return finish(step.error, {});
            }
            next(std::move(rows));
        });
    }

    void fail(const std::string& message) { finish(DomainError(error_name::SnapshotFailed, message), {}); }

    void finish(const std::optional<DomainError>& error, PgRows rows) {
        auto done = std::move(done_);  // may destroy this object
        done(error, std::move(rows));
    }

    PgConnection pg_;
    std::string name_;
    std::vector<SqlStep> steps_;
    std::size_t index_ = 0;
    Done done_;
};

SnapshotStore::SnapshotStore(EventLoop& loop, std::filesystem::path (*socket_dir)(const InstanceConfig&),
                             std::chrono::milliseconds timeout)
    : loop_(loop), socket_dir_(socket_dir), timeout_(timeout) {}

SnapshotStore::~SnapshotStore() = default;

void SnapshotStore::require_supported(const InstanceConfig& c) {
    if (c.image != ImageKind::Host)
        throw DomainError(
            error_name::NotSupported,
            fmt::format("instance {} runs image \"{}\": snapshots need image = \"host\"", c.name, to_string(c.image)));
}

void SnapshotStore::enqueue(const InstanceConfig& c, Build build,
                            std::function<void(const std::optional<DomainError>&, PgRows)> then) {
    require_supported(c);
    queues_[c.name].push_back([this, c, build = std::move(build), then = std::move(then)]() mutable {
        auto& job = running_[c.name];
        job = std::make_unique<Job>(loop_, timeout_);
        job->run(c, socket_dir_(c), std::move(build),
                 [this, name = c.name, then = std::move(then)](const std::optional<DomainError>& error, PgRows rows) {
                     // The job is in its own callback: it is destroyed on a later loop iteration.
                     std::shared_ptr<Job> finished = std::move(running_[name]);
                     running_.erase(name);
                     then(error, std::move(rows));
                     loop_.post([this, name, finished] { run_next(name); }, lifetime_.token(), name);
                 });
    });
    if (!busy_.count(c.name))
        run_next(c.name);
}

void SnapshotStore::run_next(const std::string& instance) {
    auto& queue = queues_[instance];
    if (queue.empty()) {
        busy_.erase(instance);
        return;
    }
    busy_.insert(instance);
    auto op = std::move(queue.front());
    queue.pop_front();
    op();
}

void SnapshotStore::take(const InstanceConfig& c, const std::string& snapshot, Done done) {
    const uint64_t now =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    enqueue(
        c, [c, snapshot, now](PGconn* conn) { return take_snapshot_steps(conn, c, snapshot, now); },
        [this, c, done = std::move(done)](const std::optional<DomainError>& e, PgRows) {
            done(e);
            refresh(c);
        });
}

void SnapshotStore::restore(const InstanceConfig& c, const std::string& snapshot, Done done) {
    enqueue(
        c, [c, snapshot](PGconn* conn) { return restore_snapshot_steps(conn, c, snapshot); },
        [done = std::move(done)](const std::optional<DomainError>& e, PgRows) { done(e); });
}

void SnapshotStore::remove(const InstanceConfig& c, const std::string& snapshot, Done done) {
    enqueue(
        c, [c, snapshot](PGconn* conn) { return delete_snapshot_steps(conn, c, snapshot); },
        [this, c, done = std::move(done)](const std::optional<DomainError>& e, PgRows) {
            done(e);
            refresh(c);
        });
}

void SnapshotStore::reset(const InstanceConfig& c, Done done) {
    enqueue(
        c, [c](PGconn* conn) { return reset_database_steps(conn, c); },
        [done = std::move(done)](const std::optional<DomainError>& e, PgRows) { done(e); });
}

void SnapshotStore::list(const InstanceConfig& c, Listed done) {
    enqueue(
        c,
        [](PGconn*) {
            return std::vector<SqlStep>{{list_snapshots_sql(), std::nullopt, std::nullopt}};
        },
        [this, name = c.name, done = std::move(done)](const std::optional<DomainError>& e, PgRows rows) {
            if (e)
                return done(e, {});
            std::vector<SnapshotInfo> infos;
            try {
                infos = parse_snapshot_rows(rows);
            } catch (const std::exception& ex) {
                return done(DomainError(error_name::SnapshotFailed, ex.what()), {});
            }
            remember(name, infos);
            done(std::nullopt, std::move(infos));
        });
}

void SnapshotStore::refresh(const InstanceConfig& c) {
    if (c.image == ImageKind::Host)
        list(c, [](const std::optional<DomainError>&, std::vector<SnapshotInfo>) {});
}

void SnapshotStore::refresh_if_unknown(const InstanceConfig& c) {
    if (c.image != ImageKind::Host || names_.count(c.name) || reading_.count(c.name))
        return;
    reading_.insert(c.name);
    list(c, [this, name = c.name](const std::optional<DomainError>&, std::vector<SnapshotInfo>) {
        reading_.erase(name);  // after a failure, the next read tries again
    });
}

void SnapshotStore::remember(const std::string& instance, const std::vector<SnapshotInfo>& infos) {
    std::vector<std::string> names;
    for (const auto& i : infos)
        names.push_back(i.name);
    const bool first = !names_.count(instance);
    auto& known = names_[instance];
    if (known == names && !first)
        return;
    known = std::move(names);
    if (listener_)
        listener_(instance);
}

std::vector<std::string> SnapshotStore::names(const std::string& instance) const {
    auto it = names_.find(instance);
    return it == names_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace pgnspawn
