#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vrrp/address_effects.hpp"
#include "vrrp/advert_transport.hpp"
#include "vrrp/instance.hpp"
#include "vrrp/link_state_source.hpp"
#include "vrrp/socket.hpp"

namespace vigil::vrrp {

// The interfaces the instances use, as last looked up, with one raw VRRP socket per interface
// and address family shared by every instance on it. It is the real transport and link state
// source of the instances; what its sockets receive goes through demultiplex().
class interface_table final : public advert_transport, public link_state_source {
  public:
    interface_table(boost::asio::any_io_executor executor, address_effects& effects);
    ~interface_table() override;
    interface_table(const interface_table&) = delete;
    interface_table& operator=(const interface_table&) = delete;

    // Received packets on `member.spec().interface` go to it from now on, until detach.
    void attach(instance& member);
    void detach(instance& member);
    // The attached instances of `interface`.
    const std::vector<instance*>& members(const std::string& interface);

    // The names the table knows, for a resync.
    std::vector<std::string> names() const;
    // Matches a link event: by name, else (renamed) by index.
    std::optional<std::string> name_of(const std::string& name, int index) const;

    const interface_info* find(const std::string& name) override;
    void refresh(const std::string& name) override;

    std::optional<std::string> open(const std::string& interface, address_family family) override;
    std::optional<std::string> send(const std::string& interface, const advert& packet,
                                    const ip_address& source,
                                    const ip_address& destination) override;
    void drain(const std::string& interface, address_family family) override;

  private:
    struct entry;
    entry& slot(const std::string& name);

    boost::asio::any_io_executor executor_;
    address_effects& effects_;
    std::map<std::string, std::unique_ptr<entry>> interfaces_;
};

}  // namespace vigil::vrrp
