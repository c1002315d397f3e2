// libFuzzer target for the whole config load: a main file and the files its includes match, read
// from memory. Beyond "does not crash, hang or exhaust memory":
//   - a load gives a configuration exactly when it gives no diagnostic;
//   - every diagnostic names one of the files and a position inside it (line and column from 1,
//     the line within the file), so an operator can always jump to it;
//   - a refused configuration is refused again identically (the loader keeps no state).
//
// Input layout: the main file's text, then for each included file a line "#--- NAME" followed by
// its text. NAME is relative to the main file's folder (/fuzz), e.g. "conf.d/web.toml".

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "config/file_source.hpp"
#include "config/loader.hpp"

using namespace vigil::config;

namespace {

constexpr std::string_view main_path = "/fuzz/vigil.toml";
constexpr std::string_view separator = "\n#--- ";

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "property violated: %s %s\n", what, detail.c_str());
    std::abort();
}

std::map<std::string, std::string> split_files(std::string_view input) {
    std::map<std::string, std::string> files;
    auto next = input.find(separator);
    files[std::string(main_path)] = std::string(input.substr(0, next));
    while (next != std::string_view::npos) {
        input.remove_prefix(next + separator.size());
        auto name_end = input.find('\n');
        auto name = input.substr(0, name_end);
        input.remove_prefix(name_end == std::string_view::npos ? input.size() : name_end + 1);
        next = input.find(separator);
        if (!name.empty()) {
            files["/fuzz/" + std::string(name)] = std::string(input.substr(0, next));
        }
    }
    return files;
}

std::size_t line_count(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto files = split_files({reinterpret_cast<const char*>(data), size});
    memory_source source(files);
    auto result = load_configuration(std::string(main_path), source);
    if (result.config.has_value() == !result.diagnostics.empty()) {
        fail("a configuration must come exactly when there is no diagnostic");
    }
    for (const auto& d : result.diagnostics) {
        auto file = files.find(d.where.file);
        if (file == files.end()) {
            fail("diagnostic in a file that was not given:", to_string(d));
        }
        if (d.where.line < 1 || d.where.column < 1 || d.where.line > line_count(file->second)) {
            fail("diagnostic outside its file:", to_string(d));
        }
    }
    if (!result.config) {
        auto again = load_configuration(std::string(main_path), source);
        if (again.diagnostics.size() != result.diagnostics.size()) {
            fail("the same files were judged differently twice");
        }
        for (std::size_t i = 0; i < again.diagnostics.size(); ++i) {
            if (to_string(again.diagnostics[i]) != to_string(result.diagnostics[i])) {
                fail("the same files were judged differently twice:",
                     to_string(again.diagnostics[i]));
            }
        }
    }
    return 0;
}
