// libpq on the event loop, each step bounded by a timeout. Queries are non-blocking
// (PQsendQuery, driven by socket readiness). Connecting runs on a short-lived worker
// thread instead: libpq computes the SCRAM proof (PBKDF2, 4096 rounds, about 11 ms)
// inside the connect, which on the loop would stall every other caller for that long.
// The worker only connects; the connection is then the loop's, and every callback
// still runs on the loop.
#pragma once

#include "platform/event_loop.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pgnspawn {

using PgParams = std::vector<std::pair<std::string, std::string>>;
using PgRows = std::vector<std::vector<std::string>>;

class PgConnection {
public:
    /// error is empty on success.
    using ConnectDone = std::function<void(const std::string& error)>;
    /// rows are those of the last result of the (possibly multi-statement) query.
    using QueryDone = std::function<void(const std::string& error, PgRows rows)>;

    PgConnection(EventLoop& loop, std::chrono::milliseconds timeout);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    /// Where a round trip failed.
    enum class Stage { Connect, Query };
    /// error is empty on success; stage says where it failed otherwise.
    using RoundTripDone = std::function<void(const std::string& error, Stage stage)>;

    /// The callback may destroy this object.
    void connect(const PgParams& params, ConnectDone done);
    void query(const std::string& sql, QueryDone done);
    /// What a client of the instance would do: connect, run SELECT 1, check that it
    /// returned 1. The callback may destroy this object.
    void round_trip(const PgParams& params, RoundTripDone done);

    PGconn* raw() const { return conn_; }

    struct ConnectJob;  ///< shared with the worker thread

private:
    void connected();
    void drop_connect_job();
    void query_step();
    /// Runs query_step() once the socket is ready for `events`.
    void wait_for(uint32_t events);
    void arm_timeout(const char* what);
    void fail(const std::string& error);
    std::string last_error() const;

    EventLoop& loop_;
    std::chrono::milliseconds timeout_;
    PGconn* conn_ = nullptr;
    std::shared_ptr<ConnectJob> job_;
    EventSource job_io_;
    EventSource io_;
    EventSource timer_;
    ConnectDone connect_done_;
    QueryDone query_done_;
    std::string query_error_;
    PgRows rows_;
};

/// Turns a libpq message ("FATAL:  password authentication failed...\n") into one line.
std::string tidy_pg_message(std::string message);

}  // namespace pgnspawn
