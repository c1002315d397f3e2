#include "import/file_include_resolver.hpp"

#include <glob.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil::import {

std::optional<std::string> read_text_file(const std::string& path, std::string& error) {
    std::error_code code;
    if (std::filesystem::is_directory(path, code)) {
        error = "is a directory";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        error = "read failed";
        return std::nullopt;
    }
    return text.str();
}

include_resolution file_include_resolver::resolve(std::string_view pattern,
                                                  std::string_view including_file) {
    std::filesystem::path wanted(pattern);
    if (wanted.is_relative()) {
        wanted = std::filesystem::path(including_file).parent_path() / wanted;
    }
    include_resolution result;
    glob_t matches{};
    int status = ::glob(wanted.c_str(), 0, nullptr, &matches);
    if (status == GLOB_NOMATCH) {
        result.error = "matches no file";
    } else if (status != 0) {
        result.error = "cannot be expanded";
    } else {
        for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
            std::string path = matches.gl_pathv[i];
            std::string error;
            if (auto text = read_text_file(path, error)) {
                result.files.push_back({path, std::move(*text)});
            } else if (result.error.empty()) {
                result.error = path + ": " + error;
            }
        }
    }
    ::globfree(&matches);
    return result;
}

std::optional<std::string> find_in_path(std::string_view program, std::string_view path_list) {
    if (program.empty() || program.find('/') != std::string_view::npos) {
        return std::nullopt;
    }
    std::size_t at = 0;
    while (at <= path_list.size()) {
        auto end = path_list.find(':', at);
        auto folder = path_list.substr(at, end == std::string_view::npos ? end : end - at);
        if (!folder.empty() && folder.front() == '/') {
            auto candidate = std::string(folder) + "/" + std::string(program);
            if (::access(candidate.c_str(), X_OK) == 0) {
                return candidate;
            }
        }
        if (end == std::string_view::npos) {
            break;
        }
        at = end + 1;
    }
    return std::nullopt;
}

}  // namespace vigil::import
