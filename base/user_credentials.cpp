#include "base/user_credentials.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vigil {
namespace {

// getpwnam_r() and getgrnam_r() want a buffer whose size only a retry on ERANGE finds out.
template <typename Entry, typename Lookup>
int look_up_entry(Lookup lookup, const std::string& name, Entry& entry, std::vector<char>& buffer,
                  Entry*& found) {
    int error = 0;
    while ((error = lookup(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE &&
           buffer.size() < (1U << 20)) {
        buffer.resize(buffer.size() * 2);
    }
    return error;
}

std::optional<gid_t> look_up_group(const std::string& group, std::string& error_out) {
    long size_hint = ::sysconf(_SC_GETGR_R_SIZE_MAX);
    std::vector<char> buffer(size_hint > 0 ? static_cast<std::size_t>(size_hint) : 1024);
    ::group entry{};
    ::group* found = nullptr;
    int error = look_up_entry(::getgrnam_r, group, entry, buffer, found);
    if (error != 0) {
        error_out = "cannot look up group \"" + group + "\": " + std::strerror(error);
        return std::nullopt;
    }
    if (found == nullptr) {
        error_out = "unknown group \"" + group + "\"";
        return std::nullopt;
    }
    return entry.gr_gid;
}

user_lookup look_up(const std::string& name, const std::string* group) {
    user_lookup out;
    out.name = name;
    long size_hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size_hint > 0 ? static_cast<std::size_t>(size_hint) : 1024);
    passwd entry{};
    passwd* found = nullptr;
    int error = look_up_entry(::getpwnam_r, name, entry, buffer, found);
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
    if (group) {
        auto gid = look_up_group(*group, out.error);
        if (!gid) {
            return out;
        }
        credentials.gid = *gid;
    }
    int count = 16;
    for (;;) {
        credentials.groups.resize(static_cast<std::size_t>(count));
        int wanted = count;
        if (::getgrouplist(entry.pw_name, credentials.gid, credentials.groups.data(), &wanted) >=
            0) {
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

}  // namespace

user_lookup look_up_user(const std::string& name) {
    return look_up(name, nullptr);
}

user_lookup look_up_user(const std::string& name, const std::string& group) {
    return look_up(name, &group);
}

}  // namespace vigil
