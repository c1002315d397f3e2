#pragma once

#include <set>
#include <vector>

#include "ipvs/model.hpp"
#include "ipvs/operation.hpp"

namespace vigil::ipvs {

// The operations that turn `actual` into `desired`, touching only services vigil owns: those in
// `desired` and those in `owned` (services it created earlier, e.g. listed in its state file).
// Any other service in `actual` is someone else's and is never named by an operation.
//
// Order: owned services that are no longer wanted are deleted first (freeing their keys), then
// per service: add or edit it, delete stale destinations, edit changed ones, add missing ones.
// A destination the kernel already has with the same settings costs nothing.
std::vector<operation> diff(const table& desired, const table& actual,
                            const std::set<service_key>& owned);

}  // namespace vigil::ipvs
