#include "config/file_source.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vigil::config {
namespace {

file_text failed(std::string why) {
    return {std::nullopt, std::move(why)};
}

const std::string too_large = "is larger than the 16 MiB a config file may have";

// What a path is when it is not a regular file, for the diagnostic.
std::string not_regular(mode_t mode) {
    if (S_ISDIR(mode)) {
        return "is a directory";
    }
    const char* kind = S_ISFIFO(mode)   ? "a named pipe"
                       : S_ISCHR(mode)  ? "a character device"
                       : S_ISBLK(mode)  ? "a block device"
                       : S_ISSOCK(mode) ? "a socket"
                                        : "not a file";
    return std::string("is not a regular file (") + kind + ")";
}

class file_descriptor {
  public:
    explicit file_descriptor(int fd) : fd_(fd) {}
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

}  // namespace

file_text filesystem_source::read(const std::string& path) const {
    // O_NONBLOCK: opening a named pipe must not wait for a writer; fstat then refuses it.
    file_descriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
        return failed(std::strerror(errno));
    }
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) {
        return failed(std::strerror(errno));
    }
    if (!S_ISREG(status.st_mode)) {
        return failed(not_regular(status.st_mode));
    }
    if (static_cast<std::size_t>(status.st_size) > max_config_file_size) {
        return failed(too_large);
    }
    // The size is only a hint (files in /proc say 0, a file may grow while read): read up to one
    // byte past the cap to know whether it was exceeded.
    std::string text;
    char buffer[64 * 1024];
    while (text.size() <= max_config_file_size) {
        auto want = std::min(sizeof buffer, max_config_file_size + 1 - text.size());
        auto got = ::read(fd.get(), buffer, want);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return failed(std::strerror(errno));
        }
        if (got == 0) {
            return {std::move(text), {}};
        }
        text.append(buffer, static_cast<std::size_t>(got));
    }
    return failed(too_large);
}

glob_matches filesystem_source::glob(const std::string& pattern) const {
    glob_t found{};
    errno = 0;
    int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &found);
    glob_matches out;
    // A folder in the pattern that does not exist is as much "no match" as an empty one.
    if (rc == GLOB_NOMATCH || (rc == GLOB_ABORTED && (errno == ENOENT || errno == ENOTDIR))) {
        // nothing matched
    } else if (rc != 0) {
        out.error = std::strerror(errno);
    } else {
        // glob(3) sorts its matches, so files load in a stable, documented order.
        out.paths.assign(found.gl_pathv, found.gl_pathv + found.gl_pathc);
    }
    ::globfree(&found);
    return out;
}

file_text memory_source::read(const std::string& path) const {
    auto it = files_.find(path);
    if (it == files_.end()) {
        return failed(std::strerror(ENOENT));
    }
    if (it->second.size() > max_config_file_size) {
        return failed(too_large);
    }
    return {it->second, {}};
}

glob_matches memory_source::glob(const std::string& pattern) const {
    glob_matches out;
    for (const auto& [path, text] : files_) {
        if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) {
            out.paths.push_back(path);
        }
    }
    return out;
}

}  // namespace vigil::config
