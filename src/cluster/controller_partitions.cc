// The Controller's partition-leader operations: AlterPartition (a leader's ISR
// change) and ElectLeaders (preferred and unclean elections), Kafka's
// ReplicationControlManager rules as facts. See alter_partition.h and
// partition_changes.h.
#include <spdlog/spdlog.h>

#include "cluster/controller.h"
#include "cluster/leader_balance.h"
#include "cluster/reassignment.h"

namespace samsa::cluster {

namespace {

using Turn = OpQueue::Turn;

AlterPartitionResult result_of(int32_t partition, ErrorCode error) {
  AlterPartitionResult r;
  r.partition = partition;
  r.error = error;
  return r;
}

AlterPartitionResult result_of(const PartitionInfo& p) {
  AlterPartitionResult r;
  r.partition = p.partition;
  r.leader = p.leader;
  r.leader_epoch = p.leader_epoch;
  r.isr = p.isr;
  r.leader_recovery_state = p.leader_recovery_state;
  r.partition_epoch = p.partition_epoch;
  return r;
}

// Kafka's default messages of the errors ElectLeaders answers with.
std::string election_message(ErrorCode e) {
  switch (e) {
    case ErrorCode::ELECTION_NOT_NEEDED: return "Leader election not needed for topic partition.";
    case ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE: return "The preferred leader was not available.";
    case ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE: return "Eligible topic partition leaders are not available.";
    default: return {};
  }
}

}  // namespace

ElectionRules Controller::election_rules(std::vector<int32_t> leaving, int32_t joining) const {
  ElectionRules rules;
  auto others = may_lead_in(*image_, std::move(leaving));
  rules.may_lead = [others = std::move(others), joining](int32_t b) { return b == joining || others(b); };
  const ImagePtr image = image_;
  const int32_t node = settings_.node_id;
  const bool fallback = settings_.unclean_leader_election_enable;
  rules.unclean_allowed = [image, node, fallback](const TopicInfo& t) {
    return unclean_election_enabled(*image, t, node, fallback);
  };
  return rules;
}

AlterPartitionResult Controller::alter_one(const TopicInfo& t, const AlterPartitionItem& item,
                                           const AlterPartitionRequest& req,
                                           std::map<std::pair<Uuid, int32_t>, PartitionInfo>& changed,
                                           std::vector<MetadataRecord>& recs) const {
  const int32_t sender = req.broker.value;
  // A partition named twice sees the first change (and fails its epoch check).
  const PartitionInfo* p = nullptr;
  if (auto it = changed.find({t.id, item.partition}); it != changed.end()) p = &it->second;
  else if (item.partition >= 0 && static_cast<size_t>(item.partition) < t.partitions.size())
    p = &t.partitions[item.partition];
  const ErrorCode error = validate_alter_partition(*image_, sender, p, item, req.version);
  if (error != ErrorCode::NONE) {
    spdlog::info("controller: AlterPartition from broker {} for {}-{} refused: {}", sender, t.name, item.partition,
                 error_name(error));
    return result_of(item.partition, error);
  }
  PartitionTarget target;
  target.isr.emplace();
  for (auto& m : item.new_isr) target.isr->push_back(m.broker);
  target.leader_recovery_state = item.leader_recovery_state;
  auto rules = election_rules({});
  if (rules.unclean_allowed(t)) target.election = Election::unclean;
  PartitionInfo now = *p;
  // An ISR now holding every adding replica completes a reassignment in the
  // same record (reassignment.h).
  if (auto c = with_completed_reassignment(t.id, *p, build_partition_change(t.id, *p, target, rules.may_lead),
                                           rules.may_lead)) {
    merge_partition_change(now, *c);
    recs.push_back(*c);
    changed[{t.id, item.partition}] = now;
    // Only a change completing a reassignment may move the leader (the
    // sender was removed); the sender must then learn the new state first.
    if (c->leader != kNoLeaderChange && c->leader != sender)
      return result_of(item.partition,
                       req.version >= 2 ? ErrorCode::NEW_LEADER_ELECTED : ErrorCode::FENCED_LEADER_EPOCH);
  }
  return result_of(now);
}

asio::awaitable<AlterPartitionResponse> Controller::alter_partition(AlterPartitionRequest req) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  AlterPartitionResponse out;
  if (!log_.is_leader()) {
    out.error = ErrorCode::NOT_CONTROLLER;
    out.message = kNotControllerMessage;
    co_return out;
  }
  auto b = image_->brokers.find(req.broker.value);
  if (b == image_->brokers.end() || b->second.epoch != req.broker_epoch) {
    out.error = ErrorCode::STALE_BROKER_EPOCH;
    out.message = b == image_->brokers.end()
                      ? "No broker registration found for broker " + std::to_string(req.broker.value)
                      : "Expected broker epoch " + std::to_string(b->second.epoch) + ", but got broker epoch " +
                            std::to_string(req.broker_epoch);
    co_return out;
  }
  // One record at most per partition named: bounded like any operation.
  size_t items = 0;
  for (auto& t : req.topics) items += t.partitions.size();
  if (items > static_cast<size_t>(kMaxRecordsPerOp)) {
    out.error = ErrorCode::POLICY_VIOLATION;
    out.message = kExcessiveBatchMessage;
    co_return out;
  }
  std::vector<MetadataRecord> recs;
  std::map<std::pair<Uuid, int32_t>, PartitionInfo> changed;
  for (auto& rt : req.topics) {
    auto& topic_out = out.topics.emplace_back();
    topic_out.name = rt.name;
    topic_out.id = rt.id;
    const TopicInfo* t = req.version >= 2 ? (rt.id == Uuid{} ? nullptr : image_->find_topic(rt.id))
                                          : image_->find_topic(rt.name);
    for (auto& item : rt.partitions) {
      if (!t) {
        topic_out.partitions.push_back(result_of(
            item.partition, req.version >= 2 ? ErrorCode::UNKNOWN_TOPIC_ID : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
        continue;
      }
      topic_out.partitions.push_back(alter_one(*t, item, req, changed, recs));
    }
  }
  if (recs.empty()) co_return out;
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  if (committed.error != ErrorCode::NONE) {
    out.topics.clear();
    out.error = committed.error;
    out.message = committed.message;
  }
  co_return out;
}

ElectionResult Controller::elect_one(const TopicInfo& t, int32_t partition, ElectionType type,
                                     std::vector<MetadataRecord>& recs) const {
  ElectionResult r{t.name, partition, ErrorCode::NONE, {}};
  if (partition < 0 || static_cast<size_t>(partition) >= t.partitions.size()) {
    r.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    r.message = "No such partition as " + t.name + "-" + std::to_string(partition);
    return r;
  }
  const PartitionInfo& p = t.partitions[partition];
  const bool has_preferred = !p.replicas.empty() && p.leader == p.replicas.front();
  if ((type == ElectionType::preferred && has_preferred) || (type == ElectionType::unclean && p.leader != -1)) {
    r.error = ErrorCode::ELECTION_NOT_NEEDED;
  } else {
    PartitionTarget target;
    target.election = type == ElectionType::preferred ? Election::preferred : Election::unclean;
    if (auto c = build_partition_change(t.id, p, target, election_rules({}).may_lead)) recs.push_back(std::move(*c));
    else
      r.error = type == ElectionType::preferred ? ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE
                                                : ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE;
  }
  r.message = election_message(r.error);
  return r;
}

asio::awaitable<std::vector<ElectionResult>> Controller::elect_leaders(
    ElectionType type, std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> partitions) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  std::vector<ElectionResult> out;
  std::vector<MetadataRecord> recs;
  if (!partitions) {
    // Every partition; those that need no election are left out (Kafka).
    image_->topics.for_each([&](const std::string&, const std::shared_ptr<const TopicInfo>& t) {
      for (auto& p : t->partitions) {
        auto r = elect_one(*t, p.partition, type, recs);
        if (r.error != ErrorCode::ELECTION_NOT_NEEDED) out.push_back(std::move(r));
      }
    });
  } else {
    for (auto& [name, ids] : *partitions) {
      const TopicInfo* t = image_->find_topic(name);
      for (auto id : ids) {
        if (!t) out.push_back({name, id, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "No such topic as " + name});
        else out.push_back(elect_one(*t, id, type, recs));
      }
    }
  }
  // Answered per partition: an election that cannot be written (too many, or
  // this node no longer leads) fails with the reason.
  OpResult refused{};
  if (recs.size() > static_cast<size_t>(kMaxRecordsPerOp))
    refused = {ErrorCode::POLICY_VIOLATION, kExcessiveBatchMessage, {}};
  else if (!recs.empty()) {
    auto op = commit(std::move(recs));
    refused = co_await std::move(op);
  }
  if (refused.error != ErrorCode::NONE)
    for (auto& r : out)
      if (r.error == ErrorCode::NONE) {
        r.error = refused.error;
        r.message = refused.message;
      }
  co_return out;
}

asio::awaitable<int> Controller::balance_leaders() {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  if (!log_.is_leader()) co_return 0;
  auto rules = election_rules({});
  std::vector<MetadataRecord> recs;
  for (auto& c : partitions_to_rebalance(*image_, settings_.leader_imbalance_per_broker_percentage, rules.may_lead)) {
    if (recs.size() >= static_cast<size_t>(kMaxRecordsPerOp)) break;  // the rest at the next check
    PartitionTarget target;
    target.election = Election::preferred;
    if (auto r = build_partition_change(c.topic->id, c.topic->partitions[c.partition], target, rules.may_lead))
      recs.push_back(std::move(*r));
  }
  if (recs.empty()) co_return 0;
  const int moved = static_cast<int>(recs.size());
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  if (committed.error != ErrorCode::NONE) co_return 0;
  spdlog::info("controller: {} leaderships moved back to their preferred replicas (auto.leader.rebalance.enable)", moved);
  co_return moved;
}

}  // namespace samsa::cluster
