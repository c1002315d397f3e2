#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/child_process.hpp"

namespace vigil {

// Everything a child needs, computed in the parent before fork(): between fork() and exec() only
// async-signal-safe calls are allowed, so no allocation, no NSS lookups, no locks. The pointer
// vectors point into the storage vectors, so a plan is neither copied nor moved once made.
struct child_plan {
    child_plan() = default;
    child_plan(const child_plan&) = delete;
    child_plan& operator=(const child_plan&) = delete;

    std::vector<std::string> argv_storage;
    std::vector<char*> argv;
    std::vector<std::string> environment_storage;
    std::vector<char*> environment;
    std::vector<std::string> candidate_storage;  // where execvp would look for argv[0], in order
    std::vector<const char*> candidates;
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    unsigned descriptor_limit = 1024;  // only for kernels without close_range()
};

// Fills `plan` from `spec`. Returns an empty string on success, else why the spec cannot be run
// ("empty command", "unknown user \"x\""). Never touches NSS: spec.run_as was looked up beforehand.
std::string make_child_plan(const child_spec& spec, child_plan& plan);

// The user a spec asks for, for messages; empty when none.
std::string requested_user(const child_spec& spec);

}  // namespace vigil
