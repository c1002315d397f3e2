#include "base/event_log.hpp"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

namespace vigil {

std::string_view to_string(log_level level) {
    switch (level) {
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::warning:
            return "warning";
        case log_level::error:
            return "error";
    }
    return "info";
}

parse_result<log_level> parse_log_level(std::string_view text) {
    for (auto level : {log_level::debug, log_level::info, log_level::warning, log_level::error}) {
        if (text == to_string(level)) {
            return level;
        }
    }
    return parse_result<log_level>::failure("\"" + std::string(text) +
                                            "\" is not a level (debug, info, warning, error)");
}

namespace {

std::string format_time(std::chrono::system_clock::time_point time) {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(time.time_since_epoch()).count() % 1000;
    auto seconds = system_clock::to_time_t(time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[40];
    auto n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buffer + n, sizeof buffer - n, ".%03dZ", static_cast<int>(ms));
    return buffer;
}

boost::json::value to_json(const field_value& field) {
    return std::visit(
        [](const auto& v) -> boost::json::value {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, field_value::list>) {
                boost::json::array array;
                for (const auto& item : v) {
                    array.emplace_back(item);
                }
                return array;
            } else {
                return boost::json::value(v);
            }
        },
        field.value());
}

bool needs_quotes(std::string_view s) {
    if (s.empty()) {
        return true;
    }
    for (char c : s) {
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
            return true;
        }
    }
    return false;
}

void append_text(std::string& out, std::string_view s) {
    if (!needs_quotes(s)) {
        out += s;
        return;
    }
    // A JSON string literal is an unambiguous quoting that log readers already know.
    out += boost::json::serialize(boost::json::value(s));
}

// The shortest form that reads back as the same double; JSON has no infinity or NaN.
void append_json_number(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    char digits[32];
    auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
    out.append(digits, end);
}

}  // namespace

std::string format_json(const log_record& record) {
    boost::json::object object;
    object["ts"] = format_time(record.time);
    object["level"] = to_string(record.level);
    object["event"] = record.event;
    for (const auto& field : record.fields) {
        // ts, level and event are the record's own: a field must never overwrite them.
        if (field.name == "ts" || field.name == "level" || field.name == "event") {
            object[std::string("field_") + std::string(field.name)] = to_json(field.value);
            continue;
        }
        object[field.name] = to_json(field.value);
    }
    // Serialized member by member so numbers read as people write them ("6.168", as the text
    // format does), not as Boost.JSON writes doubles ("6.168E0"); both are valid JSON.
    std::string out = "{";
    for (const auto& member : object) {
        if (out.size() > 1) {
            out += ',';
        }
        out += boost::json::serialize(boost::json::value(member.key()));
        out += ':';
        if (member.value().is_double()) {
            append_json_number(out, member.value().get_double());
        } else {
            out += boost::json::serialize(member.value());
        }
    }
    out += '}';
    return out;
}

std::string format_text(const log_record& record) {
    std::string out = format_time(record.time);
    out += ' ';
    auto level = to_string(record.level);
    out += level;
    out.append(8 - level.size(), ' ');
    out += record.event;
    for (const auto& field : record.fields) {
        out += ' ';
        out += field.name;
        out += '=';
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string>) {
                    append_text(out, v);
                } else if constexpr (std::is_same_v<T, bool>) {
                    out += v ? "true" : "false";
                } else if constexpr (std::is_same_v<T, field_value::list>) {
                    std::string joined;
                    for (const auto& item : v) {
                        joined += joined.empty() ? "" : "; ";
                        joined += item;
                    }
                    append_text(out, joined);
                } else if constexpr (std::is_same_v<T, double>) {
                    // Shortest round-trip form ("6.168"), not JSON's "6.168E0".
                    char digits[32];
                    auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
                    out.append(digits, end);
                } else {
                    out += std::to_string(v);
                }
            },
            field.value.value());
    }
    return out;
}

namespace {

std::string format(log_format format, const log_record& record) {
    return format == log_format::json ? format_json(record) : format_text(record);
}

void write_line(int fd, std::string line) {
    line += '\n';
    std::size_t done = 0;
    while (done < line.size()) {
        auto n = ::write(fd, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // Nowhere left to report a failing log target.
        }
        done += static_cast<std::size_t>(n);
    }
}

class fd_sink final : public log_sink {
  public:
    fd_sink(int fd, log_format format) : fd_(fd), format_(format) {}
    void write(const log_record& record) override { write_line(fd_, format(format_, record)); }

  private:
    int fd_;
    log_format format_;
};

class file_sink final : public log_sink {
  public:
    file_sink(int fd, log_format format) : fd_(fd), format_(format) {}
    ~file_sink() override { ::close(fd_); }
    file_sink(const file_sink&) = delete;
    file_sink& operator=(const file_sink&) = delete;
    void write(const log_record& record) override { write_line(fd_, format(format_, record)); }

  private:
    int fd_;
    log_format format_;
};

class syslog_sink final : public log_sink {
  public:
    explicit syslog_sink(log_format format) : format_(format) {
        ::openlog("vigil", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
    ~syslog_sink() override { ::closelog(); }
    syslog_sink(const syslog_sink&) = delete;
    syslog_sink& operator=(const syslog_sink&) = delete;
    void write(const log_record& record) override {
        int priority = LOG_INFO;
        switch (record.level) {
            case log_level::debug:
                priority = LOG_DEBUG;
                break;
            case log_level::info:
                priority = LOG_INFO;
                break;
            case log_level::warning:
                priority = LOG_WARNING;
                break;
            case log_level::error:
                priority = LOG_ERR;
                break;
        }
        ::syslog(priority, "%s", format(format_, record).c_str());
    }

  private:
    log_format format_;
};

}  // namespace

std::unique_ptr<log_sink> make_fd_sink(int fd, log_format format) {
    return std::make_unique<fd_sink>(fd, format);
}

parse_result<std::unique_ptr<log_sink>> make_file_sink(const std::string& path, log_format format) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return parse_result<std::unique_ptr<log_sink>>::failure("cannot open log file " + path +
                                                                ": " + std::strerror(errno));
    }
    return std::unique_ptr<log_sink>(std::make_unique<file_sink>(fd, format));
}

std::unique_ptr<log_sink> make_syslog_sink(log_format format) {
    return std::make_unique<syslog_sink>(format);
}

void memory_sink::write(const log_record& record) {
    lines_.push_back(format_json(record));
}

std::vector<std::string> memory_sink::lines() const {
    return lines_;
}

event_log::event_log(std::unique_ptr<log_sink> sink, log_level threshold)
    : sink_(std::move(sink)), threshold_(threshold) {}

void event_log::emit(log_level level, std::string_view event,
                     std::initializer_list<log_field> fields) {
    emit(level, event, std::span<const log_field>(fields.begin(), fields.size()));
}

void event_log::emit(log_level level, std::string_view event, std::span<const log_field> fields) {
    if (!wants(level) || !sink_) {
        return;
    }
    sink_->write(log_record{std::chrono::system_clock::now(), level, event, fields});
}

void event_log::write(const log_record& record) {
    if (wants(record.level) && sink_) {
        sink_->write(record);
    }
}

}  // namespace vigil
