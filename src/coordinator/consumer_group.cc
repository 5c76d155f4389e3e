#include "coordinator/consumer_group.h"

#include <fmt/format.h>

#include <regex>

#include "base/random.h"

namespace samsa::coordinator {

namespace {

bool contains(const Assignment& a, const TopicId& t, int32_t p) {
  auto it = a.find(t);
  return it != a.end() && it->second.count(p);
}

Assignment minus(const Assignment& a, const Assignment& b) {
  Assignment out;
  for (auto& [t, ps] : a)
    for (int32_t p : ps)
      if (!contains(b, t, p)) out[t].insert(p);
  return out;
}

Assignment intersect(const Assignment& a, const Assignment& b) {
  Assignment out;
  for (auto& [t, ps] : a)
    for (int32_t p : ps)
      if (contains(b, t, p)) out[t].insert(p);
  return out;
}

std::string new_member_id() {
  Random& rng = unique_ids();
  uint64_t a = rng.next_u64(), b = rng.next_u64();
  return fmt::format("{:016x}{:016x}", a, b);
}

}  // namespace

std::optional<std::vector<std::string>> match_topic_regex(const std::string& pattern, const TopicCatalog& topics) {
  if (pattern.size() > 4096) return std::nullopt;
  std::vector<std::string> out;
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    for (auto& [name, _] : topics)
      if (name.rfind("__", 0) != 0 && std::regex_match(name, re)) out.push_back(name);
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
  return out;
}

ConsumerGroup::ConsumerGroup(std::string id, ConsumerGroupConfig config) : id_(std::move(id)), config_(std::move(config)) {}

const char* ConsumerGroup::state_name() const {
  if (members_.empty()) return "Empty";
  if (group_epoch_ > assignment_epoch_) return "Assigning";
  for (auto& [_, m] : members_)
    if (m.member_epoch != assignment_epoch_ || m.state != MemberState::Stable) return "Reconciling";
  return "Stable";
}

const ConsumerMember* ConsumerGroup::member(const std::string& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

std::string ConsumerGroup::assignor() const {
  std::map<std::string, int> votes;
  for (auto& [_, m] : members_)
    if (m.server_assignor && known_assignor(*m.server_assignor)) ++votes[*m.server_assignor];
  std::string best = config_.default_assignor;
  int n = 0;
  for (auto& [name, v] : votes)
    if (v > n) best = name, n = v;
  return best;
}

ConsumerHeartbeatResult ConsumerGroup::heartbeat(const ConsumerHeartbeat& h, const TopicCatalog& topics, int64_t now) {
  ConsumerHeartbeatResult out;
  out.member_id = h.member_id;
  out.member_epoch = h.member_epoch;
  out.heartbeat_interval_ms = config_.heartbeat_interval_ms;
  auto fail = [&out](ErrorCode e, std::string msg) {
    out.error = e;
    out.message = std::move(msg);
    return out;
  };
  if (h.server_assignor && !h.server_assignor->empty() && !known_assignor(*h.server_assignor))
    return fail(ErrorCode::UNSUPPORTED_ASSIGNOR, "unknown server assignor " + *h.server_assignor);
  if (h.subscribed_topic_regex && !h.subscribed_topic_regex->empty() &&
      !match_topic_regex(*h.subscribed_topic_regex, {}))
    return fail(ErrorCode::INVALID_REGULAR_EXPRESSION, "invalid regular expression");
  if (h.member_epoch == -1 || h.member_epoch == -2) return leave(h, now);
  ConsumerMember* m = nullptr;
  if (h.member_epoch == 0) {
    m = join(h, out, now);
    if (!m) return out;
  } else {
    if (h.member_epoch < -2) return fail(ErrorCode::INVALID_REQUEST, "invalid member epoch");
    auto it = members_.find(h.member_id);
    if (it == members_.end()) return fail(ErrorCode::UNKNOWN_MEMBER_ID, "unknown member " + h.member_id);
    if (it->second.classic)
      return fail(ErrorCode::UNKNOWN_MEMBER_ID, "member " + h.member_id + " uses the classic protocol");
    m = &it->second;
    if (m->instance_id != h.instance_id && h.instance_id) return fail(ErrorCode::FENCED_INSTANCE_ID, "instance id mismatch");
    if (h.member_epoch > m->member_epoch) return fail(ErrorCode::FENCED_MEMBER_EPOCH, "member epoch ahead");
    if (h.member_epoch < m->member_epoch) {
      // A member may lag one epoch (the answer that raised it was lost) if it owns nothing it should not.
      bool ok = h.member_epoch == m->previous_member_epoch && (!h.owned || minus(*h.owned, m->assigned).empty());
      if (!ok) return fail(ErrorCode::FENCED_MEMBER_EPOCH, "member epoch behind");
    }
  }
  // Subscription changes.
  bool changed = false;
  if (h.subscribed_topic_names) {
    auto names = *h.subscribed_topic_names;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (names != m->subscribed_topic_names) m->subscribed_topic_names = std::move(names), changed = true;
  }
  if (h.subscribed_topic_regex) {
    std::optional<std::string> re = h.subscribed_topic_regex->empty() ? std::nullopt : h.subscribed_topic_regex;
    if (re != m->subscribed_topic_regex) m->subscribed_topic_regex = std::move(re), changed = true;
  }
  if (h.server_assignor) {
    std::optional<std::string> a = h.server_assignor->empty() ? std::nullopt : h.server_assignor;
    if (a != m->server_assignor) m->server_assignor = std::move(a), changed = true;
  }
  if (h.rack_id) m->rack_id = h.rack_id;
  if (h.rebalance_timeout_ms > 0) m->rebalance_timeout_ms = h.rebalance_timeout_ms;
  if (!h.client_id.empty()) m->client_id = h.client_id;
  if (!h.client_host.empty()) m->client_host = h.client_host;
  m->session_deadline = now + config_.session_timeout_ms;
  if (changed) bump_due_ = true;
  const std::string member_id = m->member_id;
  refresh_subscriptions(topics);
  if (bump_due_) bump();
  bump_due_ = false;
  maybe_compute_target();
  m = &members_.at(member_id);
  Assignment before = m->assigned;
  int32_t epoch_before = m->member_epoch;
  MemberState state_before = m->state;
  reconcile(*m, h.owned, now);
  if (m->assigned != before || m->member_epoch != epoch_before || m->state != state_before) ++change_seq_;
  out.member_id = m->member_id;
  out.member_epoch = m->member_epoch;
  // The assignment is sent when it changed, on a join, or when the member's view differs.
  if (h.member_epoch == 0 || m->assigned != before || m->member_epoch != epoch_before ||
      (h.owned && *h.owned != m->assigned))
    out.assignment = m->assigned;
  return out;
}

ConsumerMember* ConsumerGroup::join(const ConsumerHeartbeat& h, ConsumerHeartbeatResult& out, int64_t now) {
  if (h.instance_id) {
    auto sit = static_members_.find(*h.instance_id);
    if (sit != static_members_.end()) {
      auto& old = members_.at(sit->second);
      if (old.member_epoch != -2 && old.member_id != h.member_id) {
        out.error = ErrorCode::UNRELEASED_INSTANCE_ID;
        out.message = "instance id " + *h.instance_id + " is in use by " + old.member_id;
        return nullptr;
      }
      if (old.member_epoch == -2) {
        // A static member back within its session: it takes over the old member's epoch and
        // assignment under its new id, and nobody else rebalances.
        ConsumerMember m = old;
        m.member_id = h.member_id.empty() ? new_member_id() : h.member_id;
        m.member_epoch = old.previous_member_epoch;
        m.previous_member_epoch = old.previous_member_epoch;
        m.session_deadline = now + config_.session_timeout_ms;
        std::string old_id = old.member_id;
        if (auto t = target_.find(old_id); t != target_.end()) {
          auto a = std::move(t->second);
          target_.erase(t);
          target_[m.member_id] = std::move(a);
        }
        members_.erase(old_id);
        sit->second = m.member_id;
        auto& placed = members_[m.member_id] = std::move(m);
        ++change_seq_;
        return &placed;
      }
    }
  }
  if (!h.member_id.empty()) {
    if (auto it = members_.find(h.member_id); it != members_.end()) return &it->second;  // a rejoin
  }
  if (members_.size() >= static_cast<size_t>(std::max(0, config_.max_size))) {
    out.error = ErrorCode::GROUP_MAX_SIZE_REACHED;
    out.message = "the group has reached its maximum size";
    return nullptr;
  }
  ConsumerMember m;
  m.member_id = h.member_id.empty() ? new_member_id() : h.member_id;
  m.instance_id = h.instance_id;
  m.session_deadline = now + config_.session_timeout_ms;
  if (m.instance_id) static_members_[*m.instance_id] = m.member_id;
  auto id = m.member_id;
  auto& placed = members_[id] = std::move(m);
  bump_due_ = true;
  return &placed;
}

ConsumerHeartbeatResult ConsumerGroup::leave(const ConsumerHeartbeat& h, int64_t now) {
  (void)now;
  ConsumerHeartbeatResult out;
  out.member_id = h.member_id;
  out.member_epoch = h.member_epoch;
  out.heartbeat_interval_ms = 0;
  auto it = members_.find(h.member_id);
  if (it == members_.end()) {
    out.error = ErrorCode::UNKNOWN_MEMBER_ID;
    return out;
  }
  if (h.member_epoch == -2 && it->second.instance_id) {
    auto& m = it->second;
    // Kept, with its assignment, until it comes back or its session expires.
    if (m.member_epoch != -2) m.previous_member_epoch = m.member_epoch;
    m.member_epoch = -2;
    ++change_seq_;
    return out;
  }
  remove_member(h.member_id);
  out.member_epoch = -1;
  return out;
}

void ConsumerGroup::remove_member(const std::string& member_id) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  if (it->second.instance_id) {
    auto s = static_members_.find(*it->second.instance_id);
    if (s != static_members_.end() && s->second == member_id) static_members_.erase(s);
  }
  if (!it->second.classic) consumer_member_left_ = true;
  members_.erase(it);
  target_.erase(member_id);
  bump();
  maybe_compute_target();
}

void ConsumerGroup::forget_member(const std::string& member_id) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  if (it->second.instance_id) static_members_.erase(*it->second.instance_id);
  members_.erase(it);
}

