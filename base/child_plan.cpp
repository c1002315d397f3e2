#include "base/child_plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <string_view>

#include "base/user_credentials.hpp"

namespace vigil {

namespace {

constexpr const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Returns an empty string on success, else why the user cannot be used.
std::string take_credentials(const user_lookup& lookup, child_plan& plan) {
    if (!lookup.found()) {
        return lookup.error.empty() ? "unknown user \"" + lookup.name + "\"" : lookup.error;
    }
    const auto& credentials = *lookup.credentials;
    plan.uid = credentials.uid;
    plan.gid = credentials.gid;
    if (::geteuid() != 0 && plan.uid == ::geteuid()) {
        // Already that user; setgroups() would fail without privileges for nothing.
        return {};
    }
    plan.groups = credentials.groups;
    plan.switch_user = true;
    return {};
}

// The environment the child gets: the minimal base, then the spec's entries in order, a later one
// replacing an earlier one of the same name. Returns an empty string on success.
std::string build_environment(const child_spec& spec,
                              std::vector<std::pair<std::string, std::string>>& variables) {
    variables = {{"PATH", default_path}};
    for (const auto& [name, value] : spec.environment) {
        if (name.empty() || name.find('=') != std::string::npos) {
            return "invalid environment variable name \"" + name + "\"";
        }
        auto same = std::find_if(variables.begin(), variables.end(),
                                 [&key = name](const auto& v) { return v.first == key; });
        if (same != variables.end()) {
            same->second = value;
        } else {
            variables.emplace_back(name, value);
        }
    }
    return {};
}

// execvp() would search the parent's PATH; the child's own PATH is the one that must apply.
void add_candidates(const std::string& program, std::string_view path, child_plan& plan) {
    if (program.find('/') != std::string::npos) {
        plan.candidate_storage.push_back(program);
    } else {
        for (;;) {
            auto colon = path.find(':');
            auto dir = path.substr(0, colon);
            // An empty PATH element means the working directory, as execvp() has it.
            plan.candidate_storage.push_back(dir.empty() ? program
                                                         : std::string(dir) + "/" + program);
            if (colon == std::string_view::npos) {
                break;
            }
            path.remove_prefix(colon + 1);
        }
    }
    for (const auto& candidate : plan.candidate_storage) {
        plan.candidates.push_back(candidate.c_str());
    }
}

}  // namespace

std::string requested_user(const child_spec& spec) {
    return spec.run_as ? spec.run_as->name : std::string();
}

std::string make_child_plan(const child_spec& spec, child_plan& plan) {
    if (spec.argv.empty() || spec.argv.front().empty()) {
        return "empty command";
    }
    plan.argv_storage = spec.argv;
    for (auto& arg : plan.argv_storage) {
        plan.argv.push_back(arg.data());
    }
    plan.argv.push_back(nullptr);

    std::vector<std::pair<std::string, std::string>> variables;
    if (auto why = build_environment(spec, variables); !why.empty()) {
        return why;
    }
    for (const auto& [name, value] : variables) {
        plan.environment_storage.push_back(name + "=" + value);
    }
    for (auto& entry : plan.environment_storage) {
        plan.environment.push_back(entry.data());
    }
    plan.environment.push_back(nullptr);

    long open_max = ::sysconf(_SC_OPEN_MAX);
    if (open_max > 0) {
        plan.descriptor_limit = static_cast<unsigned>(std::min(open_max, 1L << 20));
    }

    add_candidates(spec.argv.front(), variables.front().second, plan);

    if (spec.run_as) {
        return take_credentials(*spec.run_as, plan);
    }
    return {};
}

}  // namespace vigil
