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
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

Group& GroupCoordinator::get_or_create(const std::string& group_id) {
  auto& g = groups_[group_id];
  if (!g || g->state() == GroupState::Dead) g = std::make_unique<Group>(group_id, config_);
  if (!ticking_) schedule_tick();
  return *g;
}

std::vector<const Group*> GroupCoordinator::groups() const {
  std::vector<const Group*> out;
  for (auto& [_, g] : groups_)
    if (g->state() != GroupState::Dead) out.push_back(g.get());
  return out;
}

void GroupCoordinator::schedule_tick() {
  ticking_ = true;
  timer_.expires_after(kTickInterval);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) {
      ticking_ = false;
      return;
    }
    int64_t t = now();
    for (auto& [_, g] : groups_) g->tick(t);
    schedule_tick();
  });
}

void GroupCoordinator::apply_commit(const std::string& group, const std::string& topic, int32_t partition,
                                    CommittedOffset v) {
  offsets_[group][{topic, partition}] = std::move(v);
  if (!groups_.count(group)) groups_[group] = std::make_unique<Group>(group, config_);
}

void GroupCoordinator::apply_delete(const std::string& group, const std::string& topic, int32_t partition) {
  auto it = offsets_.find(group);
  if (it == offsets_.end()) return;
  it->second.erase({topic, partition});
  if (!it->second.empty()) return;
  offsets_.erase(it);
  // A group that was only a holder of offsets (e.g. replayed, then deleted) goes with them.
  auto g = groups_.find(group);
  if (g != groups_.end() && g->second->state() == GroupState::Empty && g->second->member_count() == 0)
    groups_.erase(g);
}

void GroupCoordinator::add_pending(int64_t producer_id, int32_t offsets_partition, const std::string& group,
                                   const std::string& topic, int32_t partition, CommittedOffset v) {
  pending_[{producer_id, offsets_partition}].push_back(PendingOffset{group, topic, partition, std::move(v)});
}

void GroupCoordinator::complete_txn(int64_t producer_id, int32_t offsets_partition, bool commit) {
  auto it = pending_.find({producer_id, offsets_partition});
  if (it == pending_.end()) return;
  if (commit) {
    for (auto& p : it->second) apply_commit(p.group, p.topic, p.partition, p.value);
  }
  pending_.erase(it);
}

std::set<std::pair<std::string, int32_t>> GroupCoordinator::pending_partitions(const std::string& group) const {
  std::set<std::pair<std::string, int32_t>> out;
  for (const auto& [key, list] : pending_) {
    for (const auto& p : list) {
      if (p.group == group) out.emplace(p.topic, p.partition);
    }
  }
  return out;
}

const OffsetMap* GroupCoordinator::offsets(const std::string& group) const {
  auto it = offsets_.find(group);
  return it == offsets_.end() ? nullptr : &it->second;
}

ErrorCode GroupCoordinator::delete_group(const std::string& group_id) {
  auto* g = find(group_id);
  if (!g || g->state() == GroupState::Dead) return ErrorCode::GROUP_ID_NOT_FOUND;
  auto err = g->mark_dead();
  if (err != ErrorCode::NONE) return err;
  offsets_.erase(group_id);
  groups_.erase(group_id);
  return ErrorCode::NONE;
}

}  // namespace samsa::coordinator
