// A libpq connection object that never reached a server (its socket directory does not
// exist): enough for libpq's quoting and password hashing, which need only its encoding.
#pragma once

#include <libpq-fe.h>

namespace pgnspawn::test {

class Unconnected {
public:
    Unconnected() : conn_(PQconnectStart("host=/nonexistent/pgnspawn-test dbname=x connect_timeout=1")) {}
    ~Unconnected() { PQfinish(conn_); }
    Unconnected(const Unconnected&) = delete;
    Unconnected& operator=(const Unconnected&) = delete;
    PGconn* get() const { return conn_; }

private:
    PGconn* conn_;
};

}  // namespace pgnspawn::test
