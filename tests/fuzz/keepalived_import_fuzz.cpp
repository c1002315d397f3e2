// libFuzzer target for the keepalived.conf importer: the parser and the translator together.
// Beyond "does not crash, does not hang":
//   - a parse that reports an error returns no statements (nothing half-read is translated);
//   - every message names a file that was read and a line within it;
//   - every file the translator writes is valid TOML (quoting and escaping of any input).
//
// Input layout: files separated by NUL bytes; the first is keepalived.conf, the others are
// /k/0, /k/1, ... which `include` can name ("include 0", "include *" for all of them, in order),
// so cycles, globs and nesting get explored too.

#include <toml++/toml.h>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "import/keepalived_parser.hpp"
#include "import/keepalived_translator.hpp"

using namespace vigil::import;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

class fuzz_resolver final : public include_resolver {
  public:
    std::map<std::string, std::string> files;

    include_resolution resolve(std::string_view pattern, std::string_view) override {
        include_resolution result;
        for (const auto& [path, text] : files) {
            if (pattern == "*" || path == "/k/" + std::string(pattern)) {
                result.files.push_back({path, text});
            }
        }
        if (result.files.empty()) {
            result.error = "matches no file";
        }
        return result;
    }
};

std::size_t line_count(std::string_view text) {
    std::size_t lines = 1;
    for (char c : text) {
        lines += c == '\n';
    }
    return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    fuzz_resolver resolver;
    std::map<std::string, std::string> texts;
    auto cut = input.find('\0');
    std::string_view main_text = input.substr(0, cut);
    texts["keepalived.conf"] = std::string(main_text);
    for (int n = 0; cut != std::string_view::npos; ++n) {
        auto rest = input.substr(cut + 1);
        auto next = rest.find('\0');
        auto path = "/k/" + std::to_string(n);
        resolver.files[path] = std::string(rest.substr(0, next));
        texts[path] = resolver.files[path];
        cut = next == std::string_view::npos ? next : cut + 1 + next;
    }
    parse_options options;
    options.config_id = "high";
    auto parsed = parse_keepalived(main_text, "keepalived.conf", resolver, options);
    if (parsed.error && !parsed.statements.empty()) {
        fail("a parse error returned statements");
    }
    auto located = [&](const import_diagnostic& d) {
        auto file = texts.find(d.where.file);
        if (file == texts.end() || d.where.line > line_count(file->second)) {
            fail("a message names no line that was read");
        }
    };
    for (const auto& w : parsed.warnings) {
        located(w);
    }
    if (parsed.error) {
        located(*parsed.error);
        return 0;
    }
    translate_options translate;
    translate.source = "keepalived.conf";
    translate.find_program = [](std::string_view program) -> std::optional<std::string> {
        if (program.size() < 8) {
            return "/usr/bin/" + std::string(program);
        }
        return std::nullopt;
    };
    auto result = translate_keepalived(parsed.statements, translate);
    for (const auto& w : result.warnings) {
        located(w);
    }
    for (const auto& file : result.files) {
        try {
            auto table = toml::parse(file.text);
            (void)table;
        } catch (const toml::parse_error& e) {
            std::fprintf(stderr, "%s\n--- %s ---\n%s\n", e.what(), file.path.c_str(),
                         file.text.c_str());
            fail("a translated file is not valid TOML");
        }
    }
    return 0;
}