void ConsumerGroup::refresh_subscriptions(const TopicCatalog& topics) {
  TopicCatalog meta;
  for (auto& [_, m] : members_) {
    for (auto& n : m.subscribed_topic_names)
      if (auto t = topics.find(n); t != topics.end()) meta[n] = t->second;
    if (m.subscribed_topic_regex)
      if (auto names = match_topic_regex(*m.subscribed_topic_regex, topics))
        for (auto& n : *names) meta[n] = topics.at(n);
  }
  if (meta != subscribed_meta_) {
    subscribed_meta_ = std::move(meta);
    bump_due_ = true;
  }
}

void ConsumerGroup::maybe_compute_target() {
  if (group_epoch_ <= assignment_epoch_) return;
  std::map<TopicId, TopicMeta> by_id;
  for (auto& [_, t] : subscribed_meta_) by_id[t.id] = t;
  std::vector<AssignorMember> in;
  for (auto& [id, m] : members_) {
    AssignorMember a;
    a.member_id = id;
    for (auto& n : m.subscribed_topic_names)
      if (auto t = subscribed_meta_.find(n); t != subscribed_meta_.end()) a.subscribed.insert(t->second.id);
    if (m.subscribed_topic_regex)
      if (auto names = match_topic_regex(*m.subscribed_topic_regex, subscribed_meta_))
        for (auto& n : *names) a.subscribed.insert(subscribed_meta_.at(n).id);
    if (auto t = target_.find(id); t != target_.end()) a.current = t->second;
    in.push_back(std::move(a));
  }
  target_ = run_assignor(assignor(), in, by_id);
  assignment_epoch_ = group_epoch_;
  ++change_seq_;
}

