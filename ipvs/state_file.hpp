#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "base/parse_result.hpp"
#include "ipvs/model.hpp"

namespace vigil::ipvs {

// The services vigil owns, kept in its state directory so that a virtual server removed from the
// config while vigil was down is still removed at the next start. One service key per line
// (to_string(service_key)); '#' starts a comment. Written with replace_file_durably (temporary,
// fsync, rename, fsync of the folder), so a crash leaves the old list or the new one, never half
// of one; the reconciler removes a temporary a crash left behind (remove_stale_temporary) at start.
parse_result<std::set<service_key>> load_owned(const std::filesystem::path& file);
// A missing file is an empty list (first start); the parent folder is created if needed.
std::string save_owned(const std::filesystem::path& file, const std::set<service_key>& owned);

}  // namespace vigil::ipvs
