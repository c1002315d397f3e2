#include "vrrp/file_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vigil::vrrp {

namespace asio = boost::asio;

file_watcher::file_watcher(asio::any_io_executor executor, event_log& log)
    : executor_(std::move(executor)), log_(log) {}

void file_watcher::watch(const void* owner, const std::string& path,
                         std::function<void()> changed) {
    if (!descriptor_) {
        int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0) {
            log_.error("vrrp.track_file_failed", {{"path", path}, {"error", std::strerror(errno)}});
            return;
        }
        descriptor_ = std::make_unique<asio::posix::stream_descriptor>(executor_, fd);
        wait();
    }
    std::filesystem::path p(path);
    auto folder = p.parent_path().string();
    int wd =
        ::inotify_add_watch(descriptor_->native_handle(), folder.c_str(),
                            IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE);
    if (wd < 0) {
        log_.error("vrrp.track_file_failed", {{"path", path}, {"error", std::strerror(errno)}});
        return;
    }
    folders_[wd] = folder;
    watchers_.push_back({owner, folder, p.filename().string(), std::move(changed)});
}

void file_watcher::unwatch(const void* owner) {
    std::erase_if(watchers_, [&](const watcher& w) { return w.owner == owner; });
}

void file_watcher::wait() {
    descriptor_->async_wait(
        asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
            if (ec) {
                return;
            }
            alignas(inotify_event) char buffer[8192];
            for (;;) {
                auto n = ::read(descriptor_->native_handle(), buffer, sizeof buffer);
                if (n <= 0) {
                    break;
                }
                for (char* p = buffer; p < buffer + n;) {
                    auto* event = reinterpret_cast<inotify_event*>(p);
                    p += sizeof(inotify_event) + event->len;
                    auto folder = folders_.find(event->wd);
                    if (folder == folders_.end() || event->len == 0) {
                        continue;
                    }
                    std::string name = event->name;
                    // A copy: a callback may unwatch (its instance restarts).
                    auto watchers = watchers_;
                    for (const auto& w : watchers) {
                        if (w.folder == folder->second && w.file == name) {
                            w.changed();
                        }
                    }
                }
            }
            wait();
        });
}

}  // namespace vigil::vrrp
