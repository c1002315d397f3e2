#include "base/user_credentials.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vigil {

user_lookup look_up_user(const std::string& name) {
    user_lookup out;
    out.name = name;
    long size_hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size_hint > 0 ? static_cast<std::size_t>(size_hint) : 1024);
    passwd entry{};
    passwd* found = nullptr;
    int error = 0;
    while ((error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
               ERANGE &&
           buffer.size() < (1U << 20)) {
        buffer.resize(buffer.size() * 2);
    }
    if (error != 0) {
        out.error = "cannot look up user \"" + name + "\": " + std::strerror(error);
        return out;
    }
    if (found == nullptr) {
        out.error = "unknown user \"" + name + "\"";
        return out;
    }
    user_credentials credentials;
    credentials.name = name;
    credentials.uid = entry.pw_uid;
    credentials.gid = entry.pw_gid;
    int count = 16;
    for (;;) {
        credentials.groups.resize(static_cast<std::size_t>(count));
        int wanted = count;
        if (::getgrouplist(entry.pw_name, entry.pw_gid, credentials.groups.data(), &wanted) >= 0) {
            credentials.groups.resize(static_cast<std::size_t>(wanted));
            break;
        }
        if (wanted <= count) {
            out.error = "cannot list the groups of user \"" + name + "\"";
            return out;
        }
        count = wanted;
    }
    out.credentials = std::move(credentials);
    return out;
}

}  // namespace vigil
