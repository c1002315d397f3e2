#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vrrp/election.hpp"

namespace vigil::vrrp {

// What the config asks of one sync group: the names of its member instances.
struct sync_group_spec {
    std::string name;
    std::vector<std::string> instances;
    friend bool operator==(const sync_group_spec&, const sync_group_spec&) = default;
};

// Instances that must move together, as keepalived's vrrp_sync_group: in the NAT case the
// external VIP and the real servers' gateway VIP must always sit on the same director.
// - A member goes MASTER only when every member wants to (its Master_Down_Timer expired or it is
//   already master): members are gated and ask with request_master. This prefers BACKUP and so
//   avoids thrashing between two directors that each see half a group.
// - A member falling back from MASTER to BACKUP takes the others with it.
// - A member in FAULT faults the group; the group leaves FAULT when no member has a fault of its
//   own.
// Pure: it works on the member cores and returns what each must then do.
class sync_group {
  public:
    explicit sync_group(std::string name) : name_(std::move(name)) {}

    void add(election& member);
    const std::string& name() const { return name_; }
    const std::vector<election*>& members() const { return members_; }
    bool contains(const election& member) const;

    // The actions other members (and, for request_master, the member itself) must perform after
    // `member` produced `produced`. Moves the group makes are tagged sync_group and not reacted
    // to again.
    std::vector<std::pair<election*, actions>> react(election& member, const actions& produced,
                                                     time_point now);

  private:
    std::string name_;
    std::vector<election*> members_;
};

}  // namespace vigil::vrrp
