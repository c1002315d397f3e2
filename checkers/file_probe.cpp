#include "checkers/file_probe.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/post.hpp>
#pragma GCC diagnostic pop
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

namespace vigil::checkers {

namespace asio = boost::asio;

namespace {

// A state file is a word or two; more than this is not one.
constexpr std::size_t state_limit = 256;

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

bool same_word(std::string_view text, std::string_view word) {
    if (text.size() != word.size()) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != word[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

probe_result parse_file_state(std::string_view content) {
    auto text = trimmed(content);
    if (same_word(text, "up")) {
        return probe_result::ok();
    }
    if (same_word(text, "down")) {
        return probe_result::fail("state file says down");
    }
    if (text.size() > 6 && same_word(text.substr(0, 6), "weight") &&
        std::isspace(static_cast<unsigned char>(text[6]))) {
        auto number = trimmed(text.substr(7));
        unsigned weight = 0;
        auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), weight);
        if (error == std::errc() && end == number.data() + number.size() && weight <= 65535) {
            return probe_result::ok(weight);
        }
    }
    std::string shown(text.substr(0, 40));
    for (auto& c : shown) {
        if (!std::isprint(static_cast<unsigned char>(c))) {
            c = '?';
        }
    }
    return probe_result::fail("state file says \"" + shown + "\", not up, down or weight N");
}

file_probe::file_probe(asio::any_io_executor executor, const file_spec& options)
    : executor_(std::move(executor)), options_(options) {
    watch();
}

file_probe::~file_probe() {
    *alive_ = false;
}

void file_probe::watch() {
    std::filesystem::path file(options_.path);
    file_name_ = file.filename().string();
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        return;  // without a watch the file is read on every run
    }
    // The folder, not the file: an operator's editor or `mv` replaces the file's inode, and a
    // watch on the old inode would go quiet.
    auto folder = file.parent_path().string();
    if (::inotify_add_watch(fd, folder.c_str(),
                            IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                IN_MODIFY | IN_ATTRIB) < 0) {
        ::close(fd);
        return;
    }
    inotify_.emplace(executor_, fd);
    wait_for_events();
}

void file_probe::drain_events() {
    alignas(inotify_event) std::array<char, 4096> buffer{};
    // Bounded: a storm of events in the folder cannot hold the loop; the rest wakes it again.
    for (int round = 0; round < 16; ++round) {
        auto n = ::read(inotify_->native_handle(), buffer.data(), buffer.size());
        if (n <= 0) {
            return;
        }
        auto size = static_cast<std::size_t>(n);
        for (std::size_t at = 0; at + sizeof(inotify_event) <= size;) {
            inotify_event event{};
            std::memcpy(&event, buffer.data() + at, sizeof event);
            auto length = std::min<std::size_t>(event.len, size - at - sizeof event);
            std::string_view name(buffer.data() + at + sizeof event, length);
            name = name.substr(0, name.find('\0'));
            if (name == file_name_ || (event.mask & IN_Q_OVERFLOW) != 0) {
                stale_ = true;
            }
            at += sizeof event + event.len;
        }
    }
}

void file_probe::wait_for_events() {
    inotify_->async_wait(asio::posix::descriptor_base::wait_read,
                         [this, alive = alive_](const boost::system::error_code& ec) {
                             if (*alive && !ec) {
                                 drain_events();
                                 wait_for_events();
                             }
                         });
}

probe_result file_probe::read_state() const {
    int fd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) {
            return options_.missing_state == health::up
                       ? probe_result::ok()
                       : probe_result::fail("state file " + options_.path + " is missing");
        }
        return probe_result::fail("cannot read " + options_.path + ": " + std::strerror(errno));
    }
    std::array<char, state_limit + 1> content{};
    auto n = ::read(fd, content.data(), content.size());
    int error = errno;
    ::close(fd);
    if (n < 0) {
        return probe_result::fail("cannot read " + options_.path + ": " + std::strerror(error));
    }
    if (static_cast<std::size_t>(n) > state_limit) {
        return probe_result::fail("state file " + options_.path + " is longer than a state");
    }
    return parse_file_state(std::string_view(content.data(), static_cast<std::size_t>(n)));
}

void file_probe::start(completion done) {
    cancel();
    // The events already queued are read first, so a write just before this run counts.
    if (inotify_) {
        drain_events();
    }
    if (stale_ || !inotify_) {
        cached_ = read_state();
        stale_ = false;
    }
    auto run = run_;
    asio::post(executor_, [this, alive = alive_, run, result = cached_, done = std::move(done)] {
        if (*alive && run == run_) {
            done(result);
        }
    });
}

void file_probe::cancel() {
    ++run_;
}

}  // namespace vigil::checkers
