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

// diff() for one service, appended to `out`: `want` / `have` are its entry in the desired and the
// actual table (null: absent). Without `want` it is deleted only when `owned`.
void diff_service(const service_entry* want, const service_entry* have, bool owned,
                  std::vector<operation>& out);

// diff() for one destination of a service both tables hold (null: absent on that side): the one
// add, edit or delete that makes them equal, appended to `out`, or nothing.
void diff_destination(const service& svc, const destination* want, const destination* have,
                      std::vector<operation>& out);

}  // namespace vigil::ipvs
