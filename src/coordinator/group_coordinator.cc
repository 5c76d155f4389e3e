#include "coordinator/group_coordinator.h"

namespace samsa::coordinator {

namespace {
// How often deadlines are checked: session timeouts are >= 6 s by default, so
// 100 ms of lateness is noise.
constexpr auto kTickInterval = std::chrono::milliseconds(100);
}  // namespace

GroupCoordinator::GroupCoordinator(asio::io_context& io, GroupConfig config, std::function<int64_t()> clock)
    : io_(io), config_(config), clock_(std::move(clock)), timer_(io) {}

GroupCoordinator::~GroupCoordinator() = default;

Group* GroupCoordinator::find(const std::string& group_id) {
  on_owner();
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

Group& GroupCoordinator::get_or_create(const std::string& group_id) {
  on_owner();
  auto& g = groups_[group_id];
  if (!g || g->state() == GroupState::Dead) g = std::make_unique<Group>(group_id, config_);
  if (!ticking_) schedule_tick();
  return *g;
}

ConsumerGroup* GroupCoordinator::find_consumer(const std::string& group_id) {
  on_owner();
  auto it = consumer_groups_.find(group_id);
  return it == consumer_groups_.end() ? nullptr : it->second.get();
}

ConsumerGroup& GroupCoordinator::get_or_create_consumer(const std::string& group_id) {
  on_owner();
  auto& g = consumer_groups_[group_id];
  if (!g) g = std::make_unique<ConsumerGroup>(group_id, config_.consumer);
  if (!ticking_) schedule_tick();
  return *g;
}

std::vector<const ConsumerGroup*> GroupCoordinator::consumer_groups() const {
  on_owner();
  std::vector<const ConsumerGroup*> out;
  for (auto& [_, g] : consumer_groups_) out.push_back(g.get());
  return out;
}

void GroupCoordinator::erase_empty_classic(const std::string& group_id) {
  on_owner();
  auto it = groups_.find(group_id);
  if (it != groups_.end() && it->second->member_count() == 0 && !it->second->has_pending_members()) {
    groups_.erase(it);
    recorded_seq_.erase(group_id);
  }
}

std::optional<ConsumerHeartbeatResult> GroupCoordinator::upgrade_and_join(const std::string& group_id,
                                                                          const ConsumerHeartbeat& h,
                                                                          const TopicCatalog& topics) {
  on_owner();
  auto it = groups_.find(group_id);
  if (it == groups_.end() || h.member_epoch != 0 || !upgrade_enabled(config_.migration)) return std::nullopt;
  Group& classic = *it->second;
  if (classic.protocol_type() != "consumer" || classic.member_count() == 0 ||
      classic.member_count() + 1 > static_cast<size_t>(std::max(0, config_.consumer.max_size)))
    return std::nullopt;
  auto converted = ConsumerGroup::from_classic(group_id, config_.consumer, classic.generation(), classic.protocol_name(),
                                               classic.member_states(), topics, now());
  if (!converted) return std::nullopt;  // malformed member metadata: it stays classic
  auto res = converted->heartbeat(h, topics, now());
  if (res.error != ErrorCode::NONE) return res;  // nothing changes
  // Members waiting in a classic rebalance join the consumer group anew.
  std::unique_ptr<Group> gone = std::move(it->second);
  groups_.erase(it);
  recorded_seq_.erase(group_id);
  gone->close_for_upgrade();
  consumer_groups_[group_id] = std::make_unique<ConsumerGroup>(std::move(*converted));
  consumer_recorded_seq_.erase(group_id);
  conversions_due_.insert(group_id);
  if (!ticking_) schedule_tick();
  return res;
}

bool GroupCoordinator::maybe_downgrade(const std::string& group_id, bool rebalance) {
  on_owner();
  auto it = consumer_groups_.find(group_id);
  if (it == consumer_groups_.end() || !it->second->take_consumer_member_left()) return false;
  const ConsumerGroup& cg = *it->second;
  if (!downgrade_enabled(config_.migration) || !cg.all_classic() ||
      cg.members().size() > static_cast<size_t>(std::max(0, config_.max_size)))
    return false;
  const int64_t t = now();
  auto record = cg.to_classic_record(t);
  if (!record) return false;
  consumer_groups_.erase(it);
  consumer_recorded_seq_.erase(group_id);
  auto& g = groups_[group_id] = std::make_unique<Group>(group_id, config_);
  g->restore(*record, t);
  if (rebalance) g->begin_rebalance(t);
  // The classic record goes with the consumer group's tombstones (one batch), not on its own.
  recorded_seq_[group_id] = g->record_seq();
  conversions_due_.insert(group_id);
  return true;
}

std::vector<const Group*> GroupCoordinator::groups() const {
  on_owner();
  std::vector<const Group*> out;
  for (auto& [_, g] : groups_)
    if (g->state() != GroupState::Dead) out.push_back(g.get());
  return out;
}

void GroupCoordinator::set_persistence(GroupPersistence p) {
  persistence_ = std::move(p);
  next_expiry_check_ = now() + persistence_.check_interval_ms;
  if (!ticking_) schedule_tick();
}

void GroupCoordinator::schedule_tick() {
  ticking_ = true;
  timer_.expires_after(kTickInterval);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) {
      ticking_ = false;
      return;
    }
    tick();
    schedule_tick();
  });
}

