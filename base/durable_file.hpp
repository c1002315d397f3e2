#pragma once

#include <filesystem>
#include <string_view>
#include <system_error>

namespace vigil {

// Replaces `path` with `content` so that a crash or power loss at any point leaves the old file or
// the new one, never a torn or empty one: the content goes to `temporary_path(path)`, is flushed
// to disk, renamed over `path`, and the folder is flushed so the rename itself survives. Returns
// the first failure (the old file is then untouched and the temporary removed).
std::error_code replace_file_durably(const std::filesystem::path& path, std::string_view content);

// Where replace_file_durably stages `path`: beside it, so the rename stays in one file system.
std::filesystem::path temporary_path(const std::filesystem::path& path);

// Removes the temporary a crash may have left beside `path`; true when there was one.
bool remove_stale_temporary(const std::filesystem::path& path);

}  // namespace vigil
