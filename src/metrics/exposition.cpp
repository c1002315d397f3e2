#include "metrics/exposition.hpp"

#include <charconv>
#include <cmath>

namespace vigil::metrics {

std::string_view to_string(metric_type type) {
    switch (type) {
        case metric_type::counter:
            return "counter";
        case metric_type::gauge:
            return "gauge";
        case metric_type::histogram:
            return "histogram";
    }
    return "untyped";
}

void append_label_value(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
}

void append_help_text(std::string& out, std::string_view help) {
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

label_set& label_set::add(std::string_view name, std::string_view value) {
    if (!text_.empty()) {
        text_ += ',';
    }
    text_ += name;
    text_ += "=\"";
    append_label_value(text_, value);
    text_ += '"';
    return *this;
}

bucket_bounds::bucket_bounds(std::span<const double> bounds) {
    labels_.reserve(bounds.size());
    for (double bound : bounds) {
        char buffer[32];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, bound);
        labels_.push_back("le=\"" + std::string(buffer, ec == std::errc() ? end : buffer) + "\"");
    }
}

void exposition::family(std::string_view name, metric_type type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_help_text(out_, help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += to_string(type);
    out_ += '\n';
}

void exposition::series(std::string_view name, std::string_view suffix, std::string_view labels,
                        std::string_view extra) {
    out_ += name;
    out_ += suffix;
    if (!labels.empty() || !extra.empty()) {
        out_ += '{';
        out_ += labels;
        if (!labels.empty() && !extra.empty()) {
            out_ += ',';
        }
        out_ += extra;
        out_ += '}';
    }
    out_ += ' ';
}

void exposition::value(double v) {
    if (std::isnan(v)) {
        out_ += "NaN";
    } else if (std::isinf(v)) {
        out_ += v > 0 ? "+Inf" : "-Inf";
    } else if (v == std::trunc(v) && std::fabs(v) < 9.0e15) {
        // Whole numbers (timestamps, counts) as integers: 1700000000, not 1.7e+09.
        char buffer[24];
        auto [end, ec] =
            std::to_chars(buffer, buffer + sizeof buffer, static_cast<std::int64_t>(v));
        out_.append(buffer, ec == std::errc() ? end : buffer);
    } else {
        char buffer[32];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
        out_.append(buffer, ec == std::errc() ? end : buffer);
    }
    out_ += '\n';
}

void exposition::value(std::uint64_t v) {
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    out_.append(buffer, ec == std::errc() ? end : buffer);
    out_ += '\n';
}

void exposition::sample(std::string_view name, std::string_view labels, double v,
                        std::string_view extra) {
    series(name, {}, labels, extra);
    value(v);
}

void exposition::sample(std::string_view name, std::string_view labels, std::uint64_t v,
                        std::string_view extra) {
    series(name, {}, labels, extra);
    value(v);
}

void exposition::histogram(std::string_view name, std::string_view labels,
                           const bucket_bounds& bounds, std::span<const std::uint64_t> counts,
                           std::uint64_t total, double sum) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += i < counts.size() ? counts[i] : 0;
        series(name, "_bucket", labels, bounds.label(i));
        value(cumulative);
    }
    series(name, "_bucket", labels, "le=\"+Inf\"");
    value(total);
    series(name, "_sum", labels, {});
    value(sum);
    series(name, "_count", labels, {});
    value(total);
}

}  // namespace vigil::metrics