bool GroupCoordinator::take_consumer_change(const std::string& id) {
  on_owner();
  auto it = consumer_groups_.find(id);
  if (it == consumer_groups_.end()) return false;
  uint64_t& recorded = consumer_recorded_seq_[id];
  if (it->second->change_seq() == recorded) return false;
  recorded = it->second->change_seq();
  return true;
}

void GroupCoordinator::consumer_write_failed(const std::string& id) {
  on_owner();
  consumer_recorded_seq_.erase(id);
}

void GroupCoordinator::tick() {
  on_owner();
  int64_t t = now();
  for (auto& [_, g] : groups_) g->tick(t);
  std::vector<std::string> changed;
  for (auto& [id, g] : consumer_groups_)
    if (g->tick(t)) changed.push_back(id);
  for (auto& id : changed) maybe_downgrade(id);  // a consumer-protocol member's session expired
  if (persistence_.write_consumer_group) {
    std::set<std::string> due(conversions_due_.begin(), conversions_due_.end());
    for (auto& [id, g] : consumer_groups_)
      if (g->change_seq() != consumer_recorded_seq_[id]) due.insert(id);
    for (auto& id : due) {
      if (auto g = consumer_groups_.find(id); g != consumer_groups_.end()) consumer_recorded_seq_[id] = g->second->change_seq();
      persistence_.write_consumer_group(id);
    }
  }
  if (persistence_.write_group) {
    std::vector<std::string> due;
    for (auto& [id, g] : groups_)
      if (g->state() != GroupState::Dead && g->record_seq() != recorded_seq_[id]) due.push_back(id);
    for (auto& id : due) {
      recorded_seq_[id] = groups_.at(id)->record_seq();
      persistence_.write_group(id);
    }
  }
  if (persistence_.expire && !expiring_ && t >= next_expiry_check_) {
    next_expiry_check_ = t + persistence_.check_interval_ms;
    auto expired = find_expired(t, persistence_.retention_ms);
    if (!expired.empty()) {
      expiring_ = true;
      persistence_.expire(std::move(expired));
    }
  }
}

bool GroupCoordinator::take_changed(const std::string& group) {
  on_owner();
  auto* g = find(group);
  if (!g || g->state() == GroupState::Dead) return false;
  auto& seen = recorded_seq_[group];
  if (seen == g->record_seq()) return false;
  seen = g->record_seq();
  return true;
}

std::optional<GroupMetadataValue> GroupCoordinator::group_record(const std::string& group) const {
  on_owner();
  auto it = groups_.find(group);
  if (it == groups_.end() || it->second->state() == GroupState::Dead) return std::nullopt;
  return it->second->to_record();
}

