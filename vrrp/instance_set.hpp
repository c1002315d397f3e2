#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/result.hpp>
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

    // A reload checked and made ready, not applied yet: the sockets its new and restarted
    // instances need are open. commit() swaps it in; dropping it uncommitted closes what it
    // opened, and the running instances never noticed.
    class prepared {
      public:
        prepared(prepared&& other) noexcept;
        prepared& operator=(prepared&& other) noexcept;
        ~prepared();

      private:
        friend class instance_set;
        explicit prepared(instance_set& owner) : owner_(&owner) {}
        instance_set* owner_;
        std::vector<instance_spec> specs_;
        std::vector<sync_group_spec> groups_;
        std::vector<std::pair<std::string, address_family>> opened_;
        bool started_links_ = false;
    };
    // The first half of a reload, touching no running instance. Every instance that would start
    // (new, or changed beyond what applies in place) must be able to: its interface must exist
    // and its VRRP socket open. Unlike at startup, where a missing interface only keeps an
    // instance in FAULT, a reload that names one is refused, so a typo cannot resign a master.
    // Fails with one line per reason.
    boost::system::result<prepared, std::vector<std::string>> prepare(
        std::vector<instance_spec> instances, std::vector<sync_group_spec> groups = {});
    // The second half, which cannot fail: an unchanged instance keeps running untouched (a master
    // stays master and keeps its VIPs), as does one whose changes apply in place (priority,
    // notify programs, VIPs, advert interval, preempt settings, trackers); any other change
    // restarts it; a removed one resigns.
    void commit(prepared change);
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
    // Creates the instances, groups them, then starts them (their sockets are open by now).
    void launch(const std::vector<instance_spec>& specs);
    std::optional<std::string> start_links();
    void release(prepared& change);
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
