// The client's argument tests: parse a command line, or get the usage error it causes.
#pragma once

#include "client/args.hpp"
#include "client/errors.hpp"

#include <initializer_list>
#include <string>
#include <vector>

namespace pgnspawn::client {

inline Invocation parse(std::initializer_list<const char*> words) {
    const std::vector<const char*> args(words);
    return parse_arguments(args);
}

/// Parses and resolves; returns the UsageError's message, or "" when the line is accepted.
inline std::string usage_error(std::initializer_list<const char*> words) {
    try {
        resolve_command(parse(words));
        return "";
    } catch (const UsageError& error) {
        return error.what();
    }
}

}  // namespace pgnspawn::client
