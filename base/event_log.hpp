#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/parse_result.hpp"

namespace vigil {

// Structured log events are vigil's alerting interface: every state change is one record with a
// stable event name and typed fields. The README's event table is the contract.

enum class log_level { debug, info, warning, error };

std::string_view to_string(log_level level);
parse_result<log_level> parse_log_level(std::string_view text);

class field_value {
  public:
    using list = std::vector<std::string>;
    using storage = std::variant<std::string, std::int64_t, std::uint64_t, double, bool, list>;

    field_value(std::string_view s) : value_(std::string(s)) {}
    field_value(const std::string& s) : value_(s) {}
    field_value(std::string&& s) : value_(std::move(s)) {}
    field_value(const char* s) : value_(std::string(s)) {}
    field_value(bool b) : value_(b) {}
    template <std::signed_integral I>
    requires(!std::same_as<I, bool>) field_value(I i) : value_(static_cast<std::int64_t>(i)) {}
    template <std::unsigned_integral I>
    requires(!std::same_as<I, bool>) field_value(I i) : value_(static_cast<std::uint64_t>(i)) {}
    field_value(double d) : value_(d) {}
    field_value(list l) : value_(std::move(l)) {}

    const storage& value() const { return value_; }

  private:
    storage value_;
};

// A field named ts, level or event would collide with the record's own keys; the JSON form
// writes it as field_<name> instead. Name fields otherwise.
struct log_field {
    std::string_view name;
    field_value value;
};

struct log_record {
    std::chrono::system_clock::time_point time;
    log_level level;
    std::string_view event;
    std::span<const log_field> fields;
};

enum class log_format { json, text };

// One line per record, no trailing newline. JSON puts the fields beside "ts", "level" and "event"
// so alert rules can match on them directly.
std::string format_json(const log_record& record);
std::string format_text(const log_record& record);

class log_sink {
  public:
    virtual ~log_sink() = default;
    virtual void write(const log_record& record) = 0;
};

// stderr (or any inherited descriptor). Each record is written with one write(2) so lines from
// several processes sharing the stream never interleave.
std::unique_ptr<log_sink> make_fd_sink(int fd, log_format format);
// Appends to a file, creating it with mode 0640; reopened on every reload so logrotate can move it.
parse_result<std::unique_ptr<log_sink>> make_file_sink(const std::string& path, log_format format);
// syslog(3), facility daemon, identity "vigil"; the level maps to the syslog priority.
std::unique_ptr<log_sink> make_syslog_sink(log_format format);

// Keeps records as JSON lines in memory: for tests that assert which events a component emits.
class memory_sink final : public log_sink {
  public:
    void write(const log_record& record) override;
    std::vector<std::string> lines() const;

  private:
    std::vector<std::string> lines_;
};

class event_log {
  public:
    explicit event_log(std::unique_ptr<log_sink> sink, log_level threshold = log_level::info);

    void emit(log_level level, std::string_view event, std::initializer_list<log_field> fields);
    void emit(log_level level, std::string_view event, std::span<const log_field> fields);
    void debug(std::string_view event, std::initializer_list<log_field> fields = {}) {
        emit(log_level::debug, event, fields);
    }
    void info(std::string_view event, std::initializer_list<log_field> fields = {}) {
        emit(log_level::info, event, fields);
    }
    void warning(std::string_view event, std::initializer_list<log_field> fields = {}) {
        emit(log_level::warning, event, fields);
    }
    void error(std::string_view event, std::initializer_list<log_field> fields = {}) {
        emit(log_level::error, event, fields);
    }

    // A record emitted elsewhere (on another thread, then handed over): written with its own time,
    // if its level is still wanted.
    void write(const log_record& record);
    // Whether a record of this level would be written; safe to ask from any thread.
    bool wants(log_level level) const {
        return level >= threshold_.load(std::memory_order_relaxed);
    }

    // A reload may change where and how much is logged.
    void replace_sink(std::unique_ptr<log_sink> sink) { sink_ = std::move(sink); }
    void set_threshold(log_level threshold) { threshold_ = threshold; }

  private:
    std::unique_ptr<log_sink> sink_;
    std::atomic<log_level> threshold_;
};

}  // namespace vigil
