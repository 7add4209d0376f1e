// Where D-Bus handlers meet the domain: every failure becomes a named sdbus::Error,
// because sdbus-c++ 1.2.0 aborts the process on any other exception escaping a handler.
#pragma once

#include "core/errors.hpp"
#include "platform/log.hpp"

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>

#include <exception>
#include <utility>

namespace pgnspawn {

/// Runs a handler body and turns every failure into a named sdbus::Error.
template <typename F>
auto at_boundary(F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const sdbus::Error&) {
        throw;
    } catch (const DomainError& e) {
        throw sdbus::Error(e.name(), e.what());
    } catch (const std::exception& e) {
        log_error(fmt::format("Internal error in a D-Bus handler: {}", e.what()));
        throw sdbus::Error(error_name::Failed, fmt::format("internal error: {}", e.what()));
    }
}

/// Async handlers: the same translation, delivered through the pending reply.
template <typename Result, typename F>
void at_boundary_async(Result& result, F&& body) {
    try {
        at_boundary(std::forward<F>(body));
    } catch (const sdbus::Error& e) {
        result.returnError(e);
    }
}

}  // namespace pgnspawn
