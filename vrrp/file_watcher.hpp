#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/event_log.hpp"

namespace vigil::vrrp {

// Tells when tracked files change (track_file), through one inotify descriptor watching the
// folders of the files: a file may not exist yet, and editors replace files by rename.
class file_watcher {
  public:
    file_watcher(boost::asio::any_io_executor executor, event_log& log);
    file_watcher(const file_watcher&) = delete;
    file_watcher& operator=(const file_watcher&) = delete;

    // Calls `changed` whenever `path` is written, created, replaced or deleted, until
    // unwatch(owner).
    void watch(const void* owner, const std::string& path, std::function<void()> changed);
    void unwatch(const void* owner);

  private:
    void wait();

    struct watcher {
        const void* owner;
        std::string folder;
        std::string file;
        std::function<void()> changed;
    };
    boost::asio::any_io_executor executor_;
    event_log& log_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> descriptor_;
    std::map<int, std::string> folders_;  // inotify watch -> folder
    std::vector<watcher> watchers_;
};

}  // namespace vigil::vrrp
