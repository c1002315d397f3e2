#pragma once

#include <toml++/toml.h>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.hpp"
#include "config/diagnostic.hpp"
#include "config/user_directory.hpp"

namespace vigil::config {

// One file being validated: where its diagnostics go, how its positions are named, and where the
// users it names are looked up (shared by every file of one load).
class file_context {
  public:
    file_context(std::string path, std::vector<diagnostic>& out, user_directory& users)
        : path_(std::move(path)), out_(&out), users_(&users) {}

    const std::string& path() const { return path_; }
    user_directory& users() const { return *users_; }
    location at(const toml::source_region& region) const;
    void error(const toml::source_region& region, rule kind, std::string message);
    void error(const location& where, rule kind, std::string message);
    // How many diagnostics every file has produced so far: a reader compares it before and after
    // a table to know whether that table was valid.
    std::size_t error_count() const { return out_->size(); }

  private:
    std::string path_;
    std::vector<diagnostic>* out_;
    user_directory* users_;
};

// Reads the keys of one TOML table with type and range checks. Every key it is asked for counts
// as known; finish() reports the rest as unknown, so a typo never passes silently. Each message
// starts with the key's dotted path ("vrrp_instance[0].priority: ...").
class table_reader {
  public:
    table_reader(file_context& file, const toml::table& table, std::string path);

    file_context& file() const { return *file_; }
    const toml::table& table() const { return *table_; }
    std::string key_path(std::string_view key) const;

    // The node for `key` (marking it known), or nullptr when absent.
    const toml::node* node(std::string_view key);
    bool has(std::string_view key) const { return table_->contains(key); }
    // Where to point at `key`: its value when present, else the table itself.
    toml::source_region where(std::string_view key) const;

    std::optional<std::string> string(std::string_view key);
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
    std::optional<bool> boolean(std::string_view key);
    std::optional<duration> duration_value(std::string_view key, duration min, duration max);
    const toml::table* table(std::string_view key);
    const toml::array* array(std::string_view key);

    // Reports `key` as missing when it is absent (a present value of the wrong type was already
    // reported by the getter).
    void require(std::string_view key);
    void error(std::string_view key, rule kind, const std::string& message);
    void error_at(const toml::node& at, std::string_view key, rule kind,
                  const std::string& message);

    void finish();

  private:
    file_context* file_;
    const toml::table* table_;
    std::string path_;
    std::set<std::string, std::less<>> known_;
};

std::string_view type_name(toml::node_type type);

}  // namespace vigil::config
