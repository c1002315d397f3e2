#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::metrics {

// The Prometheus text exposition format, version 0.0.4: what a scrape of /metrics answers.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

enum class metric_type { counter, gauge, histogram };
std::string_view to_string(metric_type type);

// Label values may hold anything; the format escapes backslash, double quote and line feed.
void append_label_value(std::string& out, std::string_view value);
// HELP text escapes backslash and line feed only.
void append_help_text(std::string& out, std::string_view help);

// The labels of one series rendered once (`a="x",b="y"`, no braces), so a scrape that writes
// many families for the same real server escapes its names once, not once per family.
class label_set {
  public:
    label_set() = default;
    label_set& add(std::string_view name, std::string_view value);
    std::string_view text() const { return text_; }
    bool empty() const { return text_.empty(); }

  private:
    std::string text_;
};

// A histogram's upper bounds with their `le` labels rendered once per scrape, not once per series.
class bucket_bounds {
  public:
    explicit bucket_bounds(std::span<const double> bounds);
    std::size_t size() const { return labels_.size(); }
    std::string_view label(std::size_t i) const { return labels_[i]; }

  private:
    std::vector<std::string> labels_;  // le="0.005"
};

// Appends families to one text body. Every sample of a family must follow its family() call
// (the format wants a family's samples together); names are taken as valid, they are constants.
class exposition {
  public:
    void reserve(std::size_t bytes) { out_.reserve(bytes); }
    // `# HELP name help` and `# TYPE name type`.
    void family(std::string_view name, metric_type type, std::string_view help);
    // `name{labels} value`; `labels` as label_set::text(), `extra` one more pre-rendered label.
    void sample(std::string_view name, std::string_view labels, double value,
                std::string_view extra = {});
    void sample(std::string_view name, std::string_view labels, std::uint64_t value,
                std::string_view extra = {});
    // The series of one histogram: `name_bucket{le=...}` cumulative for every bound and +Inf,
    // `name_sum`, `name_count`. `counts[i]` holds the observations in (bounds[i-1], bounds[i]],
    // so it is as long as the bounds; `total` counts every observation, also above the last bound.
    void histogram(std::string_view name, std::string_view labels, const bucket_bounds& bounds,
                   std::span<const std::uint64_t> counts, std::uint64_t total, double sum);

    const std::string& text() const { return out_; }
    std::string take() { return std::move(out_); }

  private:
    void series(std::string_view name, std::string_view suffix, std::string_view labels,
                std::string_view extra);
    void value(double v);
    void value(std::uint64_t v);

    std::string out_;
};

}  // namespace vigil::metrics
