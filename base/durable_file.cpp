#include "base/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace vigil {

namespace {

std::error_code last_error() {
    return {errno, std::generic_category()};
}

// Closes on every path out, so a failed write or fsync cannot leak the descriptor.
class file_descriptor {
  public:
    explicit file_descriptor(int fd) : fd_(fd) {}
    ~file_descriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    int get() const { return fd_; }
    // close() reports write-back errors that fsync may not; it is checked, not just done.
    std::error_code close() {
        int fd = fd_;
        fd_ = -1;
        return ::close(fd) == 0 ? std::error_code{} : last_error();
    }

  private:
    int fd_;
};

std::error_code write_all(int fd, std::string_view content) {
    while (!content.empty()) {
        auto n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return last_error();
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

std::error_code write_and_sync(const std::filesystem::path& file, std::string_view content) {
    file_descriptor fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    if (fd.get() < 0) {
        return last_error();
    }
    if (auto ec = write_all(fd.get(), content)) {
        return ec;
    }
    if (::fsync(fd.get()) != 0) {
        return last_error();
    }
    return fd.close();
}

std::error_code sync_folder(const std::filesystem::path& folder) {
    file_descriptor fd(
        ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) {
        return last_error();
    }
    if (::fsync(fd.get()) != 0) {
        return last_error();
    }
    return fd.close();
}

}  // namespace

std::filesystem::path temporary_path(const std::filesystem::path& path) {
    auto temporary = path;
    temporary += ".tmp";
    return temporary;
}

std::error_code replace_file_durably(const std::filesystem::path& path, std::string_view content) {
    auto temporary = temporary_path(path);
    if (auto ec = write_and_sync(temporary, content)) {
        ::unlink(temporary.c_str());
        return ec;
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        auto ec = last_error();
        ::unlink(temporary.c_str());
        return ec;
    }
    return sync_folder(path.parent_path());
}

bool remove_stale_temporary(const std::filesystem::path& path) {
    return ::unlink(temporary_path(path).c_str()) == 0;
}

}  // namespace vigil