bool ConsumerGroup::owned_by_other(const std::string& member_id, const TopicId& t, int32_t p) const {
  for (auto& [id, m] : members_)
    if (id != member_id && (contains(m.assigned, t, p) || contains(m.pending_revocation, t, p))) return true;
  return false;
}

void ConsumerGroup::reconcile(ConsumerMember& m, const std::optional<Assignment>& owned, int64_t now) {
  if (m.member_epoch == -2) return;
  if (m.state == MemberState::UnrevokedPartitions) {
    // Waiting for the member to give up partitions: its heartbeat must list none of them.
    if (!owned || !intersect(*owned, m.pending_revocation).empty()) return;
    m.pending_revocation.clear();
    m.revocation_deadline = 0;
  } else if (m.state == MemberState::Stable && m.member_epoch == assignment_epoch_) {
    return;
  }
  Assignment target;
  if (auto t = target_.find(m.member_id); t != target_.end()) target = t->second;
  Assignment keep = intersect(m.assigned, target);
  Assignment revoke = minus(m.assigned, target);
  if (!revoke.empty()) {
    m.assigned = std::move(keep);
    m.pending_revocation = std::move(revoke);
    m.state = MemberState::UnrevokedPartitions;
    // A classic member revokes by rejoining: its join and sync deadlines bound that instead.
    if (!m.classic)
      m.revocation_deadline = now + (m.rebalance_timeout_ms > 0 ? m.rebalance_timeout_ms : config_.session_timeout_ms);
    return;
  }
  bool unreleased = false;
  for (auto& [t, ps] : minus(target, keep))
    for (int32_t p : ps) {
      if (owned_by_other(m.member_id, t, p)) unreleased = true;
      else keep[t].insert(p);
    }
  m.assigned = std::move(keep);
  if (m.member_epoch != assignment_epoch_) {
    m.previous_member_epoch = m.member_epoch;
    m.member_epoch = assignment_epoch_;
  }
  m.state = unreleased ? MemberState::UnreleasedPartitions : MemberState::Stable;
}

