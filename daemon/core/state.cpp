#include "core/state.hpp"

namespace pgnspawn {

std::string_view to_string(State s) {
    switch (s) {
        case State::Stopped:
            return "stopped";
        case State::Starting:
            return "starting";
        case State::Running:
            return "running";
        case State::Stopping:
            return "stopping";
        case State::Failed:
            return "failed";
    }
    return "unknown";
}

bool is_legal_transition(State from, State to) {
    switch (from) {
        case State::Stopped:
        case State::Failed:
            // A stopped or failed instance is started, or (failed only) cleaned up by a stop.
            return to == State::Starting || (from == State::Failed && to == State::Stopping) ||
                   (from == State::Stopped && to == State::Running);  // adopted at daemon start-up
        case State::Starting:
            return to == State::Running || to == State::Failed;
        case State::Running:
            return to == State::Stopping || to == State::Failed;
        case State::Stopping:
            return to == State::Stopped || to == State::Failed;
    }
    return false;
}

}  // namespace pgnspawn
