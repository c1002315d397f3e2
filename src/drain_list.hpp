#pragma once

#include <boost/system/result.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

namespace vigil {

// What an operator took out of rotation: real servers (`vigil drain`: IPVS weight 0, established
// connections finish), whole announced virtual servers, and the node itself (`vigil drain-node`:
// every BGP announcement withdrawn). Kept in <state_dir>/drained, one name per line, so a drain
// survives reloads and restarts: a drained director that is restarted (a crash, an upgrade, a
// reboot) must not announce itself again before the operator says so. A change is on disk
// (durably) before it is acknowledged, and a change that cannot be written is not made: a drain
// that would be forgotten by the next restart is refused.
class drain_list {
  public:
    // An empty list kept in <state_dir>/drained.
    explicit drain_list(const std::filesystem::path& state_dir) : file_(state_dir / "drained") {}
    // Reads <state_dir>/drained (a missing file is an empty list) and removes a temporary a
    // crash left beside it.
    static boost::system::result<drain_list> load(const std::filesystem::path& state_dir);

    // The line that stands for the node: '@' is in no valid config name, so it never collides.
    static constexpr std::string_view node_entry = "@node";

    bool contains(std::string_view real_server) const { return names_.contains(real_server); }
    bool node_drained() const { return node_drained_; }
    const std::set<std::string, std::less<>>& names() const { return names_; }

    // Drains or undrains; returns whether anything changed, or why it could not be written.
    boost::system::result<bool> set(const std::string& real_server, bool drained);
    boost::system::result<bool> set_node_drained(bool drained);
    // A reload may move the state folder; the next change is written there.
    void move_to(const std::filesystem::path& state_dir) { file_ = state_dir / "drained"; }
    const std::filesystem::path& file() const { return file_; }

  private:
    std::error_code save(const std::set<std::string, std::less<>>& names, bool node_drained) const;

    std::filesystem::path file_;
    std::set<std::string, std::less<>> names_;  // real and virtual servers, not the node
    bool node_drained_ = false;
};

}  // namespace vigil
