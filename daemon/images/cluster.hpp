// Database clusters of the host image: initdb run as postgres (ClusterInit), and the pool
// of spare clusters made ahead of time so that a first start need not wait for initdb.
#pragma once

#include "core/config.hpp"
#include "core/when_quiet.hpp"
#include "platform/event_loop.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace pgnspawn {

/// The host's postgres account, which owns every cluster.
struct PostgresAccount {
    uid_t uid;
    gid_t gid;
};
/// Throws a sentence when the host has no postgres user.
PostgresAccount postgres_account();

/// initdb as `account` into `tmp`, pgnspawn's authentication files, then a rename to
/// `final_dir`: only a complete cluster ever appears under its final name. initdb's output
/// goes to `log`; done(error) runs once on the loop (never from the constructor).
class ClusterInit {
public:
    using Done = std::function<void(const std::string& error)>;

    ClusterInit(EventLoop& loop, const std::filesystem::path& bindir, std::filesystem::path tmp,
                std::filesystem::path final_dir, std::filesystem::path log, PostgresAccount account, Done done,
                std::string instance = {});

private:
    void on_exit(const siginfo_t& si);

    std::filesystem::path tmp_, final_, log_;
    PostgresAccount account_;
    Done done_;
    EventSource child_, defer_;
};

/// Spare clusters, one per PostgreSQL version (STATE_ROOT/.spare-VERSION, as pg_tmp keeps
/// one). A first start takes one with a rename; a new one is made in the background once
/// starts have been quiet for a while, so that initdb never competes with them.
class SparePool {
public:
    /// busy() tells whether a start is in progress (a spare then waits for it to end).
    SparePool(EventLoop& loop, std::chrono::milliseconds delay, std::function<bool()> busy);
    ~SparePool();

    /// Renames the spare cluster of c's version to `data`; false when there is none.
    bool take(const InstanceConfig& c, const std::filesystem::path& data);
    /// After a start: a spare of c's version is wanted unless there is one already; it is
    /// made once no start has finished for `delay` and none is in progress.
    void want(const InstanceConfig& c);

private:
    void make(const InstanceConfig& c);

    EventLoop& loop_;
    WhenQuiet wanted_;                                          ///< the spares to make, by PostgreSQL version
    std::map<std::string, std::unique_ptr<ClusterInit>> jobs_;  ///< by PostgreSQL version
    Lifetime lifetime_;
};

}  // namespace pgnspawn
