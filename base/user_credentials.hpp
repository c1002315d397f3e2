#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace vigil {

// Who a child runs as, taken from the user and group databases ahead of time. Those lookups go
// through NSS, which may ask LDAP or SSSD and block for seconds, so they belong where the config
// is read, never where a child is started on the event loop.
struct user_credentials {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;              // the primary group
    std::vector<gid_t> groups;  // primary and supplementary, as getgrouplist() lists them
    friend bool operator==(const user_credentials&, const user_credentials&) = default;
};

// The outcome of looking a user up once: the credentials, or why there are none. It is a value
// rather than an error path so that a config naming a missing user still loads and every run of
// that program fails with this message, instead of silently running as vigil's own user.
struct user_lookup {
    std::string name;
    std::optional<user_credentials> credentials;
    // Set when credentials is empty: "unknown user \"x\"", "cannot look up user \"x\": ...".
    std::string error;

    bool found() const { return credentials.has_value(); }
    friend bool operator==(const user_lookup&, const user_lookup&) = default;
};

// Blocks on NSS: call it when a config is loaded, not per run.
user_lookup look_up_user(const std::string& name);
// The same with `group` as the primary group instead of the user's own (keepalived's
// "script user group"): the supplementary groups are then those getgrouplist() gives for that
// group, as initgroups() would set them.
user_lookup look_up_user(const std::string& name, const std::string& group);

}  // namespace vigil
