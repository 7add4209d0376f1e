// The names of the org.pgnspawn1 API on the bus, in one place for the daemon, the client,
// the benchmark and the fuzzer. The interfaces themselves are defined by the XML beside it.
#pragma once

#include <string_view>

namespace pgnspawn::bus {

inline constexpr const char* kBusName = "org.pgnspawn1";
inline constexpr const char* kManagerPath = "/org/pgnspawn1";
/// An instance's object is this prefix, '/', and its name escaped as sd_bus_path_encode() does.
inline constexpr const char* kInstancePathPrefix = "/org/pgnspawn1/instance";
inline constexpr const char* kManagerInterface = "org.pgnspawn1.Manager";
inline constexpr const char* kInstanceInterface = "org.pgnspawn1.Instance";
/// Every error of the API's own is this prefix followed by a name (NoSuchInstance, ...).
inline constexpr std::string_view kErrorPrefix = "org.pgnspawn1.Error.";

}  // namespace pgnspawn::bus
