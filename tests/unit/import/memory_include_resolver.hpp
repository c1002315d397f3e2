#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "import/keepalived_parser.hpp"

namespace vigil::import::test {

// Includes answered from a table: a pattern ending in '*' matches every file with that prefix
// (sorted, as glob sorts), anything else one file; relative names are relative to the including
// file's folder.
class memory_include_resolver final : public include_resolver {
  public:
    std::map<std::string, std::string> files;

    include_resolution resolve(std::string_view pattern, std::string_view including_file) override {
        std::string wanted(pattern);
        if (wanted.front() != '/') {
            auto slash = including_file.rfind('/');
            wanted = (slash == std::string_view::npos
                          ? std::string()
                          : std::string(including_file.substr(0, slash + 1))) +
                     wanted;
        }
        wanted = std::filesystem::path(wanted).lexically_normal().string();
        include_resolution result;
        bool glob = wanted.back() == '*';
        auto prefix = glob ? wanted.substr(0, wanted.size() - 1) : wanted;
        for (const auto& [path, text] : files) {
            if (glob ? path.starts_with(prefix) : path == wanted) {
                result.files.push_back({path, text});
            }
        }
        if (result.files.empty()) {
            result.error = "matches no file";
        }
        return result;
    }
};

}  // namespace vigil::import::test
