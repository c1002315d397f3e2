#include "ipvs/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace vigil::ipvs {

parse_result<std::set<service_key>> load_owned(const std::filesystem::path& file) {
    std::set<service_key> owned;
    std::ifstream in(file);
    if (!in) {
        if (errno == ENOENT) {
            return owned;
        }
        return parse_result<std::set<service_key>>::failure(file.string() + ": " +
                                                            std::strerror(errno));
    }
    std::string line;
    unsigned number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line.front() == '#') {
            continue;
        }
        auto key = parse_service_key(line);
        if (!key) {
            return parse_result<std::set<service_key>>::failure(
                file.string() + ":" + std::to_string(number) + ": not a service: " + line);
        }
        owned.insert(*key);
    }
    return owned;
}

std::string save_owned(const std::filesystem::path& file, const std::set<service_key>& owned) {
    std::error_code ec;
    if (file.has_parent_path()) {
        std::filesystem::create_directories(file.parent_path(), ec);
        if (ec) {
            return file.parent_path().string() + ": " + ec.message();
        }
    }
    std::string text = "# vigil: the IPVS services this node manages; rewritten after each sync\n";
    for (const auto& key : owned) {
        text += to_string(key);
        text += '\n';
    }
    auto temporary = file;
    temporary += ".tmp";
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        return temporary.string() + ": " + std::strerror(errno);
    }
    std::size_t done = 0;
    while (done < text.size()) {
        auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            std::string error = temporary.string() + ": " + std::strerror(errno);
            ::close(fd);
            return error;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        return temporary.string() + ": " + std::strerror(errno);
    }
    if (::rename(temporary.c_str(), file.c_str()) != 0) {
        return file.string() + ": " + std::strerror(errno);
    }
    return {};
}

}  // namespace vigil::ipvs
