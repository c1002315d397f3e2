#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.hpp"
#include "base/user_credentials.hpp"
#include "config/diagnostic.hpp"
#include "config/toml_reader.hpp"

// Rules for values that more than one section of the config shares: names, interface names,
// addresses, argv lists, weights, users.
namespace vigil::config {

inline constexpr std::size_t max_name_length = 64;
inline constexpr const char* name_rule = "letters, digits, '_', '-' and '.', at most 64 characters";

bool valid_name(std::string_view name);
// Linux interface names: IFNAMSIZ - 1 bytes, no '/', ':' or white space, not "." or "..".
bool valid_interface_name(std::string_view name);
// Text that goes into an HTTP request line or header must not smuggle in another header.
bool printable_without_space(std::string_view text);

std::string in_quotes(std::string_view s);
// " (first at path:line:col)", for the second of two things that must be unique.
std::string first_at(const location& where);

std::optional<ip_address> read_address(table_reader& reader, std::string_view key);
// Whether an endpoint's port must name a service (1 to 65535) or may be 0 (any port, as a fwmark
// service's real servers may have).
enum class port_rule { any, service };
// A service port out of range is reported with the service range, the same as port 0 is, so one
// key never states two ranges; port 0 itself is left to the caller, whose message says why.
std::optional<ip_endpoint> read_endpoint(table_reader& reader, std::string_view key,
                                         port_rule ports = port_rule::any);
// argv for a program run without a shell: non-empty strings, the program an absolute path.
std::optional<std::vector<std::string>> read_argv(table_reader& reader, std::string_view key);
// A priority adjustment of a tracker: -253 to 253, so it can move any priority to any other.
std::optional<int> read_weight(table_reader& reader);
// Who a program runs as: `user_key` (and optionally `group_key`, its primary group instead of the
// user's own), looked up now, so a config naming a user this host does not know is refused where
// it says so instead of every run failing, and no start of the program waits on NSS. Blocks on
// NSS (LDAP, SSSD): configs are loaded off the event loop.
std::optional<user_lookup> read_user(table_reader& reader, std::string_view user_key = "user",
                                     std::string_view group_key = "group");

}  // namespace vigil::config
