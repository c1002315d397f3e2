#include "ipvs/state_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "base/durable_file.hpp"

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
    if (auto error = replace_file_durably(file, text)) {
        return file.string() + ": " + error.message();
    }
    return {};
}

}  // namespace vigil::ipvs
