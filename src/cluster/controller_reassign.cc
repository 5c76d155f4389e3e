// The Controller's partition reassignments (KIP-455):
// AlterPartitionReassignments and ListPartitionReassignments, and the pure
// rules of reassignment.h. The completion of a reassignment rides on the ISR
// change that allows it (Controller::alter_one calls
// with_completed_reassignment).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/commit_results.h"
#include "cluster/controller.h"
#include "cluster/reassignment.h"

namespace samsa::cluster {

namespace {

using Turn = OpQueue::Turn;

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::vector<int32_t> without(const std::vector<int32_t>& v, const std::vector<int32_t>& drop) {
  std::vector<int32_t> out;
  for (auto x : v)
    if (!contains(drop, x)) out.push_back(x);
  return out;
}

// The leader and ISR of `p` once it has `replicas` and `isr` (not empty): a
// leader still in the ISR that may lead stays, else the first replica (in the
// new order) in the ISR that may lead, else none. Written into `c`.
void elect_within(const Uuid& topic_id, const PartitionInfo& p, std::vector<int32_t> replicas, std::vector<int32_t> isr,
                  const MayLead& may_lead, PartitionChangeRecord& c) {
  PartitionInfo q = p;
  q.replicas = std::move(replicas);
  PartitionTarget target;
  target.isr = std::move(isr);
  if (auto e = build_partition_change(topic_id, q, target, may_lead)) {
    if (e->leader != kNoLeaderChange) c.leader = e->leader;
    if (e->isr) c.isr = e->isr;
  }
}

// The record completing the reassignment of `p` as it stands, or nullopt when
// an adding replica is not in the ISR yet or no ISR member would be left.
std::optional<PartitionChangeRecord> completion(const Uuid& topic_id, const PartitionInfo& p, const MayLead& may_lead) {
  if (!reassigning(p)) return std::nullopt;
  for (auto r : p.adding_replicas)
    if (!contains(p.isr, r)) return std::nullopt;
  auto isr = without(p.isr, p.removing_replicas);
  if (isr.empty()) return std::nullopt;
  PartitionChangeRecord c;
  c.topic_id = topic_id;
  c.partition_id = p.partition;
  c.replicas = without(p.replicas, p.removing_replicas);
  c.adding_replicas = std::vector<int32_t>{};
  c.removing_replicas = std::vector<int32_t>{};
  elect_within(topic_id, p, *c.replicas, std::move(isr), may_lead, c);
  return c;
}

// `top`'s fields over `base`'s (both of one partition).
void overlay(PartitionChangeRecord& base, const PartitionChangeRecord& top) {
  if (top.isr) base.isr = top.isr;
  if (top.leader != kNoLeaderChange) base.leader = top.leader;
  if (top.replicas) base.replicas = top.replicas;
  if (top.adding_replicas) base.adding_replicas = top.adding_replicas;
  if (top.removing_replicas) base.removing_replicas = top.removing_replicas;
  if (top.leader_recovery_state != -1) base.leader_recovery_state = top.leader_recovery_state;
}

// Kafka's default messages of the errors.
const char* kNoReassignmentMessage = "No partition reassignment is in progress.";
const char* kUnknownPartitionMessage = "This server does not host this topic-partition.";

}  // namespace

std::optional<PartitionChangeRecord> start_reassignment(const Uuid& topic_id, const PartitionInfo& p,
                                                        const std::vector<int32_t>& target, const MayLead& may_lead) {
  if (!reassigning(p) && p.replicas == target) return std::nullopt;
  PartitionInfo next = p;
  next.removing_replicas = without(p.replicas, target);
  next.adding_replicas = without(target, p.replicas);
  next.replicas = target;
  next.replicas.insert(next.replicas.end(), next.removing_replicas.begin(), next.removing_replicas.end());
  PartitionChangeRecord c;
  c.topic_id = topic_id;
  c.partition_id = p.partition;
  c.replicas = next.replicas;
  c.adding_replicas = next.adding_replicas;
  c.removing_replicas = next.removing_replicas;
  // Nothing to copy (a removal or a new order): done in this record.
  if (auto done = completion(topic_id, next, may_lead)) overlay(c, *done);
  return c;
}

PartitionChangeRecord cancel_reassignment(const Uuid& topic_id, const PartitionInfo& p, const MayLead& may_lead) {
  PartitionChangeRecord c;
  c.topic_id = topic_id;
  c.partition_id = p.partition;
  c.replicas = without(p.replicas, p.adding_replicas);
  c.adding_replicas = std::vector<int32_t>{};
  c.removing_replicas = std::vector<int32_t>{};
  auto isr = without(p.isr, p.adding_replicas);
  if (!isr.empty()) {
    elect_within(topic_id, p, *c.replicas, std::move(isr), may_lead, c);
    return c;
  }
  // Only adding replicas were in sync: the original replicas hold data that
  // may be behind (Kafka reverts uncleanly too). The first that may lead
  // does, recovering; with none, the partition waits offline for its first.
  int32_t leader = -1;
  for (auto r : *c.replicas)
    if (may_lead(r)) {
      leader = r;
      break;
    }
  c.isr = std::vector<int32_t>{leader >= 0 ? leader : c.replicas->front()};
  if (leader != p.leader) c.leader = leader;
  if (leader >= 0) c.leader_recovery_state = kLeaderRecovering;
  return c;
}

std::optional<PartitionChangeRecord> with_completed_reassignment(const Uuid& topic_id, const PartitionInfo& before,
                                                                 std::optional<PartitionChangeRecord> change,
                                                                 const MayLead& may_lead) {
  if (!reassigning(before)) return change;
  PartitionInfo now = before;
  if (change) merge_partition_change(now, *change);
  auto done = completion(topic_id, now, may_lead);
  if (!done) return change;
  if (!change) {
    change.emplace();
    change->topic_id = topic_id;
    change->partition_id = before.partition;
  }
  overlay(*change, *done);
  return change;
}

asio::awaitable<std::vector<OpResult>> Controller::alter_reassignments(std::vector<ReassignmentItem> items) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  if (!log_.is_leader()) co_return std::vector<OpResult>(items.size(), {ErrorCode::NOT_CONTROLLER, kNotControllerMessage, {}});
  // One record at most per item: bounded like any operation.
  if (items.size() > static_cast<size_t>(kMaxRecordsPerOp))
    co_return std::vector<OpResult>(items.size(), {ErrorCode::POLICY_VIOLATION, kExcessiveBatchMessage, {}});
  std::vector<OpResult> out;
  std::vector<MetadataRecord> recs;
  // A partition named twice sees the first change.
  std::map<std::pair<Uuid, int32_t>, PartitionInfo> changed;
  const MayLead may_lead = election_rules({}).may_lead;
  for (auto& item : items) {
    const TopicInfo* t = image_->find_topic(item.topic);
    if (!t || item.partition < 0 || static_cast<size_t>(item.partition) >= t->partitions.size()) {
      out.push_back({ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, kUnknownPartitionMessage, {}});
      continue;
    }
    const PartitionInfo* p = &t->partitions[item.partition];
    if (auto it = changed.find({t->id, item.partition}); it != changed.end()) p = &it->second;
    std::optional<PartitionChangeRecord> c;
    if (!item.replicas) {
      if (!reassigning(*p)) {
        out.push_back({ErrorCode::NO_REASSIGNMENT_IN_PROGRESS, kNoReassignmentMessage, {}});
        continue;
      }
      c = cancel_reassignment(t->id, *p, may_lead);
    } else {
      if (auto err = replica_error(*item.replicas)) {
        out.push_back(*err);
        continue;
      }
      const size_t current_rf = p->replicas.size() - (reassigning(*p) ? p->adding_replicas.size() : 0);
      if (!item.allow_replication_factor_change && item.replicas->size() != current_rf) {
        out.push_back({ErrorCode::INVALID_REPLICATION_FACTOR,
                       "The replication factor is changed from " + std::to_string(current_rf) + " to " +
                           std::to_string(item.replicas->size()) + " but allowReplicationFactorChange is false",
                       {}});
        continue;
      }
      c = start_reassignment(t->id, *p, *item.replicas, may_lead);
    }
    out.push_back({});
    if (!c) continue;
    PartitionInfo now = *p;
    merge_partition_change(now, *c);
    changed[{t->id, item.partition}] = std::move(now);
    spdlog::info("controller: reassignment of {}-{}: {}", t->name, item.partition,
                 item.replicas ? "to the requested replicas" : "cancelled");
    recs.push_back(std::move(*c));
  }
  if (recs.empty()) co_return out;
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  answer_commit(out, committed);
  co_return out;
}

asio::awaitable<ListReassignmentsResult> Controller::list_reassignments(
    std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> partitions) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  ListReassignmentsResult out;
  if (!log_.is_leader()) {
    out.error = ErrorCode::NOT_CONTROLLER;
    out.message = kNotControllerMessage;
    co_return out;
  }
  auto add = [&out](const TopicInfo& t, const PartitionInfo& p) {
    if (reassigning(p))
      out.partitions.push_back({t.name, p.partition, p.replicas, p.adding_replicas, p.removing_replicas});
  };
  if (!partitions) {
    image_->topics.for_each([&](const std::string&, const std::shared_ptr<const TopicInfo>& t) {
      for (auto& p : t->partitions) add(*t, p);
    });
    std::sort(out.partitions.begin(), out.partitions.end(), [](const auto& a, const auto& b) {
      return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
    });
    co_return out;
  }
  for (auto& [name, ids] : *partitions) {
    const TopicInfo* t = image_->find_topic(name);
    if (!t) continue;  // unknown topics and partitions are left out (Kafka)
    for (auto id : ids)
      if (id >= 0 && static_cast<size_t>(id) < t->partitions.size()) add(*t, t->partitions[id]);
  }
  co_return out;
}

}  // namespace samsa::cluster