void GroupCoordinator::apply_group_record(const std::string& group, const std::optional<GroupMetadataValue>& v) {
  on_owner();
  if (!v) {
    // The group is gone; offsets without a tombstone (none, normally) stay
    // under a bare group, as a simple consumer's.
    groups_.erase(group);
    recorded_seq_.erase(group);
    if (offsets_.count(group)) groups_[group] = std::make_unique<Group>(group, config_);
    return;
  }
  auto& g = groups_[group];
  if (!g) g = std::make_unique<Group>(group, config_);
  g->restore(*v, now());
  recorded_seq_[group] = g->record_seq();
}

std::vector<ExpiredOffsets> GroupCoordinator::find_expired(int64_t now, int64_t retention_ms) const {
  on_owner();
  std::vector<ExpiredOffsets> out;
  for (auto& [id, gp] : groups_) {
    const Group& g = *gp;
    bool empty = g.state() == GroupState::Empty;
    bool stable_consumer = g.state() == GroupState::Stable && g.protocol_type() == "consumer";
    if (!empty && !stable_consumer) continue;
    ExpiredOffsets e;
    e.group = id;
    auto pending = pending_partitions(id);
    size_t kept = 0;
    if (auto* offsets = this->offsets(id)) {
      for (auto& [tp, o] : *offsets) {
        bool eligible = !pending.count(tp) && (empty || !g.subscribed_to(tp.first));
        // The base time: when the group became empty, else the commit.
        int64_t base = empty && g.state_timestamp() ? *g.state_timestamp() : o.commit_timestamp;
        bool expired = o.expire_timestamp ? now >= *o.expire_timestamp : now - base >= retention_ms;
        if (eligible && expired)
          e.partitions.push_back(tp);
        else
          ++kept;
      }
    }
    e.group_dead = empty && kept == 0 && pending.empty() && g.member_count() == 0 && !g.has_pending_members();
    if (!e.partitions.empty() || e.group_dead) out.push_back(std::move(e));
  }
  // KIP-848 groups, Kafka's rule for them: an offset of a topic no member
  // subscribes to (every topic of an empty group) expires retention after its
  // commit. A group without members whose offsets are all gone dies with them
  // (Kafka's cleanupGroupMetadata): its records are tombstoned.
  for (auto& [id, gp] : consumer_groups_) {
    const auto* offsets = this->offsets(id);
    ExpiredOffsets e;
    e.group = id;
    e.consumer_group = true;
    auto pending = pending_partitions(id);
    size_t kept = 0;
    if (offsets) {
      for (auto& [tp, o] : *offsets) {
        const bool eligible = !pending.count(tp) && (gp->empty() || !gp->subscribed_to(tp.first));
        const bool expired = o.expire_timestamp ? now >= *o.expire_timestamp : now - o.commit_timestamp >= retention_ms;
        if (eligible && expired) e.partitions.push_back(tp);
        else ++kept;
      }
    }
    e.group_dead = gp->empty() && kept == 0 && pending.empty();
    if (!e.partitions.empty() || e.group_dead) out.push_back(std::move(e));
  }
  return out;
}

void GroupCoordinator::apply_expired(const ExpiredOffsets& e) {
  on_owner();
  if (auto it = offsets_.find(e.group); it != offsets_.end()) {
    for (auto& tp : e.partitions) it->second.erase(tp);
    if (it->second.empty()) offsets_.erase(it);
  }
  if (!e.group_dead) return;
  // Someone may have joined or committed while the tombstones were written:
  // then the group lives on (its next record supersedes the tombstone).
  if (e.consumer_group) {
    auto* cg = find_consumer(e.group);
    if (cg && cg->empty() && !offsets_.count(e.group)) consumer_groups_.erase(e.group);
    return;
  }
  auto* g = find(e.group);
  if (!g || g->state() != GroupState::Empty || g->member_count() != 0 || offsets_.count(e.group)) return;
  g->mark_dead();
  groups_.erase(e.group);
  recorded_seq_.erase(e.group);
}

