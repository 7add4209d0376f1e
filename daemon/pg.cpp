#include "pg.hpp"

#include <fmt/format.h>

namespace pgnspawn {

PgConnection::PgConnection(EventLoop& loop, std::chrono::milliseconds timeout) : loop_(loop), timeout_(timeout) {}

PgConnection::~PgConnection() {
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
    timer_ = loop_.add_timer(timeout_, [this, what] {
        fail(fmt::format("{} timed out after {} ms", what, timeout_.count()));
    });
}

void PgConnection::wait_for(uint32_t events, void (PgConnection::*step)()) {
    const int fd = PQsocket(conn_);
    if (fd < 0) {
        fail("lost the connection's socket");
        return;
    }
    if (io_) {
        sd_event_source_set_io_fd(io_.get(), fd);
        sd_event_source_set_io_events(io_.get(), events);
        sd_event_source_set_enabled(io_.get(), SD_EVENT_ON);
        step_ = step;
        return;
    }
    step_ = step;
    io_ = loop_.add_io(fd, events, [this](uint32_t) { (this->*step_)(); });
}

void PgConnection::fail(const std::string& error) {
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
    std::vector<const char*> keys, values;
    for (const auto& [k, v] : params) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectStartParams(keys.data(), values.data(), 0);
    if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) {
        fail(last_error());
        return;
    }
    arm_timeout("connecting to PostgreSQL");
    wait_for(EPOLLOUT, &PgConnection::connect_step);
}

void PgConnection::connect_step() {
    switch (PQconnectPoll(conn_)) {
    case PGRES_POLLING_READING:
        wait_for(EPOLLIN, &PgConnection::connect_step);
        return;
    case PGRES_POLLING_WRITING:
        wait_for(EPOLLOUT, &PgConnection::connect_step);
        return;
    case PGRES_POLLING_OK: {
        io_.reset();
        timer_.reset();
        PQsetnonblocking(conn_, 1);
        auto done = std::move(connect_done_);
        connect_done_ = nullptr;
        done("");  // may destroy this
        return;
    }
    case PGRES_POLLING_FAILED:
    default:
        fail(last_error());
        return;
    }
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
    wait_for(flushed == 1 ? (EPOLLIN | EPOLLOUT) : EPOLLIN, &PgConnection::query_step);
}

}  // namespace pgnspawn
