// The lifecycle states an instance can be in, and which moves between them are legal.
#pragma once

#include <string_view>

namespace pgnspawn {

enum class State { Stopped, Starting, Running, Stopping, Failed };

std::string_view to_string(State s);

/// Whether the lifecycle may move from one state to another. Moves to the same state are
/// not transitions and are never legal here.
bool is_legal_transition(State from, State to);

}  // namespace pgnspawn
