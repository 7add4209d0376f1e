// The set of configured instances. Looking an instance up is where untrusted names are
// checked: invalid names and unknown names fail with distinct, named errors.
#pragma once

#include "backend.hpp"
#include "config.hpp"
#include "instance.hpp"

#include <memory>
#include <string_view>
#include <vector>

namespace pgnspawn {

class Manager {
public:
    Manager(Config config, Backend& backend);

    /// Throws DomainError: InvalidArgs for a malformed name, NoSuchInstance for an unknown one.
    Instance& lookup(std::string_view name);
    const std::vector<std::unique_ptr<Instance>>& instances() const { return instances_; }
    /// Takes over containers that survived a restart of the daemon.
    void adopt_running();

private:
    Config config_;
    std::vector<std::unique_ptr<Instance>> instances_;
};

}  // namespace pgnspawn
