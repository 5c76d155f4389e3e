#include "server/consumer_lag.h"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "base/shard_affinity.h"
#include "coordinator/group_coordinator.h"
#include "replication/partition.h"
#include "server/broker.h"
#include "server/leader_offsets.h"

namespace samsa::server {

namespace {

using observe::Family;
using observe::LagStatus;
using observe::MetricType;

const Family kLag{"kafka_consumergroup_lag",
                  "Messages the group has not consumed on the partition: high watermark minus committed offset.",
                  MetricType::kGauge, {"group", "topic", "partition"}};
const Family kCommitted{"kafka_consumergroup_current_offset", "The group's committed offset on the partition.",
                        MetricType::kGauge, {"group", "topic", "partition"}};
const Family kLagSum{"kafka_consumergroup_lag_sum", "The group's lag over all its partitions.", MetricType::kGauge,
                     {"group"}};
const Family kStatus{"kafka_consumergroup_lag_status",
                     "The group's lag status by Burrow's rules, as Burrow's code: 1 OK, 2 WARN, 3 ERR, 5 STALL.",
                     MetricType::kGauge, {"group"}};
const Family kPartitionStatus{"kafka_consumergroup_partition_lag_status",
                              "The partition's lag status by Burrow's rules: 1 OK, 2 WARN, 4 STOP, 5 STALL, 6 REWIND.",
                              MetricType::kGauge, {"group", "topic", "partition"}};

using HighWatermarks = std::unordered_map<TopicPartition, int64_t, TopicPartitionHash>;

// High watermarks of the partitions of shard `s` among `want` (all when null).
HighWatermarks read_high_watermarks(Shard& s, const std::vector<TopicPartition>* want) {
  HighWatermarks out;
  if (want) {
    for (auto& tp : *want)
      if (auto* p = s.find(tp); p && !p->offline()) out[tp] = p->high_watermark().value;
    return out;
  }
  for (auto& [tp, p] : s.partitions())
    if (!p->offline()) out[tp] = p->high_watermark().value;
  return out;
}

// In a cluster, the high watermarks of `tps` (partitions this broker does not
// host) from their leaders (leader_offsets.h). A leader that does not answer
// leaves its partitions unknown.
asio::awaitable<HighWatermarks> remote_high_watermarks(Broker& broker, Shard& here, std::vector<TopicPartition> tps) {
  auto op = offsets_at_leaders(broker, here, std::move(tps), -1, std::chrono::milliseconds(5000));
  auto got = co_await std::move(op);
  HighWatermarks out;
  for (auto& [tp, answer] : got)
    if (answer.first == 0 && answer.second >= 0) out[tp] = answer.second;
  co_return out;
}

// Those of `tps` not in `known`.
std::vector<TopicPartition> missing_from(const HighWatermarks& known, const std::vector<TopicPartition>& tps) {
  std::vector<TopicPartition> out;
  for (auto& tp : tps)
    if (!known.count(tp)) out.push_back(tp);
  return out;
}

asio::awaitable<void> note_commits_async(Broker& broker, int coord, std::string group, std::vector<CommitNote> commits) {
  std::map<int, std::vector<TopicPartition>> by_owner;
  for (auto& c : commits) by_owner[broker.owner_of(c.tp)].push_back(c.tp);
  HighWatermarks hw;
  for (auto& [owner, tps] : by_owner) {
    Shard* s = &broker.shard(owner);
    auto want = std::make_shared<std::vector<TopicPartition>>(std::move(tps));
    auto op = invoke_on(*s, [s, want] { return read_high_watermarks(*s, want.get()); });
    auto got = co_await std::move(op);
    hw.merge(got);
  }
  std::vector<TopicPartition> committed;
  for (auto& c : commits) committed.push_back(c.tp);
  auto remote_op = remote_high_watermarks(broker, broker.shard(coord), missing_from(hw, committed));
  auto remote = co_await std::move(remote_op);
  hw.merge(remote);
  Broker* b = &broker;
  auto shared = std::make_shared<std::pair<HighWatermarks, std::vector<CommitNote>>>(std::move(hw), std::move(commits));
  auto op = invoke_on(broker.shard(coord), [b, coord, group, shared] {
    auto& tracker = b->lag_tracker(coord);
    for (auto& c : shared->second) {
      auto it = shared->first.find(c.tp);
      if (it == shared->first.end()) continue;  // no leader answered: no lag to judge
      tracker.add(group, c.tp, observe::LagCommit{c.offset, c.timestamp_ms, std::max<int64_t>(0, it->second - c.offset)});
    }
    return 0;
  });
  co_await std::move(op);
}

}  // namespace

void LagTracker::add(const std::string& group, const TopicPartition& tp, observe::LagCommit c) {
  auto& windows = windows_[group];
  auto it = windows.find(tp);
  if (it == windows.end()) {
    if (count_ >= kMaxWindows) return;
    it = windows.emplace(tp, observe::LagWindow{}).first;
    ++count_;
  }
  it->second.add(c);
}

const observe::LagWindow* LagTracker::window(const std::string& group, const TopicPartition& tp) const {
  auto g = windows_.find(group);
  if (g == windows_.end()) return nullptr;
  auto w = g->second.find(tp);
  return w == g->second.end() ? nullptr : &w->second;
}

void LagTracker::prune(const coordinator::GroupCoordinator& groups) {
  for (auto g = windows_.begin(); g != windows_.end();) {
    const auto* offsets = groups.offsets(g->first);
    for (auto w = g->second.begin(); w != g->second.end();) {
      if (offsets && offsets->count({w->first.topic, w->first.partition})) {
        ++w;
        continue;
      }
      w = g->second.erase(w);
      --count_;
    }
    g = g->second.empty() ? windows_.erase(g) : std::next(g);
  }
}

void note_commits(Broker& broker, int coordinator_shard, std::string group, std::vector<CommitNote> commits) {
  if (commits.empty()) return;
  asio::co_spawn(broker.shard(coordinator_shard).io,
                 note_commits_async(broker, coordinator_shard, std::move(group), std::move(commits)), asio::detached);
}

asio::awaitable<std::vector<GroupLag>> compute_consumer_lag(Broker& broker) {
  auto hw = std::make_shared<HighWatermarks>();
  for (int i = 0; i < broker.shard_count(); ++i) {
    Shard* s = &broker.shard(i);
    auto op = invoke_on(*s, [s] { return read_high_watermarks(*s, nullptr); });
    auto got = co_await std::move(op);
    hw->merge(got);
  }
  // The committed partitions this broker does not host: from their leaders.
  std::vector<TopicPartition> committed;
  for (int i = 0; i < broker.shard_count(); ++i) {
    Broker* b = &broker;
    auto op = invoke_on(broker.shard(i), [b, i] {
      std::vector<TopicPartition> tps;
      auto& coordinator = b->group_coordinator(i);
      for (const auto* g : coordinator.groups())
        if (const auto* offsets = coordinator.offsets(g->id()))
          for (auto& [key, _] : *offsets) tps.push_back(TopicPartition{key.first, key.second});
      return tps;
    });
    auto got = co_await std::move(op);
    committed.insert(committed.end(), got.begin(), got.end());
  }
  std::sort(committed.begin(), committed.end());
  committed.erase(std::unique(committed.begin(), committed.end()), committed.end());
  if (const int here = current_shard(); here >= 0 && here < broker.shard_count()) {
    auto remote_op = remote_high_watermarks(broker, broker.shard(here), missing_from(*hw, committed));
    auto remote = co_await std::move(remote_op);
    hw->merge(remote);
  }
  std::vector<GroupLag> out;
  Broker* b = &broker;
  for (int i = 0; i < broker.shard_count(); ++i) {
    auto op = invoke_on(broker.shard(i), [b, i, hw] {
      std::vector<GroupLag> groups;
      auto& coordinator = b->group_coordinator(i);
      auto& tracker = b->lag_tracker(i);
      tracker.prune(coordinator);
      int64_t now = coordinator.now();
      for (const auto* g : coordinator.groups()) {
        const auto* offsets = coordinator.offsets(g->id());
        if (!offsets || offsets->empty()) continue;
        GroupLag gl;
        gl.group = g->id();
        gl.state = coordinator::state_name(g->state());
        gl.protocol_type = g->protocol_type().value_or("");
        gl.members = g->member_count();
        for (auto& [key, committed] : *offsets) {
          PartitionLag pl;
          pl.tp = TopicPartition{key.first, key.second};
          pl.committed = committed.offset;
          pl.commit_timestamp = committed.commit_timestamp;
          if (auto it = hw->find(pl.tp); it != hw->end()) {
            pl.high_watermark = it->second;
            pl.lag = std::max<int64_t>(0, it->second - committed.offset);
            const auto* w = tracker.window(gl.group, pl.tp);
            pl.status = w ? observe::evaluate_partition(*w, pl.lag, now) : LagStatus::kOk;
          }
          gl.total_lag += pl.lag;
          gl.status = observe::fold_group_status(gl.status, pl.status);
          gl.partitions.push_back(std::move(pl));
        }
        groups.push_back(std::move(gl));
      }
      return groups;
    });
    auto got = co_await std::move(op);
    for (auto& g : got) out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const GroupLag& a, const GroupLag& b) { return a.group < b.group; });
  co_return out;
}

void add_lag_metrics(const std::vector<GroupLag>& groups, bool per_partition, observe::Snapshot& out) {
  for (auto& g : groups) {
    out.add(kLagSum, {g.group}, static_cast<double>(g.total_lag));
    out.add(kStatus, {g.group}, static_cast<double>(static_cast<int>(g.status)));
    if (!per_partition) continue;
    for (auto& p : g.partitions) {
      if (p.high_watermark < 0) continue;  // its leader did not answer: nothing known
      std::string part = std::to_string(p.tp.partition);
      out.add(kLag, {g.group, p.tp.topic, part}, static_cast<double>(p.lag));
      out.add(kCommitted, {g.group, p.tp.topic, part}, static_cast<double>(p.committed));
      out.add(kPartitionStatus, {g.group, p.tp.topic, part}, static_cast<double>(static_cast<int>(p.status)));
    }
  }
}

}  // namespace samsa::server
