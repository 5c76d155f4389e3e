// ConsumerGroup: the members that speak the classic protocol, and the online
// conversions from and to a classic group (KIP-848's migration, Kafka's
// GroupMetadataManager rules for classic requests to a consumer group).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "base/random.h"
#include "coordinator/consumer_group.h"
#include "coordinator/consumer_protocol.h"

namespace samsa::coordinator {

namespace {

constexpr const char* kConsumerProtocolType = "consumer";

// Kafka names a classic member joining a consumer group with a random UUID.
std::string classic_member_uuid() {
  Random& rng = unique_ids();
  uint64_t a = rng.next_u64(), b = rng.next_u64();
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, (a & 0x0fff) | 0x4000,
                     ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

// Topic names -> ids through `topics`; unknown topics are left out.
Assignment to_ids(const NamedPartitions& named, const TopicCatalog& topics) {
  Assignment out;
  for (auto& [name, ps] : named)
    if (auto t = topics.find(name); t != topics.end() && !ps.empty()) out[t->second.id].insert(ps.begin(), ps.end());
  return out;
}

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

const Bytes* metadata_for(const ClassicProtocols& protocols, const std::optional<std::string>& name) {
  for (auto& [n, meta] : protocols)
    if (name && n == *name) return &meta;
  return protocols.empty() ? nullptr : &protocols.front().second;
}

}  // namespace

std::optional<MigrationPolicy> parse_migration_policy(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (lower == "bidirectional") return MigrationPolicy::Bidirectional;
  if (lower == "upgrade") return MigrationPolicy::Upgrade;
  if (lower == "downgrade") return MigrationPolicy::Downgrade;
  if (lower == "disabled") return MigrationPolicy::Disabled;
  return std::nullopt;
}

bool ConsumerGroup::all_classic() const {
  if (members_.empty()) return false;
  return std::all_of(members_.begin(), members_.end(), [](auto& kv) { return kv.second.classic.has_value(); });
}

// Kafka's supportsClassicProtocols: protocol type "consumer" and one protocol
// every classic member already in the group supports.
bool ConsumerGroup::supports_classic(const JoinParams& p) const {
  if (p.protocol_type != kConsumerProtocolType || p.protocols.empty()) return false;
  for (auto& [name, _] : p.protocols) {
    bool all = std::all_of(members_.begin(), members_.end(), [&name](auto& kv) {
      auto& c = kv.second.classic;
      return !c || std::any_of(c->protocols.begin(), c->protocols.end(), [&name](auto& x) { return x.first == name; });
    });
    if (all) return true;
  }
  return false;
}

bool ConsumerGroup::waiting_on_unreleased(const ConsumerMember& m) const {
  auto t = target_.find(m.member_id);
  if (t == target_.end()) return false;
  for (auto& [topic, ps] : t->second)
    for (int32_t p : ps) {
      auto a = m.assigned.find(topic);
      if ((a == m.assigned.end() || !a->second.count(p)) && owned_by_other(m.member_id, topic, p)) return true;
    }
  return false;
}

void ConsumerGroup::expect_rejoin(ConsumerMember& m, int64_t now) {
  if (m.join_deadline == 0) m.join_deadline = now + std::max(m.rebalance_timeout_ms, 0);
}

ClassicJoinAnswer ConsumerGroup::classic_join(const JoinParams& p, const TopicCatalog& topics, int64_t now) {
  ClassicJoinAnswer out;
  out.member_id = p.member_id.empty() ? classic_member_uuid() : p.member_id;
  auto fail = [&out](ErrorCode e) {
    out.error = e;
    return out;
  };
  const bool known = members_.count(out.member_id) != 0;
  if (!known && members_.size() >= static_cast<size_t>(std::max(0, config_.max_size)))
    return fail(ErrorCode::GROUP_MAX_SIZE_REACHED);
  if (!supports_classic(p)) return fail(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  if (p.member_id.empty() && p.require_known_member_id && !p.group_instance_id)
    return fail(ErrorCode::MEMBER_ID_REQUIRED);  // KIP-394: the member joins again with this id
  // Every protocol carries the same subscription (the client's); Kafka reads the first.
  auto sub = decode_consumer_subscription(p.protocols.front().second);
  if (!sub) return fail(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  if (known && !members_.at(out.member_id).classic) return fail(ErrorCode::UNKNOWN_MEMBER_ID);
  if (p.group_instance_id) {
    auto s = static_members_.find(*p.group_instance_id);
    if (s != static_members_.end() && s->second != out.member_id) {
      if (!p.member_id.empty()) return fail(ErrorCode::FENCED_INSTANCE_ID);
      // A static member restarting under a new id takes over its old member (no rebalance). If the
      // old one spoke the consumer protocol, that is a consumer-protocol member gone (Kafka's
      // replacement downgrade, when the others all speak the classic protocol).
      ConsumerMember m = std::move(members_.at(s->second));
      if (!m.classic) consumer_member_left_ = true;
      members_.erase(s->second);
      if (auto t = target_.find(s->second); t != target_.end()) {
        auto a = std::move(t->second);
        target_.erase(t);
        target_[out.member_id] = std::move(a);
      }
      m.member_id = out.member_id;
      members_[out.member_id] = std::move(m);
      s->second = out.member_id;
    }
  }
  auto [it, added] = members_.try_emplace(out.member_id);
  ConsumerMember& m = it->second;
  if (added) {
    m.member_id = out.member_id;
    bump_due_ = true;
  }
  if (p.group_instance_id) {
    m.instance_id = p.group_instance_id;
    static_members_[*p.group_instance_id] = m.member_id;
  }
  if (sub->rack_id) m.rack_id = sub->rack_id;
  if (p.rebalance_timeout_ms > 0) m.rebalance_timeout_ms = p.rebalance_timeout_ms;
  if (m.rebalance_timeout_ms <= 0) m.rebalance_timeout_ms = p.session_timeout_ms;
  m.server_assignor.reset();
  auto names = sorted_unique(sub->topics);
  if (names != m.subscribed_topic_names) m.subscribed_topic_names = std::move(names), bump_due_ = true;
  m.client_id = p.client_id;
  m.client_host = p.client_host;
  m.classic = ClassicMemberMetadata{p.session_timeout_ms, p.protocols};
  const std::string member_id = m.member_id;
  refresh_subscriptions(topics);
  if (bump_due_) bump();
  bump_due_ = false;
  maybe_compute_target();
  ConsumerMember& joined = members_.at(member_id);
  // What the member still owns is in its subscription (v1+): revoked partitions are gone from it.
  reconcile(joined, to_ids(sub->owned, topics), now);
  joined.join_deadline = 0;
  joined.sync_deadline = now + joined.rebalance_timeout_ms;
  joined.session_deadline = now + p.session_timeout_ms;
  ++change_seq_;  // the member's record (subscription, classic metadata) and assignment
  out.generation = joined.member_epoch;
  out.protocol_name = p.protocols.front().first;
  return out;
}

ConsumerMember* ConsumerGroup::find_classic(const std::string& member_id, const std::optional<std::string>& instance_id,
                                            ErrorCode& error) {
  error = ErrorCode::NONE;
  if (instance_id) {
    auto s = static_members_.find(*instance_id);
    if (s == static_members_.end()) error = ErrorCode::UNKNOWN_MEMBER_ID;
    else if (!member_id.empty() && s->second != member_id) error = ErrorCode::FENCED_INSTANCE_ID;
    if (error != ErrorCode::NONE) return nullptr;
  }
  auto it = members_.find(instance_id && member_id.empty() ? static_members_.at(*instance_id) : member_id);
  // A member speaking the consumer protocol is unknown to classic requests (Kafka's rule).
  if (it == members_.end() || !it->second.classic) {
    error = ErrorCode::UNKNOWN_MEMBER_ID;
    return nullptr;
  }
  return &it->second;
}

ErrorCode ConsumerGroup::classic_sync(const std::string& member_id, const std::optional<std::string>& instance_id,
                                      int32_t generation, const std::optional<std::string>& protocol_type,
                                      const std::optional<std::string>& protocol_name, int64_t now) {
  ErrorCode e;
  ConsumerMember* m = find_classic(member_id, instance_id, e);
  if (!m) return e;
  if (generation != m->member_epoch) return ErrorCode::ILLEGAL_GENERATION;
  if ((protocol_type && *protocol_type != kConsumerProtocolType) ||
      (protocol_name && *protocol_name != m->classic->protocols.front().first))
    return ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
  // A new rebalance started since it joined: it rejoins first (unless it is still revoking).
  if (group_epoch_ > m->member_epoch && m->state != MemberState::UnrevokedPartitions) {
    expect_rejoin(*m, now);
    return ErrorCode::REBALANCE_IN_PROGRESS;
  }
  m->sync_deadline = 0;
  m->session_deadline = now + m->classic->session_timeout_ms;
  return ErrorCode::NONE;
}

ErrorCode ConsumerGroup::classic_heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                                           int32_t generation, int64_t now) {
  ErrorCode e;
  ConsumerMember* m = find_classic(member_id, instance_id, e);
  if (!m) return e;
  if (generation != m->member_epoch) return ErrorCode::ILLEGAL_GENERATION;
  m->session_deadline = now + m->classic->session_timeout_ms;
  // It rejoins to catch up with a new epoch, to revoke, or to take partitions that became free.
  if (m->member_epoch < group_epoch_ || m->state == MemberState::UnrevokedPartitions ||
      (m->state == MemberState::UnreleasedPartitions && !waiting_on_unreleased(*m))) {
    expect_rejoin(*m, now);
    return ErrorCode::REBALANCE_IN_PROGRESS;
  }
  return ErrorCode::NONE;
}

ErrorCode ConsumerGroup::classic_leave(const std::string& member_id, const std::optional<std::string>& instance_id) {
  ErrorCode e;
  ConsumerMember* m = find_classic(member_id, instance_id, e);
  if (!m) return e;
  remove_member(std::string(m->member_id));
  return ErrorCode::NONE;
}

std::optional<ConsumerGroup> ConsumerGroup::from_classic(std::string id, ConsumerGroupConfig config, int32_t generation,
                                                         const std::optional<std::string>& protocol_name,
                                                         const std::vector<ClassicMemberState>& members,
                                                         const TopicCatalog& topics, int64_t now) {
  ConsumerGroup g(std::move(id), std::move(config));
  g.group_epoch_ = g.assignment_epoch_ = generation;
  for (auto& c : members) {
    const Bytes* meta = metadata_for(c.protocols, protocol_name);
    if (!meta) return std::nullopt;
    auto sub = decode_consumer_subscription(*meta);
    // A member that has not synced in this generation yet has no assignment.
    std::optional<NamedPartitions> assigned = c.assignment.empty() ? NamedPartitions{} : decode_consumer_assignment(c.assignment);
    if (!sub || !assigned) return std::nullopt;
    ConsumerMember m;
    m.member_id = c.member_id;
    m.instance_id = c.group_instance_id;
    m.rack_id = sub->rack_id;
    m.client_id = c.client_id;
    m.client_host = c.client_host;
    m.subscribed_topic_names = sorted_unique(sub->topics);
    m.rebalance_timeout_ms = c.rebalance_timeout_ms;
    m.member_epoch = m.previous_member_epoch = generation;
    m.assigned = to_ids(*assigned, topics);
    m.classic = ClassicMemberMetadata{c.session_timeout_ms, c.protocols};
    m.session_deadline = now + c.session_timeout_ms;
    g.target_[m.member_id] = m.assigned;
    if (m.instance_id) g.static_members_[*m.instance_id] = m.member_id;
    g.members_[m.member_id] = std::move(m);
  }
  g.change_seq_ = 1;  // all of it is written
  return g;
}

std::optional<GroupMetadataValue> ConsumerGroup::to_classic_record(int64_t now) const {
  if (!all_classic()) return std::nullopt;
  // The protocol: the first of the first member's that every member supports.
  std::optional<std::string> protocol;
  for (auto& [name, _] : members_.begin()->second.classic->protocols) {
    bool all = std::all_of(members_.begin(), members_.end(), [&name](auto& kv) {
      auto& ps = kv.second.classic->protocols;
      return std::any_of(ps.begin(), ps.end(), [&name](auto& x) { return x.first == name; });
    });
    if (all) {
      protocol = name;
      break;
    }
  }
  if (!protocol) return std::nullopt;
  std::map<TopicId, std::string> names;
  for (auto& [name, t] : subscribed_meta_) names[t.id] = name;
  GroupMetadataValue v;
  v.protocol_type = kConsumerProtocolType;
  v.generation = group_epoch_;
  v.protocol = protocol;
  v.current_state_timestamp = now;
  for (auto& [id, m] : members_) {
    const Bytes& meta = *metadata_for(m.classic->protocols, protocol);
    NamedPartitions named;
    for (auto& [t, ps] : m.assigned)
      if (auto n = names.find(t); n != names.end()) named[n->second] = ps;
    const int16_t version = consumer_protocol_version(meta).value_or(0);
    v.members.push_back({id, m.instance_id, m.client_id, m.client_host,
                         m.rebalance_timeout_ms > 0 ? m.rebalance_timeout_ms : m.classic->session_timeout_ms,
                         m.classic->session_timeout_ms, meta, encode_consumer_assignment(named, version)});
  }
  return v;
}

}  // namespace samsa::coordinator
