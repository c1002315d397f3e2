#pragma once

#include <memory>
#include <string>

#include "ipvs/backend.hpp"
#include "ipvs/netlink_codec.hpp"
#include "ipvs/netlink_transport.hpp"

namespace vigil::ipvs {

// The kernel's IPVS table over generic netlink (family "IPVS", <linux/ip_vs.h>): the codec
// (netlink_codec) builds every request and reads every reply, the transport (netlink_transport)
// owns the one socket. One socket for the backend's life: ipvsadm opens a socket and resolves
// the family for every command, which is most of what makes it slow.
//
// Every call is synchronous but bounded (netlink_limits): no call waits longer than per_call,
// and none waits longer than per_message for a datagram; a call cut short answers ETIMEDOUT.
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
    // `family_name` is IPVS's; tests name one no kernel has to see that refusal on any host.
    static open_result open(netlink_limits limits = {}, const char* family_name = "IPVS");
    // Over a transport already open (tests: a socketpair standing in for the kernel).
    explicit netlink_backend(std::unique_ptr<netlink_transport> transport)
        : transport_(std::move(transport)) {}

    netlink_backend(const netlink_backend&) = delete;
    netlink_backend& operator=(const netlink_backend&) = delete;

    std::string_view name() const override { return "netlink"; }
    boost::system::result<table> dump() override;
    std::vector<std::error_code> apply(std::span<const operation> ops) override;
    boost::system::result<std::vector<sync_daemon>> daemons() override;
    std::error_code start_daemon(const sync_daemon& daemon) override;
    std::error_code stop_daemon(sync_role role) override;

    using kernel_info = ipvs::kernel_info;
    boost::system::result<kernel_info> info();
    static std::string version_string(std::uint32_t version) {
        return ipvs::version_string(version);
    }

    void set_limits(netlink_limits limits) { transport_->set_limits(limits); }
    // How many commands may be in flight before their answers are read.
    void set_window(std::size_t window) { window_ = window == 0 ? 1 : window; }

  private:
    std::error_code command(std::optional<netlink::bytes> message);

    std::unique_ptr<netlink_transport> transport_;
    std::size_t window_ = 64;
};

}  // namespace vigil::ipvs
