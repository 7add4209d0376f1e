#include "manager.hpp"

#include "errors.hpp"
#include "names.hpp"

#include <fmt/format.h>

namespace pgnspawn {

Manager::Manager(Config config, Backend& backend) : config_(std::move(config)) {
    for (const auto& c : config_.instances)
        instances_.push_back(std::make_unique<Instance>(c, backend));
}

Instance& Manager::lookup(std::string_view name) {
    if (auto problem = instance_name_problem(name))
        throw DomainError(error_name::InvalidArgs, *problem);
    for (auto& i : instances_)
        if (i->name() == name)
            return *i;
    throw DomainError(error_name::NoSuchInstance,
                      fmt::format("no instance named {} is configured in {}", quote_untrusted(name),
                                  config_.source.string()));
}

void Manager::adopt_running() {
    for (auto& i : instances_)
        i->adopt();
}

}  // namespace pgnspawn
