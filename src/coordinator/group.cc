#include "coordinator/group.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "base/random.h"
#include "coordinator/consumer_protocol.h"

namespace samsa::coordinator {

const char* state_name(GroupState s) {
  switch (s) {
    case GroupState::Empty: return "Empty";
    case GroupState::PreparingRebalance: return "PreparingRebalance";
    case GroupState::CompletingRebalance: return "CompletingRebalance";
    case GroupState::Stable: return "Stable";
    case GroupState::Dead: return "Dead";
  }
  return "Unknown";
}

Group::Group(std::string id, GroupConfig config) : id_(std::move(id)), config_(config) {}

// Pending callbacks are dropped, not called: the group only goes away with its
// coordinator, at shutdown.
Group::~Group() = default;

// Kafka's member ids: client id, a dash and a UUID.
std::string Group::new_member_id(const std::string& client_id) {
  Random& rng = unique_ids();  // ids stored in group records: never repeated by a later run
  uint64_t a = rng.next_u64(), b = rng.next_u64();
  return fmt::format("{}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", client_id, a >> 32, (a >> 16) & 0xffff,
                     (a & 0x0fff) | 0x4000, ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

void Group::transition(GroupState to, int64_t now) {
  state_ = to;
  state_timestamp_ = now;
  if (to == GroupState::Stable || to == GroupState::Empty) ++record_seq_;
}

int32_t Group::max_rebalance_timeout() const {
  int32_t t = 0;
  for (auto& [_, m] : members_) t = std::max(t, m.rebalance_timeout_ms);
  return t;
}

const Group::Member* Group::find_static(const std::string& instance_id) const {
  auto it = static_members_.find(instance_id);
  if (it == static_members_.end()) return nullptr;
  auto m = members_.find(it->second);
  return m == members_.end() ? nullptr : &m->second;
}

void Group::forget_static(const Member& m) {
  if (!m.group_instance_id) return;
  auto it = static_members_.find(*m.group_instance_id);
  if (it != static_members_.end() && it->second == m.member_id) static_members_.erase(it);
}

// A member may join only with a protocol type and at least one protocol the
// group's current members all support.
bool Group::supports_protocols(const JoinParams& p) const {
  if (p.protocol_type.empty() || p.protocols.empty()) return false;
  if (members_.empty()) return true;
  if (protocol_type_ && *protocol_type_ != p.protocol_type) return false;
  for (auto& [name, _] : p.protocols) {
    bool all = std::all_of(members_.begin(), members_.end(), [&](auto& kv) {
      auto& ps = kv.second.protocols;
      return std::any_of(ps.begin(), ps.end(), [&](auto& x) { return x.first == name; });
    });
    if (all) return true;
  }
  return false;
}

ErrorCode Group::check_join(const JoinParams& p) const {
  if (p.session_timeout_ms < config_.min_session_timeout_ms || p.session_timeout_ms > config_.max_session_timeout_ms)
    return ErrorCode::INVALID_SESSION_TIMEOUT;
  if (state_ == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (!supports_protocols(p)) return ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
  return ErrorCode::NONE;
}

void Group::join(const JoinParams& p, int64_t now, JoinCallback cb) {
  JoinResult err;
  err.member_id = p.member_id;
  err.error = check_join(p);
  if (err.error != ErrorCode::NONE) return cb(std::move(err));
  if (p.member_id.empty())
    join_new_member(p, now, std::move(cb));
  else
    join_known_member(p, now, std::move(cb));
}

void Group::join_new_member(const JoinParams& p, int64_t now, JoinCallback cb) {
  // A static member that restarts takes over its old member id's place.
  if (p.group_instance_id) {
    if (auto* old = find_static(*p.group_instance_id)) {
      std::string old_id = old->member_id;
      Member m = std::move(members_.at(old_id));
      members_.erase(old_id);
      if (m.awaiting_join) {
        JoinResult fenced;
        fenced.error = ErrorCode::FENCED_INSTANCE_ID;
        fenced.member_id = old_id;
        std::exchange(m.awaiting_join, nullptr)(std::move(fenced));
      }
      if (m.awaiting_sync) {
        SyncResult fenced;
        fenced.error = ErrorCode::FENCED_INSTANCE_ID;
        std::exchange(m.awaiting_sync, nullptr)(std::move(fenced));
      }
      m.member_id = new_member_id(p.client_id);
      if (leader_ == old_id) leader_ = m.member_id;
      static_members_[*p.group_instance_id] = m.member_id;
      auto& placed = members_.emplace(m.member_id, std::move(m)).first->second;
      if (state_ == GroupState::Stable) {
        // Same assignment, no rebalance: answer with the current generation.
        placed.client_id = p.client_id;
        placed.client_host = p.client_host;
        placed.session_timeout_ms = p.session_timeout_ms;
        placed.session_deadline = now + p.session_timeout_ms;
        ++record_seq_;  // the instance's new member id goes into the group's record (as Kafka stores it)
        JoinResult r = join_result_for(placed);
        return cb(std::move(r));
      }
      update_member(placed, p, now, std::move(cb));
      if (state_ == GroupState::CompletingRebalance) prepare_rebalance(now);
      maybe_complete_join(now);
      return;
    }
  }
  if (static_cast<int64_t>(members_.size() + pending_members_.size()) >= config_.max_size) {
    JoinResult r;
    r.error = ErrorCode::GROUP_MAX_SIZE_REACHED;
    return cb(std::move(r));
  }
  std::string id = new_member_id(p.client_id);
  if (p.require_known_member_id && !p.group_instance_id) {
    // KIP-394: hand out the id first; the member joins again with it.
    pending_members_[id] = now + p.session_timeout_ms;
    JoinResult r;
    r.error = ErrorCode::MEMBER_ID_REQUIRED;
    r.member_id = id;
    return cb(std::move(r));
  }
  add_member(p, id, now, std::move(cb));
  if (state_ != GroupState::PreparingRebalance) prepare_rebalance(now);
  maybe_complete_join(now);
}

void Group::join_known_member(const JoinParams& p, int64_t now, JoinCallback cb) {
  if (auto pending = pending_members_.find(p.member_id); pending != pending_members_.end()) {
    pending_members_.erase(pending);
    if (p.group_instance_id) {
      // Only dynamic members are ever pending (static ones join at once), so
      // Kafka treats this as impossible; taking the instance id here would
      // leave two members claiming it. The client starts over instead.
      JoinResult err;
      err.member_id = p.member_id;
      err.error = ErrorCode::UNKNOWN_MEMBER_ID;
      maybe_complete_join(now);
      return cb(std::move(err));
    }
    add_member(p, p.member_id, now, std::move(cb));
    if (state_ != GroupState::PreparingRebalance) prepare_rebalance(now);
    maybe_complete_join(now);
    return;
  }
  JoinResult err;
  err.member_id = p.member_id;
  err.error = validate_member(p.member_id, p.group_instance_id);
  if (err.error == ErrorCode::NONE && state_ == GroupState::Empty) err.error = ErrorCode::UNKNOWN_MEMBER_ID;
  if (err.error != ErrorCode::NONE) return cb(std::move(err));
  auto& m = members_.at(p.member_id);
  bool same_protocols = m.protocols == p.protocols;
  switch (state_) {
    case GroupState::PreparingRebalance:
      update_member(m, p, now, std::move(cb));
      maybe_complete_join(now);
      return;
    case GroupState::CompletingRebalance:
    case GroupState::Stable:
      // A retried join with nothing changed gets the current generation; in
      // Stable, a rejoining leader asks for a new assignment (Kafka's rule).
      if (same_protocols && (state_ == GroupState::CompletingRebalance || m.member_id != leader_)) {
        m.session_deadline = now + m.session_timeout_ms;
        return cb(join_result_for(m));
      }
      update_member(m, p, now, std::move(cb));
      prepare_rebalance(now);
      maybe_complete_join(now);
      return;
    default:
      err.error = ErrorCode::UNKNOWN_MEMBER_ID;
      return cb(std::move(err));
  }
}

Group::Member& Group::add_member(const JoinParams& p, const std::string& member_id, int64_t now, JoinCallback cb) {
  Member m;
  m.member_id = member_id;
  m.group_instance_id = p.group_instance_id;
  if (members_.empty()) protocol_type_ = p.protocol_type;
  if (p.group_instance_id) static_members_[*p.group_instance_id] = member_id;
  if (leader_.empty()) leader_ = member_id;
  auto& placed = members_.emplace(member_id, std::move(m)).first->second;
  update_member(placed, p, now, std::move(cb));
  // New members extend the initial delay (up to the rebalance timeout).
  if (initial_delay_ && state_ == GroupState::PreparingRebalance)
    join_deadline_ = std::min(now + config_.initial_rebalance_delay_ms, initial_delay_limit_);
  return placed;
}

void Group::update_member(Member& m, const JoinParams& p, int64_t now, JoinCallback cb) {
  m.client_id = p.client_id;
  m.client_host = p.client_host;
  m.session_timeout_ms = p.session_timeout_ms;
  m.rebalance_timeout_ms = p.rebalance_timeout_ms < 0 ? p.session_timeout_ms : p.rebalance_timeout_ms;
  m.protocol_type = p.protocol_type;
  m.protocols = p.protocols;
  m.session_deadline = now + m.session_timeout_ms;
  if (m.awaiting_join) {  // a second join from the same member replaces the first
    JoinResult r;
    r.error = ErrorCode::REBALANCE_IN_PROGRESS;
    r.member_id = m.member_id;
    std::exchange(m.awaiting_join, nullptr)(std::move(r));
  }
  m.awaiting_join = std::move(cb);
}

void Group::prepare_rebalance(int64_t now) {
  if (state_ == GroupState::CompletingRebalance) complete_syncs_with_error(ErrorCode::REBALANCE_IN_PROGRESS);
  bool was_empty = state_ == GroupState::Empty;
  transition(GroupState::PreparingRebalance, now);
  if (was_empty && config_.initial_rebalance_delay_ms > 0) {
    initial_delay_ = true;
    initial_delay_limit_ = now + std::max<int64_t>(max_rebalance_timeout(), config_.initial_rebalance_delay_ms);
    join_deadline_ = std::min(now + config_.initial_rebalance_delay_ms, initial_delay_limit_);
  } else {
    initial_delay_ = false;
    join_deadline_ = now + max_rebalance_timeout();
  }
}

// The join phase ends early once every known member has rejoined and nobody
// holds a MEMBER_ID_REQUIRED id (except during the initial delay, which waits).
void Group::maybe_complete_join(int64_t now) {
  if (state_ != GroupState::PreparingRebalance) return;
  if (initial_delay_ && now < join_deadline_) return;
  bool all = pending_members_.empty() &&
             std::all_of(members_.begin(), members_.end(), [](auto& kv) { return bool(kv.second.awaiting_join); });
  if (all || now >= join_deadline_) complete_join(now);
}

void Group::complete_join(int64_t now) {
  initial_delay_ = false;
  // Members that did not rejoin in time are out.
  for (auto it = members_.begin(); it != members_.end();) {
    if (!it->second.awaiting_join) {
      forget_static(it->second);
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  pending_members_.clear();
  ++generation_;
  if (members_.empty()) {
    // Kafka keeps the protocol type of an emptied group (ListGroups shows it).
    leader_.clear();
    protocol_name_.reset();
    transition(GroupState::Empty, now);
    return;
  }
  if (!members_.count(leader_)) leader_ = members_.begin()->first;
  protocol_name_ = select_protocol();
  transition(GroupState::CompletingRebalance, now);
  sync_deadline_ = now + max_rebalance_timeout();
  for (auto& [id, m] : members_) {
    m.assignment.clear();
    m.session_deadline = now + m.session_timeout_ms;
    auto cb = std::exchange(m.awaiting_join, nullptr);
    cb(join_result_for(m));
  }
}

// Kafka's rule: among the protocols every member supports, each member votes
// for the first one in its own preference order; most votes wins (ties go to
// the leader's preference order).
std::string Group::select_protocol() const {
  const auto& leader = members_.at(leader_);
  std::vector<std::string> candidates;
  for (auto& [name, _] : leader.protocols) {
    bool all = std::all_of(members_.begin(), members_.end(), [&](auto& kv) {
      auto& ps = kv.second.protocols;
      return std::any_of(ps.begin(), ps.end(), [&](auto& x) { return x.first == name; });
    });
    if (all) candidates.push_back(name);
  }
  if (candidates.empty()) return leader.protocols.empty() ? std::string() : leader.protocols.front().first;
  std::map<std::string, int> votes;
  for (auto& [_, m] : members_) {
    for (auto& [name, __] : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), name) != candidates.end()) {
        ++votes[name];
        break;
      }
    }
  }
  std::string best = candidates.front();
  for (auto& c : candidates)
    if (votes[c] > votes[best]) best = c;
  return best;
}

JoinResult Group::join_result_for(const Member& m) const {
  JoinResult r;
  r.generation = generation_;
  r.protocol_type = protocol_type_;
  r.protocol_name = protocol_name_;
  r.leader = leader_;
  r.member_id = m.member_id;
  if (m.member_id == leader_) {
    for (auto& [id, other] : members_) {
      JoinMember jm;
      jm.member_id = id;
      jm.group_instance_id = other.group_instance_id;
      for (auto& [name, meta] : other.protocols)
        if (protocol_name_ && name == *protocol_name_) jm.metadata = meta;
      r.members.push_back(std::move(jm));
    }
  }
  return r;
}

void Group::complete_syncs_with_error(ErrorCode err) {
  for (auto& [_, m] : members_) {
    if (!m.awaiting_sync) continue;
    SyncResult r;
    r.error = err;
    std::exchange(m.awaiting_sync, nullptr)(std::move(r));
  }
}

void Group::sync(const std::string& member_id, const std::optional<std::string>& instance_id, int32_t generation,
                 const std::optional<std::string>& protocol_type, const std::optional<std::string>& protocol_name,
                 std::map<std::string, Bytes> assignments, int64_t now, SyncCallback cb) {
  SyncResult r;
  if (state_ == GroupState::Dead) r.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
  else if (auto e = validate_member(member_id, instance_id); e != ErrorCode::NONE) r.error = e;
  else if (generation != generation_) r.error = ErrorCode::ILLEGAL_GENERATION;
  else if ((protocol_type && protocol_type != protocol_type_) || (protocol_name && protocol_name != protocol_name_))
    r.error = ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
  else if (state_ == GroupState::Empty) r.error = ErrorCode::UNKNOWN_MEMBER_ID;
  else if (state_ == GroupState::PreparingRebalance) r.error = ErrorCode::REBALANCE_IN_PROGRESS;
  if (r.error != ErrorCode::NONE) return cb(std::move(r));
  auto& m = members_.at(member_id);
  m.session_deadline = now + m.session_timeout_ms;
  if (state_ == GroupState::Stable) {
    r.protocol_type = protocol_type_;
    r.protocol_name = protocol_name_;
    r.assignment = m.assignment;
    return cb(std::move(r));
  }
  // CompletingRebalance: wait for the leader's assignment.
  m.awaiting_sync = std::move(cb);
  if (member_id != leader_) return;
  for (auto& [id, mm] : members_) {
    auto a = assignments.find(id);
    mm.assignment = a == assignments.end() ? Bytes{} : std::move(a->second);
  }
  transition(GroupState::Stable, now);
  for (auto& [_, mm] : members_) {
    if (!mm.awaiting_sync) continue;
    SyncResult ok;
    ok.protocol_type = protocol_type_;
    ok.protocol_name = protocol_name_;
    ok.assignment = mm.assignment;
    std::exchange(mm.awaiting_sync, nullptr)(std::move(ok));
  }
}

ErrorCode Group::heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                           int32_t generation, int64_t now) {
  if (state_ == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (auto e = validate_member(member_id, instance_id); e != ErrorCode::NONE) return e;
  if (generation != generation_) return ErrorCode::ILLEGAL_GENERATION;
  if (state_ == GroupState::Empty) return ErrorCode::UNKNOWN_MEMBER_ID;
  auto& m = members_.at(member_id);
  m.session_deadline = now + m.session_timeout_ms;
  if (state_ == GroupState::PreparingRebalance) return ErrorCode::REBALANCE_IN_PROGRESS;
  return ErrorCode::NONE;
}

// Kafka's order: without a member id (an admin removing a static member by
// its instance id) whoever holds the instance id now leaves; a pending member
// id just goes; otherwise the member is validated like any other request, so a
// replaced static member's leave is FENCED_INSTANCE_ID and removes nobody.
ErrorCode Group::leave(const std::string& member_id, const std::optional<std::string>& instance_id, int64_t now) {
  if (state_ == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (member_id.empty()) {
    auto* m = instance_id ? find_static(*instance_id) : nullptr;
    if (!m) return ErrorCode::UNKNOWN_MEMBER_ID;
    remove_member(std::string(m->member_id), now);
    return ErrorCode::NONE;
  }
  if (pending_members_.erase(member_id)) {
    maybe_complete_join(now);
    return ErrorCode::NONE;
  }
  if (auto e = validate_member(member_id, instance_id); e != ErrorCode::NONE) return e;
  remove_member(member_id, now);
  return ErrorCode::NONE;
}

void Group::remove_member(const std::string& member_id, int64_t now) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  Member m = std::move(it->second);
  members_.erase(it);
  forget_static(m);
  if (m.awaiting_join) {
    JoinResult r;
    r.error = ErrorCode::UNKNOWN_MEMBER_ID;
    r.member_id = member_id;
    m.awaiting_join(std::move(r));
  }
  if (m.awaiting_sync) {
    SyncResult r;
    r.error = ErrorCode::UNKNOWN_MEMBER_ID;
    m.awaiting_sync(std::move(r));
  }
  if (leader_ == member_id) leader_ = members_.empty() ? std::string() : members_.begin()->first;
  switch (state_) {
    case GroupState::Stable:
    case GroupState::CompletingRebalance:
      prepare_rebalance(now);
      maybe_complete_join(now);
      break;
    case GroupState::PreparingRebalance:
      maybe_complete_join(now);
      break;
    default:
      break;
  }
}

ErrorCode Group::validate_member(const std::string& member_id, const std::optional<std::string>& instance_id) const {
  if (instance_id) {
    auto it = static_members_.find(*instance_id);
    if (it == static_members_.end()) return ErrorCode::UNKNOWN_MEMBER_ID;
    if (it->second != member_id) return ErrorCode::FENCED_INSTANCE_ID;
  }
  return members_.count(member_id) ? ErrorCode::NONE : ErrorCode::UNKNOWN_MEMBER_ID;
}

ErrorCode Group::validate_commit(const std::string& member_id, const std::optional<std::string>& instance_id,
                                 int32_t generation, bool transactional) const {
  if (state_ == GroupState::Dead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  // Generation -1: an admin client or a consumer without group management,
  // which may commit while nobody is in the group.
  if (generation < 0 && state_ == GroupState::Empty) return ErrorCode::NONE;
  if (generation >= 0 || !member_id.empty() || instance_id) {
    if (auto e = validate_member(member_id, instance_id); e != ErrorCode::NONE) return e;
    if (generation != generation_) return ErrorCode::ILLEGAL_GENERATION;
  } else if (!transactional) {
    return ErrorCode::UNKNOWN_MEMBER_ID;  // only members commit to a group with members
  }
  if (!transactional && state_ == GroupState::CompletingRebalance) return ErrorCode::REBALANCE_IN_PROGRESS;
  return ErrorCode::NONE;
}

void Group::tick(int64_t now) {
  if (state_ == GroupState::Dead) return;
  for (auto it = pending_members_.begin(); it != pending_members_.end();)
    it = it->second <= now ? pending_members_.erase(it) : std::next(it);
  // Sessions: a member waiting in join or sync is kept alive by its request.
  std::vector<std::string> expired;
  for (auto& [id, m] : members_)
    if (!m.awaiting_join && !m.awaiting_sync && m.session_deadline <= now) expired.push_back(id);
  for (auto& id : expired) remove_member(id, now);
  if (state_ == GroupState::PreparingRebalance) maybe_complete_join(now);
  if (state_ == GroupState::CompletingRebalance && now >= sync_deadline_) {
    // The leader never sent the assignment: drop the members that did not sync and start over.
    std::vector<std::string> missing;
    for (auto& [id, m] : members_)
      if (!m.awaiting_sync) missing.push_back(id);
    if (missing.empty()) missing.push_back(leader_);
    for (auto& id : missing) remove_member(id, now);
  }
}

ErrorCode Group::mark_dead() {
  if (state_ == GroupState::Dead) return ErrorCode::GROUP_ID_NOT_FOUND;
  if (state_ != GroupState::Empty) return ErrorCode::NON_EMPTY_GROUP;
  state_ = GroupState::Dead;  // not recorded: whoever kills the group writes its tombstone
  return ErrorCode::NONE;
}

void Group::unload() { close_with(ErrorCode::NOT_COORDINATOR); }

// The group is gone: whoever waits in JoinGroup or SyncGroup hears `err`.
void Group::close_with(ErrorCode err) {
  state_ = GroupState::Dead;
  for (auto& [id, m] : members_) {
    if (m.awaiting_join) {
      JoinResult r;
      r.error = err;
      r.member_id = id;
      std::exchange(m.awaiting_join, nullptr)(std::move(r));
    }
    if (m.awaiting_sync) {
      SyncResult r;
      r.error = err;
      std::exchange(m.awaiting_sync, nullptr)(std::move(r));
    }
  }
  members_.clear();
  pending_members_.clear();
  static_members_.clear();
}

std::vector<ClassicMemberState> Group::member_states() const {
  std::vector<ClassicMemberState> out;
  for (auto& [id, m] : members_)
    out.push_back({id, m.group_instance_id, m.client_id, m.client_host, m.session_timeout_ms, m.rebalance_timeout_ms,
                   m.protocols, m.assignment});
  return out;
}

void Group::close_for_upgrade() { close_with(ErrorCode::REBALANCE_IN_PROGRESS); }

void Group::begin_rebalance(int64_t now) {
  if (state_ == GroupState::Dead || state_ == GroupState::PreparingRebalance) return;
  prepare_rebalance(now);
  maybe_complete_join(now);
}

std::vector<MemberDescription> Group::describe() const {
  std::vector<MemberDescription> out;
  for (auto& [id, m] : members_) {
    MemberDescription d;
    d.member_id = id;
    d.group_instance_id = m.group_instance_id;
    d.client_id = m.client_id;
    d.client_host = m.client_host;
    for (auto& [name, meta] : m.protocols)
      if (protocol_name_ && name == *protocol_name_) d.metadata = meta;
    d.assignment = m.assignment;
    out.push_back(std::move(d));
  }
  return out;
}

bool Group::subscribed_to(const std::string& topic) const {
  if (members_.empty()) return false;
  if (protocol_type_ != "consumer" || !protocol_name_) return true;
  for (auto& [_, m] : members_) {
    for (auto& [name, meta] : m.protocols) {
      if (name != *protocol_name_) continue;
      auto sub = decode_consumer_subscription(meta);
      if (!sub || std::find(sub->topics.begin(), sub->topics.end(), topic) != sub->topics.end()) return true;
    }
  }
  return false;
}

}  // namespace samsa::coordinator
