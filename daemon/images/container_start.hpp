// One start of one container: the sequence every image kind shares. An image kind
// describes its container once (ContainerDescription); start_container runs it, in this
// order, each step only once the one before it has succeeded:
//
//   1. prepare       (the image kind's) what must exist first: a state directory, a cluster
//   2. leftovers     a unit or machine of the instance's name left from before is cleared
//   3. precondition  (the image kind's) checked right before the unit starts: a free port
//   4. unit          the transient unit started; once more after a stale unit of its name
//                    has gone (at most three times)
//   5. ready         (the image kind's) what proves the container ready once the unit's
//                    start job is done: a round trip as the configured user
//   6. done("")
//
// Throughout: one timer bounds the whole start, phases are reported ("creating",
// "starting", and the image kind's own), a unit that goes down before it is ready ends the
// start, and on any failure once the unit exists the container's last log lines are in
// the error and the unit is stopped, so nothing is left running. Steps never call back
// into the sequence: each ends by calling the `done` it was given, once.
#pragma once

#include "images/container_backend.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pgnspawn {

/// Reports the phase a start has reached; ignored once the start is over.
using PhaseReport = std::function<void(const char* phase)>;
/// A step that may take time: done("") to go on, done(error) to end the start.
using Step = std::function<void(const PhaseReport& phase, Backend::Done done)>;

/// How an image kind's container is run and when it counts as started.
struct ContainerDescription {
    std::vector<std::string> argv;                   ///< systemd-nspawn's command line
    std::vector<std::string> environment;            ///< of the unit's processes
    std::vector<std::string> denied_syscalls;        ///< see TransientService
    std::vector<std::string> syscall_architectures;  ///< see TransientService

    Step prepare;                               ///< empty: nothing to prepare
    std::function<std::string()> precondition;  ///< an error ends the start; empty: none
    Step ready;                                 ///< empty: ready once the unit's start job is done
    /// Why the start took too long (asked when start_timeout has passed).
    std::function<std::string()> timeout_message;
};

/// The transient unit that runs a described container of this instance.
TransientService transient_service(const InstanceConfig& c, const ContainerDescription& d, uint64_t stop_timeout_usec);

/// Runs the sequence above; done(error) runs once. The start keeps itself alive in the
/// backend (ContainerBackend::starting()) until it has finished.
void start_container(ContainerBackend& backend, const InstanceConfig& config, ContainerDescription description,
                     Backend::Done done, Backend::Progress progress);

}  // namespace pgnspawn
