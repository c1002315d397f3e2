#pragma once

#include <memory>
#include <string>

#include "ipvs/backend.hpp"

struct nl_sock;

namespace vigil::ipvs {

// The kernel's IPVS table over generic netlink (family "IPVS", <linux/ip_vs.h>), with libnl-genl
// for sockets and attribute building. One socket for the process's life: ipvsadm opens a socket
// and resolves the family for every command, which is most of what makes it slow.
//
// apply() pipelines: it sends up to `window` commands before reading their acknowledgements and
// matches every answer to its command by sequence number, so each operation still gets the
// kernel's own answer while a large table costs a fraction of the round trips.
class netlink_backend final : public backend {
  public:
    struct open_result {
        std::unique_ptr<netlink_backend> backend;
        std::string error;  // set when backend is null: says what is missing and what to do
    };
    // Never falls back to anything: a kernel without IPVS is an error the operator must see.
    static open_result open();

    ~netlink_backend() override;
    netlink_backend(const netlink_backend&) = delete;
    netlink_backend& operator=(const netlink_backend&) = delete;

    std::string_view name() const override { return "netlink"; }
    boost::system::result<table> dump() override;
    std::vector<std::error_code> apply(std::span<const operation> ops) override;
    boost::system::result<std::vector<sync_daemon>> daemons() override;
    std::error_code start_daemon(const sync_daemon& daemon) override;
    std::error_code stop_daemon(sync_role role) override;

    // IPVS_CMD_GET_INFO: the IPVS version (0x010201 = 1.2.1) and the connection table size.
    struct kernel_info {
        std::uint32_t version = 0;
        std::uint32_t connection_table_size = 0;
    };
    boost::system::result<kernel_info> info();
    static std::string version_string(std::uint32_t version);

    // How many commands may be in flight before their answers are read.
    void set_window(std::size_t window) { window_ = window == 0 ? 1 : window; }

  private:
    netlink_backend(nl_sock* socket, int family) : socket_(socket), family_(family) {}

    nl_sock* socket_;
    int family_;
    std::size_t window_ = 64;
};

}  // namespace vigil::ipvs
