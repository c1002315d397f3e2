#include "config/toml_reader.hpp"

#include <algorithm>

namespace vigil::config {

location file_context::at(const toml::source_region& region) const {
    return location{path_, std::max<std::size_t>(region.begin.line, 1),
                    std::max<std::size_t>(region.begin.column, 1)};
}

void file_context::error(const toml::source_region& region, rule kind, std::string message) {
    error(at(region), kind, std::move(message));
}

void file_context::error(const location& where, rule kind, std::string message) {
    out_->push_back(diagnostic{where, kind, std::move(message)});
}

std::string_view type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

table_reader::table_reader(file_context& file, const toml::table& table, std::string path)
    : file_(&file), table_(&table), path_(std::move(path)) {}

std::string table_reader::key_path(std::string_view key) const {
    if (path_.empty()) {
        return std::string(key);
    }
    return path_ + "." + std::string(key);
}

const toml::node* table_reader::node(std::string_view key) {
    known_.emplace(key);
    return table_->get(key);
}

toml::source_region table_reader::where(std::string_view key) const {
    if (const auto* n = table_->get(key)) {
        return n->source();
    }
    return table_->source();
}

void table_reader::error(std::string_view key, rule kind, const std::string& message) {
    file_->error(where(key), kind, key_path(key) + ": " + message);
}

void table_reader::error_at(const toml::node& at, std::string_view key, rule kind,
                            const std::string& message) {
    file_->error(at.source(), kind, key_path(key) + ": " + message);
}

namespace {

std::string expected(std::string_view what, const toml::node& got) {
    return "expected " + std::string(what) + ", got " + std::string(type_name(got.type()));
}

}  // namespace

std::optional<std::string> table_reader::string(std::string_view key) {
    const auto* n = node(key);
    if (!n) {
        return std::nullopt;
    }
    if (const auto* s = n->as_string()) {
        return s->get();
    }
    error(key, rule::wrong_type, expected("a string", *n));
    return std::nullopt;
}

std::optional<std::int64_t> table_reader::integer(std::string_view key, std::int64_t min,
                                                  std::int64_t max) {
    const auto* n = node(key);
    if (!n) {
        return std::nullopt;
    }
    const auto* i = n->as_integer();
    if (!i) {
        error(key, rule::wrong_type, expected("an integer", *n));
        return std::nullopt;
    }
    if (i->get() < min || i->get() > max) {
        error(key, rule::out_of_range,
              std::to_string(i->get()) + " is out of range (" + std::to_string(min) + " to " +
                  std::to_string(max) + ")");
        return std::nullopt;
    }
    return i->get();
}

std::optional<bool> table_reader::boolean(std::string_view key) {
    const auto* n = node(key);
    if (!n) {
        return std::nullopt;
    }
    if (const auto* b = n->as_boolean()) {
        return b->get();
    }
    error(key, rule::wrong_type, expected("true or false", *n));
    return std::nullopt;
}

std::optional<duration> table_reader::duration_value(std::string_view key, duration min,
                                                     duration max) {
    const auto* n = node(key);
    if (!n) {
        return std::nullopt;
    }
    const auto* s = n->as_string();
    if (!s) {
        error(key, rule::wrong_type, expected("a duration string such as \"1.5s\"", *n));
        return std::nullopt;
    }
    auto parsed = parse_duration(s->get());
    if (!parsed) {
        error(key, rule::bad_duration, parsed.error());
        return std::nullopt;
    }
    if (*parsed < min || *parsed > max) {
        error(key, rule::out_of_range,
              format_duration(*parsed) + " is out of range (" + format_duration(min) + " to " +
                  format_duration(max) + ")");
        return std::nullopt;
    }
    return *parsed;
}

const toml::table* table_reader::table(std::string_view key) {
    const auto* n = node(key);
    if (!n) {
        return nullptr;
    }
    if (const auto* t = n->as_table()) {
        return t;
    }
    error(key, rule::wrong_type, expected("a table", *n));
    return nullptr;
}

const toml::array* table_reader::array(std::string_view key) {
    const auto* n = node(key);
    if (!n) {
        return nullptr;
    }
    if (const auto* a = n->as_array()) {
        return a;
    }
    error(key, rule::wrong_type, expected("an array", *n));
    return nullptr;
}

void table_reader::require(std::string_view key) {
    known_.emplace(key);
    if (!table_->contains(key)) {
        file_->error(table_->source(), rule::missing_key,
                     (path_.empty() ? std::string("top level") : path_) +
                         ": missing required key \"" + std::string(key) + "\"");
    }
}

namespace {

// Edit distance, to suggest the key an operator probably meant.
std::size_t distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

void table_reader::finish() {
    for (const auto& [key, value] : *table_) {
        if (known_.contains(key.str())) {
            continue;
        }
        std::string message = (path_.empty() ? std::string("top level") : path_) +
                              ": unknown key \"" + std::string(key.str()) + "\"";
        std::string_view best;
        std::size_t best_distance = 3;
        for (const auto& candidate : known_) {
            auto d = distance(key.str(), candidate);
            if (d < best_distance) {
                best_distance = d;
                best = candidate;
            }
        }
        if (!best.empty()) {
            message += " (did you mean \"" + std::string(best) + "\"?)";
        }
        file_->error(key.source(), rule::unknown_key, message);
    }
}

}  // namespace vigil::config
