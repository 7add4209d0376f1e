#include "images/snapshots.hpp"

#include "images/layout.hpp"
#include "images/scratch.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace pgnspawn {

// ---------------------------------------------------------------------------------------

/// One operation: connect as postgres over the socket, run the steps in order.
class SnapshotStore::Job {
public:
    using Done = std::function<void(const std::optional<DomainError>&, PgRows)>;

    Job(EventLoop& loop, std::chrono::milliseconds timeout) : pg_(loop, timeout) {}

    void run(const InstanceConfig& c, const std::filesystem::path& socket_dir, Build build, Done done) {
        done_ = std::move(done);
        name_ = c.name;
        data_ = InstancePaths(c).data;
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
        while (index_ < steps_.size() && steps_[index_].run_if && *steps_[index_].run_if != condition_)
            ++index_;
        if (index_ == steps_.size())
            return finish(std::nullopt, std::move(rows));
        pg_.query(steps_[index_].sql, [this](const std::string& error, PgRows rows) {
            if (!error.empty())
                return fail(fmt::format("snapshot operation on instance {} failed: {}", name_, error));
            const SqlStep& step = steps_[index_++];
            const long count = !rows.empty() && !rows[0].empty() ? std::strtol(rows[0][0].c_str(), nullptr, 10) : -1;
            if (step.required_count && count != *step.required_count)
                return finish(step.error, {});
            if (step.condition)
                condition_ = count;
            if (step.space_check)
                if (auto error = check_space(count))
                    return finish(error, {});
            next(std::move(rows));
        });
    }

    /// NoSpace unless the data directory has `needed` bytes free.
    std::optional<DomainError> check_space(long needed) const {
        struct statvfs st {};
        if (statvfs(data_.c_str(), &st) != 0)
            return DomainError(error_name::SnapshotFailed, fmt::format("cannot tell the free space of {}: {}",
                                                                       data_.string(), std::strerror(errno)));
        const uint64_t free = uint64_t(st.f_bavail) * st.f_frsize;
        if (needed < 0 || free >= uint64_t(needed))
            return std::nullopt;
        constexpr uint64_t MiB = 1024 * 1024;
        return DomainError(error_name::NoSpace,
                           fmt::format("instance {} has {} MiB free in {}, and the copy needs about {} MiB (the "
                                       "database twice, for its pages and their WAL, and 64 MiB); nothing was changed",
                                       name_, free / MiB, data_.string(), (uint64_t(needed) + MiB - 1) / MiB));
    }

    void fail(const std::string& message) { finish(DomainError(error_name::SnapshotFailed, message), {}); }

    void finish(const std::optional<DomainError>& error, PgRows rows) {
        auto done = std::move(done_);  // may destroy this object
        done(error, std::move(rows));
    }

    PgConnection pg_;
    std::string name_;
    std::filesystem::path data_;  ///< whose free space a copy needs
    std::vector<SqlStep> steps_;
    std::size_t index_ = 0;
    long condition_ = -1;  ///< the count the last condition step answered
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
    drop_timers_.erase(c.name);  // not idle any more
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
        if (drops_due_.count(instance))
            drop_timers_[instance] = loop_.add_timer(
                kDropWhenIdle,
                [this, instance] {
                    // Not from inside the timer's own callback: drop_replaced() removes it.
                    loop_.post(
                        [this, instance] {
                            auto it = drops_due_.find(instance);
                            if (it == drops_due_.end() || busy_.count(instance))
                                return;
                            const InstanceConfig c = it->second;  // drop_replaced() erases the entry
                            drop_replaced(c);
                        },
                        lifetime_.token(), instance);
                },
                instance);
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
        [this, c, snapshot, done = std::move(done)](const std::optional<DomainError>& e, PgRows) {
            done(e);
            refresh(c);
            if (!e)
                prepare(c, snapshot);
        });
}

void SnapshotStore::restore(const InstanceConfig& c, const std::string& snapshot, Done done) {
    enqueue(
        c, [c, snapshot](PGconn* conn) { return restore_snapshot_steps(conn, c, snapshot); },
        [this, c, snapshot, done = std::move(done)](const std::optional<DomainError>& e, PgRows) {
            done(e);
            prepare(c, snapshot);  // first: the next Restore waits for the copy, not the drops
            replaced(c);           // after a failure too: a replaced database may be left
        });
}

void SnapshotStore::prepare(const InstanceConfig& c, const std::string& snapshot) {
    enqueue(
        c, [c, snapshot](PGconn* conn) { return prepare_restore_steps(conn, c, snapshot); },
        [name = c.name, snapshot](const std::optional<DomainError>& e, PgRows) {
            if (e)
                log_warning(fmt::format("Failed to make the ready copy of snapshot {}: {}", snapshot, e->what()), name);
        });
}

void SnapshotStore::replaced(const InstanceConfig& c) {
    drops_due_.insert_or_assign(c.name, c);
    if (++replaced_count_[c.name] >= kMaxReplaced)
        drop_replaced(c);
}

void SnapshotStore::drop_replaced(const InstanceConfig& c) {
    drops_due_.erase(c.name);
    replaced_count_.erase(c.name);
    enqueue(
        c, [](PGconn*) { return std::vector<SqlStep>{statement(replaced_databases_sql())}; },
        [this, c](const std::optional<DomainError>& e, PgRows rows) {
            if (e)
                return log_warning(fmt::format("Failed to look for replaced databases: {}", e->what()), c.name);
            if (rows.empty())
                return;
            std::vector<std::string> drops;
            for (const auto& row : rows)
                drops.push_back(row.at(0));
            // Queued behind whatever came meanwhile: a Restore asked for now goes first.
            drop_databases(c, std::move(drops), "a database a Restore replaced");
        });
}

void SnapshotStore::drop_databases(const InstanceConfig& c, std::vector<std::string> drops, const char* what) {
    enqueue(
        c,
        [drops](PGconn* conn) {
            std::vector<SqlStep> steps;
            for (const auto& d : drops)
                steps.push_back(statement(drop_database_sql(conn, d)));
            return steps;
        },
        [name = c.name, what](const std::optional<DomainError>& e, PgRows) {
            if (e)
                log_warning(fmt::format("Failed to drop {}: {}", what, e->what()), name);
        });
}

void SnapshotStore::sweep_leftovers(const InstanceConfig& c) {
    if (c.image != ImageKind::Host)
        return;
    enqueue(
        c, [](PGconn*) { return std::vector<SqlStep>{statement(leftovers_sql())}; },
        [this, c](const std::optional<DomainError>& e, PgRows rows) {
            if (e)
                return log_warning(fmt::format("Failed to look for leftovers of snapshot operations: {}", e->what()),
                                   c.name);
            std::vector<std::string> drops, readies;
            for (const auto& row : rows) {
                if (row.size() == 2)
                    (row[0] == "ready" ? readies : drops).push_back(row[1]);
            }
            // Drops first: a stray ready copy goes before its snapshot gets a new one.
            if (!drops.empty()) {
                log_info(fmt::format("Dropping {} database(s) left by interrupted snapshot operations.", drops.size()),
                         c.name);
                drop_databases(c, std::move(drops), "a leftover of a snapshot operation");
            }
            for (const auto& snapshot : readies)
                prepare(c, snapshot);
        });
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
        c, [](PGconn*) { return std::vector<SqlStep>{statement(list_snapshots_sql())}; },
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
