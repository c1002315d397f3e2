#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#pragma GCC diagnostic pop
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "checkers/check_spec.hpp"
#include "checkers/probe.hpp"

namespace vigil::checkers {

// What an operator's state file says (keepalived's FILE_CHECK): "up", "down" or "weight N"
// (up with weight N, 0-65535), case and surrounding white space aside. Anything else fails with
// the reason, so a half-written file never reads as a state.
probe_result parse_file_state(std::string_view content);

// Reports the state in an operator-written file. The file's folder is watched with inotify, so
// the file is read again only after it was written, renamed over, created or removed, not on
// every run; a missing file is `missing_state`.
class file_probe final : public probe {
  public:
    // `options` must outlive the probe.
    file_probe(boost::asio::any_io_executor executor, const file_spec& options);
    ~file_probe() override;

    void start(completion done) override;
    void cancel() override;

  private:
    void watch();
    void drain_events();
    void wait_for_events();
    probe_result read_state() const;

    boost::asio::any_io_executor executor_;
    const file_spec& options_;
    std::optional<boost::asio::posix::stream_descriptor> inotify_;
    std::string file_name_;  // the watched folder's entry
    bool stale_ = true;      // the file changed since it was last read
    probe_result cached_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::uint64_t run_ = 0;  // a cancelled run's completion is dropped
};

}  // namespace vigil::checkers