ErrorCode ConsumerGroup::validate_commit(const std::string& member_id, int32_t member_epoch) const {
  // The admin client (or a consumer without group management) commits with no member and epoch -1.
  if (member_id.empty() && member_epoch < 0) return ErrorCode::NONE;
  auto* m = member(member_id);
  if (!m) return ErrorCode::UNKNOWN_MEMBER_ID;
  // A classic member commits with its generation, which is its member epoch (Kafka's rule).
  if (member_epoch != m->member_epoch) return m->classic ? ErrorCode::ILLEGAL_GENERATION : ErrorCode::STALE_MEMBER_EPOCH;
  return ErrorCode::NONE;
}

ErrorCode ConsumerGroup::validate_fetch(const std::optional<std::string>& member_id, int32_t member_epoch) const {
  if (!member_id) return ErrorCode::NONE;
  auto* m = member(*member_id);
  if (!m) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (member_epoch != m->member_epoch) return ErrorCode::STALE_MEMBER_EPOCH;
  return ErrorCode::NONE;
}

bool ConsumerGroup::tick(int64_t now) {
  std::vector<std::string> gone;
  auto due = [now](int64_t deadline) { return deadline != 0 && now >= deadline; };
  for (auto& [id, m] : members_)
    if (now >= m.session_deadline || due(m.revocation_deadline) || due(m.join_deadline) || due(m.sync_deadline))
      gone.push_back(id);
  for (auto& id : gone) remove_member(id);
  return !gone.empty();
}

void ConsumerGroup::restore_epochs(int32_t group_epoch, int32_t assignment_epoch) {
  group_epoch_ = group_epoch;
  assignment_epoch_ = assignment_epoch;
}

void ConsumerGroup::restore_member(ConsumerMember m, int64_t now) {
  const int32_t session = m.classic ? m.classic->session_timeout_ms : config_.session_timeout_ms;
  m.session_deadline = now + session;
  m.revocation_deadline = m.state == MemberState::UnrevokedPartitions && !m.classic ? now + session : 0;
  // A classic member rejoins after a restart (its heartbeat says so when needed).
  m.join_deadline = m.sync_deadline = 0;
  if (m.instance_id) static_members_[*m.instance_id] = m.member_id;
  auto id = m.member_id;
  members_[id] = std::move(m);
}

void ConsumerGroup::restore_target(const std::string& member_id, std::optional<Assignment> a) {
  if (a) target_[member_id] = std::move(*a);
  else target_.erase(member_id);
}

}  // namespace samsa::coordinator
