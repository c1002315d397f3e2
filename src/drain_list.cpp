#include "drain_list.hpp"

#include <cerrno>
#include <fstream>

#include "base/durable_file.hpp"

namespace vigil {

boost::system::result<drain_list> drain_list::load(const std::filesystem::path& state_dir) {
    drain_list list(state_dir);
    remove_stale_temporary(list.file_);
    std::ifstream in(list.file_);
    if (!in) {
        if (errno == ENOENT) {
            return list;
        }
        return boost::system::error_code(errno, boost::system::generic_category());
    }
    std::string line;
    while (std::getline(in, line)) {
        if (line == node_entry) {
            list.node_drained_ = true;
        } else if (!line.empty()) {
            list.names_.insert(line);
        }
    }
    if (in.bad()) {
        return boost::system::error_code(EIO, boost::system::generic_category());
    }
    return list;
}

boost::system::result<bool> drain_list::set(const std::string& real_server, bool drained) {
    if (contains(real_server) == drained) {
        return false;
    }
    auto next = names_;
    if (drained) {
        next.insert(real_server);
    } else {
        next.erase(real_server);
    }
    if (auto ec = save(next, node_drained_)) {
        return boost::system::result<bool>(boost::system::in_place_error, ec);
    }
    names_ = std::move(next);
    return true;
}

boost::system::result<bool> drain_list::set_node_drained(bool drained) {
    if (node_drained_ == drained) {
        return false;
    }
    if (auto ec = save(names_, drained)) {
        return boost::system::result<bool>(boost::system::in_place_error, ec);
    }
    node_drained_ = drained;
    return true;
}

std::error_code drain_list::save(const std::set<std::string, std::less<>>& names,
                                 bool node_drained) const {
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    if (ec) {
        return ec;
    }
    std::string text;
    if (node_drained) {
        text += node_entry;
        text += '\n';
    }
    for (const auto& name : names) {
        text += name;
        text += '\n';
    }
    return replace_file_durably(file_, text);
}

}  // namespace vigil
