#include "import/output_folder.hpp"

#include <filesystem>
#include <fstream>

namespace vigil::import {

std::string write_output_folder(const std::string& folder,
                                const std::vector<translated_file>& files, bool force) {
    namespace fs = std::filesystem;
    std::error_code error;
    if (fs::exists(folder, error)) {
        if (!fs::is_directory(folder, error)) {
            return folder + ": not a directory";
        }
        if (!force && !fs::is_empty(folder, error)) {
            return folder + ": not empty (give --force to write into it)";
        }
    }
    fs::create_directories(fs::path(folder) / "conf.d", error);
    if (error) {
        return folder + ": " + error.message();
    }
    if (force) {
        // Earlier imports' virtual servers would otherwise be loaded beside the new ones.
        for (const auto& entry : fs::directory_iterator(fs::path(folder) / "conf.d", error)) {
            if (entry.path().extension() == ".toml") {
                fs::remove(entry.path(), error);
            }
        }
    }
    for (const auto& file : files) {
        auto path = fs::path(folder) / file.path;
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << file.text;
        out.close();
        if (!out) {
            return path.string() + ": cannot be written";
        }
    }
    return {};
}

}  // namespace vigil::import
