// A Group to and from its __consumer_offsets group metadata record (Kafka's
// GroupMetadataValue, see offset_records.h).
#include "coordinator/group.h"

namespace samsa::coordinator {

GroupMetadataValue Group::to_record() const {
  GroupMetadataValue v;
  v.protocol_type = protocol_type_.value_or("");
  v.generation = generation_;
  v.protocol = protocol_name_;
  if (!leader_.empty()) v.leader = leader_;
  v.current_state_timestamp = state_timestamp_.value_or(-1);
  for (auto& d : describe()) {  // metadata: the subscription under the chosen protocol
    const Member& m = members_.at(d.member_id);
    v.members.push_back({d.member_id, d.group_instance_id, d.client_id, d.client_host, m.rebalance_timeout_ms,
                         m.session_timeout_ms, std::move(d.metadata), std::move(d.assignment)});
  }
  return v;
}

void Group::restore(const GroupMetadataValue& v, int64_t now) {
  members_.clear();
  pending_members_.clear();
  static_members_.clear();
  generation_ = v.generation;
  protocol_type_.reset();
  if (!v.protocol_type.empty()) protocol_type_ = v.protocol_type;
  protocol_name_ = v.protocol;
  leader_ = v.leader.value_or("");
  state_timestamp_.reset();
  if (v.current_state_timestamp >= 0) state_timestamp_ = v.current_state_timestamp;
  for (auto& r : v.members) {
    Member m;
    m.member_id = r.member_id;
    m.group_instance_id = r.group_instance_id;
    m.client_id = r.client_id;
    m.client_host = r.client_host;
    m.session_timeout_ms = r.session_timeout_ms;
    m.rebalance_timeout_ms = r.rebalance_timeout_ms;
    m.protocol_type = v.protocol_type;
    // Only the chosen protocol's subscription is recorded (as in Kafka).
    m.protocols.emplace_back(v.protocol.value_or(""), r.subscription);
    m.assignment = r.assignment;
    m.session_deadline = now + r.session_timeout_ms;
    if (r.group_instance_id) static_members_[*r.group_instance_id] = r.member_id;
    members_.emplace(r.member_id, std::move(m));
  }
  // A record names a leader among its members; if not, any member leads.
  if (!members_.empty() && !members_.count(leader_)) leader_ = members_.begin()->first;
  if (members_.empty()) leader_.clear();
  state_ = members_.empty() ? GroupState::Empty : GroupState::Stable;
  if (members_.empty()) protocol_name_.reset();
}

}  // namespace samsa::coordinator
