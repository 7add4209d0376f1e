#include "platform/pg.hpp"

#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace pgnspawn {

/// One connect, handed to a worker: the worker owns nothing of the PgConnection; it sets
/// `result` and writes to `efd`, which the loop watches. A job the loop has given up on
/// (timed out, or its PgConnection gone) is `abandoned`: a worker skips it, and the
/// connection it made anyway is closed with the job.
struct PgConnection::ConnectJob {
    PgParams params;
    std::atomic<bool> abandoned{false};
    std::atomic<PGconn*> result{nullptr};
    int efd = -1;

    ConnectJob() = default;
    ConnectJob(const ConnectJob&) = delete;
    ConnectJob& operator=(const ConnectJob&) = delete;
    ~ConnectJob() {
        if (PGconn* c = result.exchange(nullptr))
            PQfinish(c);
        if (efd >= 0)
            close(efd);
    }
};

namespace {

/// At most kMaxWorkers threads connect at a time, taking jobs in order; a worker ends as
/// soon as there is nothing queued, so an idle daemon has no thread of its own beyond the
/// loop. Never destroyed: a worker may outlive everything else at exit. A worker mostly
/// waits (for the server to fork a backend and answer), so instances that become ready
/// together are connected to together: with 2 workers, ten warm Starts at once queued
/// their readiness round trips behind each other (bench/trace.sh).
class ConnectWorkers {
public:
    static ConnectWorkers& instance() {
        static auto* workers = new ConnectWorkers;
        return *workers;
    }

    void submit(std::shared_ptr<PgConnection::ConnectJob> job) {
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(job));
            if (running_ >= kMaxWorkers)
                return;
            ++running_;
        }
        try {
            std::thread([this] { work(); }).detach();
        } catch (const std::system_error&) {
            std::lock_guard lock(mutex_);
            --running_;
            if (running_ == 0) {
                // No thread to be had: connect here, blocking, rather than never.
                auto queued = std::move(queue_);
                queue_.clear();
                for (auto& j : queued)
                    run(*j);
            }
        }
    }

private:
    static constexpr int kMaxWorkers = 16;

    void work() {
        for (;;) {
            std::shared_ptr<PgConnection::ConnectJob> job;
            {
                std::lock_guard lock(mutex_);
                if (queue_.empty()) {
                    --running_;
                    return;
                }
                job = std::move(queue_.front());
                queue_.pop_front();
            }
            run(*job);
        }
    }

    static void run(PgConnection::ConnectJob& job) {
        if (!job.abandoned.load()) {
            std::vector<const char*> keys, values;
            for (const auto& [k, v] : job.params) {
                keys.push_back(k.c_str());
                values.push_back(v.c_str());
            }
            keys.push_back(nullptr);
            values.push_back(nullptr);
            job.result.store(PQconnectdbParams(keys.data(), values.data(), 0));
        }
        const uint64_t one = 1;
        [[maybe_unused]] auto written = write(job.efd, &one, sizeof one);
    }

    std::mutex mutex_;
    std::deque<std::shared_ptr<PgConnection::ConnectJob>> queue_;
    int running_ = 0;
};

}  // namespace

PgConnection::PgConnection(EventLoop& loop, std::chrono::milliseconds timeout) : loop_(loop), timeout_(timeout) {}

PgConnection::~PgConnection() {
    drop_connect_job();
    io_.reset();
    timer_.reset();
    if (conn_)
        PQfinish(conn_);
}

std::string tidy_pg_message(std::string message) {
    for (auto& c : message)
        if (c == '\n' || c == '\t')
            c = ' ';
    while (!message.empty() && message.back() == ' ')
        message.pop_back();
    std::string out;
    for (char c : message)
        if (!(c == ' ' && (out.empty() || out.back() == ' ')))
            out += c;
    return out;
}

std::string PgConnection::last_error() const {
    return conn_ ? tidy_pg_message(PQerrorMessage(conn_)) : std::string("out of memory");
}

void PgConnection::arm_timeout(const char* what) {
    timer_ = loop_.add_timer(timeout_,
                             [this, what] { fail(fmt::format("{} timed out after {} ms", what, timeout_.count())); });
}