void GroupCoordinator::unload(const std::function<bool(const std::string& group)>& in_partition,
                              int32_t offsets_partition) {
  on_owner();
  std::vector<std::string> gone;
  for (auto& [id, g] : groups_)
    if (in_partition(id)) gone.push_back(id);
  for (auto& [id, _] : offsets_)
    if (!groups_.count(id) && in_partition(id)) gone.push_back(id);
  for (auto it = consumer_groups_.begin(); it != consumer_groups_.end();)
    it = in_partition(it->first) ? consumer_groups_.erase(it) : std::next(it);
  for (auto it = conversions_due_.begin(); it != conversions_due_.end();)
    it = in_partition(*it) ? conversions_due_.erase(it) : std::next(it);
  for (auto& id : gone) {
    // Out of the map first: a member's callback may not find the group again.
    auto it = groups_.find(id);
    std::unique_ptr<Group> g;
    if (it != groups_.end()) {
      g = std::move(it->second);
      groups_.erase(it);
    }
    offsets_.erase(id);
    recorded_seq_.erase(id);
    if (g) g->unload();
  }
  for (auto it = pending_.begin(); it != pending_.end();)
    it = it->first.second == offsets_partition ? pending_.erase(it) : std::next(it);
}

void GroupCoordinator::apply_commit(const std::string& group, const std::string& topic, int32_t partition,
                                    CommittedOffset v) {
  on_owner();
  offsets_[group][{topic, partition}] = std::move(v);
  if (!groups_.count(group) && !consumer_groups_.count(group)) groups_[group] = std::make_unique<Group>(group, config_);
}

void GroupCoordinator::apply_delete(const std::string& group, const std::string& topic, int32_t partition) {
  on_owner();
  auto it = offsets_.find(group);
  if (it == offsets_.end()) return;
  it->second.erase({topic, partition});
  if (!it->second.empty()) return;
  offsets_.erase(it);
  // A group that was only a holder of offsets (e.g. replayed, then deleted) goes with them.
  // (One with a group metadata record stays, Empty, until expiry kills it and
  // writes its tombstone, as in Kafka.)
  auto g = groups_.find(group);
  if (g != groups_.end() && g->second->state() == GroupState::Empty && g->second->member_count() == 0 &&
      !g->second->state_timestamp())
    groups_.erase(g);
}

void GroupCoordinator::add_pending(int64_t producer_id, int32_t offsets_partition, const std::string& group,
                                   const std::string& topic, int32_t partition, CommittedOffset v) {
  on_owner();
  pending_[{producer_id, offsets_partition}].push_back(PendingOffset{group, topic, partition, std::move(v)});
}

void GroupCoordinator::complete_txn(int64_t producer_id, int32_t offsets_partition, bool commit) {
  on_owner();
  auto it = pending_.find({producer_id, offsets_partition});
  if (it == pending_.end()) return;
  if (commit) {
    for (auto& p : it->second) apply_commit(p.group, p.topic, p.partition, p.value);
  }
  pending_.erase(it);
}

std::set<std::pair<std::string, int32_t>> GroupCoordinator::pending_partitions(const std::string& group) const {
  on_owner();
  std::set<std::pair<std::string, int32_t>> out;
  for (const auto& [key, list] : pending_) {
    for (const auto& p : list) {
      if (p.group == group) out.emplace(p.topic, p.partition);
    }
  }
  return out;
}

const OffsetMap* GroupCoordinator::offsets(const std::string& group) const {
  on_owner();
  auto it = offsets_.find(group);
  return it == offsets_.end() ? nullptr : &it->second;
}

ErrorCode GroupCoordinator::delete_group(const std::string& group_id) {
  on_owner();
  if (auto* cg = find_consumer(group_id)) {
    if (!cg->empty()) return ErrorCode::NON_EMPTY_GROUP;
    consumer_groups_.erase(group_id);
    offsets_.erase(group_id);
    groups_.erase(group_id);
    return ErrorCode::NONE;
  }
  auto* g = find(group_id);
  if (!g || g->state() == GroupState::Dead) return ErrorCode::GROUP_ID_NOT_FOUND;
  auto err = g->mark_dead();
  if (err != ErrorCode::NONE) return err;
  offsets_.erase(group_id);
  groups_.erase(group_id);
  recorded_seq_.erase(group_id);
  return ErrorCode::NONE;
}

}  // namespace samsa::coordinator
