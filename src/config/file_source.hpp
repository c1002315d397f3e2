#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

// Where the loader gets its files: the filesystem for the daemon and `vigil check`, a set of files
// in memory for tests and the fuzzer.
namespace vigil::config {

// Larger than any real config by far, small enough that a mistaken include cannot exhaust memory.
inline constexpr std::size_t max_config_file_size = 16 * 1024 * 1024;

struct file_text {
    std::optional<std::string> text;
    std::string error;  // why there is no text ("is not a regular file (a named pipe)")
};

struct glob_matches {
    std::vector<std::string> paths;  // sorted; empty when nothing matched
    std::string error;               // why the search itself failed
};

class file_source {
  public:
    virtual ~file_source() = default;
    virtual file_text read(const std::string& path) const = 0;
    virtual glob_matches glob(const std::string& pattern) const = 0;
};

// Reads only regular files (after following symlinks) of at most max_config_file_size bytes. A
// named pipe or a device is refused without being read, so nothing can block or grow unbounded.
class filesystem_source final : public file_source {
  public:
    file_text read(const std::string& path) const override;
    glob_matches glob(const std::string& pattern) const override;
};

// Files by path, exactly as the loader will ask for them; globs match as glob(3) would.
class memory_source final : public file_source {
  public:
    explicit memory_source(std::map<std::string, std::string> files) : files_(std::move(files)) {}
    file_text read(const std::string& path) const override;
    glob_matches glob(const std::string& pattern) const override;

  private:
    std::map<std::string, std::string> files_;
};

}  // namespace vigil::config