void PgConnection::wait_for(uint32_t events) {
    const int fd = PQsocket(conn_);
    if (fd < 0) {
        fail("lost the connection's socket");
        return;
    }
    if (io_) {
        sd_event_source_set_io_fd(io_.get(), fd);
        sd_event_source_set_io_events(io_.get(), events);
        sd_event_source_set_enabled(io_.get(), SD_EVENT_ON);
        return;
    }
    io_ = loop_.add_io(fd, events, [this](uint32_t) { query_step(); });
}

void PgConnection::drop_connect_job() {
    if (job_)
        job_->abandoned = true;
    job_io_.reset();
    job_.reset();
}

void PgConnection::fail(const std::string& error) {
    drop_connect_job();
    io_.reset();
    timer_.reset();
    if (connect_done_) {
        auto done = std::move(connect_done_);
        connect_done_ = nullptr;
        done(error);  // may destroy this
    } else if (query_done_) {
        auto done = std::move(query_done_);
        query_done_ = nullptr;
        done(error, {});  // may destroy this
    }
}

void PgConnection::connect(const PgParams& params, ConnectDone done) {
    connect_done_ = std::move(done);
    auto job = std::make_shared<ConnectJob>();
    job->params = params;
    // The worker cannot be interrupted: libpq's own limit ends a connect that hangs,
    // a little after the loop has given up on it.
    bool has_limit = false;
    for (const auto& [k, v] : params)
        has_limit = has_limit || k == "connect_timeout";
    if (!has_limit)
        job->params.emplace_back("connect_timeout",
                                 std::to_string(std::max<long long>(2, timeout_.count() / 1000 + 1)));
    job->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (job->efd < 0)
        return fail(fmt::format("cannot create an eventfd: {}", std::strerror(errno)));
    job_ = job;
    job_io_ = loop_.add_io(job->efd, EPOLLIN, [this](uint32_t) { connected(); });
    arm_timeout("connecting to PostgreSQL");
    ConnectWorkers::instance().submit(std::move(job));
}

void PgConnection::connected() {
    conn_ = job_->result.exchange(nullptr);
    job_io_.reset();
    job_.reset();
    timer_.reset();
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK)
        return fail(last_error());
    PQsetnonblocking(conn_, 1);
    auto done = std::move(connect_done_);
    connect_done_ = nullptr;
    done("");  // may destroy this
}

void PgConnection::round_trip(const PgParams& params, RoundTripDone done) {
    connect(params, [this, done](const std::string& error) {
        if (!error.empty())
            return done(error, Stage::Connect);
        query("SELECT 1", [done](const std::string& error2, PgRows rows) {
            if (!error2.empty())
                return done(error2, Stage::Query);
            if (rows.size() != 1 || rows[0].size() != 1 || rows[0][0] != "1")
                return done("it returned an unexpected result", Stage::Query);
            done("", Stage::Query);
        });
    });
}

void PgConnection::query(const std::string& sql, QueryDone done) {
    query_done_ = std::move(done);
    query_error_.clear();
    rows_.clear();
    if (!PQsendQuery(conn_, sql.c_str())) {
        fail(last_error());
        return;
    }
    arm_timeout("the query");
    query_step();
}

void PgConnection::query_step() {
    const int flushed = PQflush(conn_);
    if (flushed < 0) {
        fail(last_error());
        return;
    }
    if (!PQconsumeInput(conn_)) {
        fail(last_error());
        return;
    }
    while (!PQisBusy(conn_)) {
        PGresult* res = PQgetResult(conn_);
        if (!res) {
            io_.reset();
            timer_.reset();
            auto done = std::move(query_done_);
            query_done_ = nullptr;
            done(query_error_, std::move(rows_));  // may destroy this
            return;
        }
        const auto status = PQresultStatus(res);
        if (status == PGRES_TUPLES_OK) {
            rows_.clear();
            for (int r = 0; r < PQntuples(res); ++r) {
                std::vector<std::string> row;
                for (int c = 0; c < PQnfields(res); ++c)
                    row.emplace_back(PQgetvalue(res, r, c));
                rows_.push_back(std::move(row));
            }
        } else if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY && query_error_.empty()) {
            query_error_ = tidy_pg_message(PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    wait_for(flushed == 1 ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
}

}  // namespace pgnspawn
