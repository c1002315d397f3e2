#pragma once

#include <boost/system/result.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

namespace vigil {

// The real servers an operator took out of rotation (`vigil drain`): IPVS weight 0, established
// connections finish. Kept in <state_dir>/drained, one name per line, so a drain survives reloads
// and restarts. A change is on disk (durably) before it is acknowledged, and a change that cannot
// be written is not made: a drain that would be forgotten by the next restart is refused.
class drain_list {
  public:
    // An empty list kept in <state_dir>/drained.
    explicit drain_list(const std::filesystem::path& state_dir) : file_(state_dir / "drained") {}
    // Reads <state_dir>/drained (a missing file is an empty list) and removes a temporary a
    // crash left beside it.
    static boost::system::result<drain_list> load(const std::filesystem::path& state_dir);

    bool contains(std::string_view real_server) const { return names_.contains(real_server); }
    const std::set<std::string, std::less<>>& names() const { return names_; }

    // Drains or undrains; returns whether anything changed, or why it could not be written.
    boost::system::result<bool> set(const std::string& real_server, bool drained);
    // A reload may move the state folder; the next change is written there.
    void move_to(const std::filesystem::path& state_dir) { file_ = state_dir / "drained"; }
    const std::filesystem::path& file() const { return file_; }

  private:
    std::error_code save(const std::set<std::string, std::less<>>& names) const;

    std::filesystem::path file_;
    std::set<std::string, std::less<>> names_;
};

}  // namespace vigil
