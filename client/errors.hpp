// How pgnspawnctl ends: its exit statuses, and the two ways a command fails.
#pragma once

#include <stdexcept>

namespace pgnspawn::client {

enum ExitCode : int { kOk = 0, kFailed = 1, kUsage = 2, kUnhealthy = 3, kTimedOut = 4 };

/// A wrong command line; main prints it with the usage and exits 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A failed operation, already phrased as one sentence; main prints it and exits 1.
class CommandFailed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace pgnspawn::client
