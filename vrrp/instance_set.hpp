#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/child_process.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "vrrp/address_effects.hpp"
#include "vrrp/file_watcher.hpp"
#include "vrrp/instance.hpp"
#include "vrrp/interface_table.hpp"
#include "vrrp/link_monitor.hpp"
#include "vrrp/sync_group.hpp"

namespace vigil::vrrp {

// The VRRP side of one daemon: one instance per [[vrrp_instance]], the sockets they share (one
// per interface and address family), their sync groups, and link state from rtnetlink.
class instance_set {
  public:
    instance_set(boost::asio::any_io_executor executor, event_log& log, address_effects& effects);
    ~instance_set();
    instance_set(const instance_set&) = delete;
    instance_set& operator=(const instance_set&) = delete;

    // Starts every instance. Fails (with why) only for what retrying cannot fix, such as missing
    // privileges for raw sockets; a missing interface just keeps its instances in FAULT.
    std::optional<std::string> start(std::vector<instance_spec> instances,
                                     std::vector<sync_group_spec> groups = {});
    // Applies a new set of instances: an unchanged one keeps running untouched (a master stays
    // master and keeps its VIPs), as does one whose priority or notify programs changed (updated
    // in place); any other change restarts it; a removed one resigns.
    std::optional<std::string> reconfigure(std::vector<instance_spec> instances,
                                           std::vector<sync_group_spec> groups = {});
    // Every master resigns (priority 0) and releases its VIPs; notify_stop programs are queued.
    void shutdown();
    // Notify programs or tracker scripts are still running (the daemon waits for notifies on
    // its way out, up to their timeout).
    bool notifying() const;

    std::vector<instance_status> status() const;

    // Told of every state an instance enters (after its own actions): the daemon drives the IPVS
    // connection sync daemon from it.
    using state_listener = instance::state_listener;
    void on_state_change(state_listener listener) { state_listener_ = std::move(listener); }

  private:
    void on_link_event(const link_monitor::link_event& event);
    void start_instance(const instance_spec& spec);
    void build_groups();
    // Lets the sync group of `from` react to the actions its core just produced.
    void react_group(instance& from, const actions& produced);

    boost::asio::any_io_executor executor_;
    event_log& log_;
    address_effects& effects_;
    steady_clock_source clock_;
    child_process_runner runner_;
    file_watcher files_;
    interface_table interfaces_;
    std::unique_ptr<link_monitor> links_;
    state_listener state_listener_;
    std::vector<sync_group_spec> group_specs_;
    std::vector<std::unique_ptr<sync_group>> groups_;
    std::vector<std::unique_ptr<instance>> instances_;
};

}  // namespace vigil::vrrp
