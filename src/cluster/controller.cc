#include "cluster/controller.h"

#include <algorithm>
#include <cassert>

#include <spdlog/spdlog.h>

#include "base/random.h"
#include "cluster/commit_results.h"
#include "cluster/features.h"
#include "cluster/partition_changes.h"
#include "cluster/topic_name.h"

namespace samsa::cluster {

namespace {

using Turn = OpQueue::Turn;

const OpResult kNotController{ErrorCode::NOT_CONTROLLER, kNotControllerMessage, {}};
const OpResult kAppendFailed{ErrorCode::KAFKA_STORAGE_ERROR, "metadata log append failed", {}};

// An unclean election may lose acknowledged records: every one is logged
// loudly, whichever operation wrote it (fencing, unfencing, ElectLeaders).
void warn_unclean_elections(const MetadataImage& image, const std::vector<MetadataRecord>& records) {
  for (auto& rec : records) {
    auto* c = std::get_if<PartitionChangeRecord>(&rec);
    if (!c || !is_unclean_election(*c)) continue;
    auto* name = image.topic_names.find(c->topic_id);
    spdlog::warn("controller: UNCLEAN leader election for {}-{}: broker {} leads without being in sync "
                 "(unclean.leader.election.enable); records the old ISR had may be lost",
                 name ? *name : std::string("?"), c->partition_id, c->leader);
  }
}

}  // namespace

asio::awaitable<void> OpQueue::acquire() {
  if (!busy_) {
    busy_ = true;
    co_return;
  }
  auto ex = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
  waiters_.push_back(waiter);
  asio::error_code ec;
  co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // release() handed this operation the turn: busy_ stayed true.
}

void OpQueue::release() {
  if (waiters_.empty()) {
    busy_ = false;
    return;
  }
  auto next = std::move(waiters_.front());
  waiters_.pop_front();
  next->cancel();
}

Controller::Controller(ControllerSettings settings, raft::MetadataLog& log, MetadataLoader& loader)
    : settings_(std::move(settings)), log_(log), loader_(loader), image_(loader.image()),
      rng_(settings_.seed ? *settings_.seed : fresh_seed()),
      clock_(settings_.clock ? *settings_.clock : SystemClock::instance()),
      heartbeats_(clock_, settings_.session_timeout_ms) {}

// Topic ids must differ from those of every earlier run (a deleted topic's
// directory carries its id), so an unseeded controller draws its seed from
// the system, never from SAMSA_SEED.
uint64_t Controller::fresh_seed() { return unique_seed(); }

// A version 4 UUID no topic of the image has.
Uuid Controller::random_uuid() {
  for (;;) {
    Uuid u{};
    for (auto& b : u) b = static_cast<uint8_t>(rng_());
    u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);  // version 4
    u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);
    if (!image_->topic_names.find(u)) return u;
  }
}

std::vector<MetadataRecord> Controller::first_batch_records() const {
  if (loader_.image()->last_offset >= 0) return {};
  std::vector<MetadataRecord> first = settings_.bootstrap_records;
  for (const auto& f : kSupportedFeatures) {
    const bool chosen = std::any_of(first.begin(), first.end(), [&](const MetadataRecord& r) {
      const auto* level = std::get_if<FeatureLevelRecord>(&r);
      return level && level->name == f.name;
    });
    if (chosen || f.bootstrap_level == 0) continue;
    FeatureLevelRecord level;
    level.name = f.name;
    level.feature_level = f.bootstrap_level;
    first.emplace_back(std::move(level));
  }
  return first;
}

// Operations run one at a time on the leader, so the next batch starts after the last offset
// applied (after the bootstrap records on an empty log).
int64_t Controller::next_record_offset(size_t index) const {
  return image_->last_offset + 1 + static_cast<int64_t>(first_batch_records().size() + index);
}

// Proposes one batch and waits until it is committed; the log reports the
// commit to the loader before this resumes, so the loader's image holds it.
asio::awaitable<OpResult> Controller::commit(std::vector<MetadataRecord> records, int64_t* last_offset) {
  // The first batch of an empty log carries the bootstrap records first (as
  // Kafka's first active controller writes bootstrap.checkpoint's records).
  if (loader_.image()->last_offset < 0) {
    auto first = first_batch_records();
    records.insert(records.begin(), first.begin(), first.end());
  }
  std::vector<protocol::Bytes> values;
  values.reserve(records.size());
  for (auto& r : records) values.push_back(encode_record(r));
  auto op = log_.append(std::move(values));
  raft::AppendResult res = co_await std::move(op);
  if (res.error == ErrorCode::NONE) {
    assert(loader_.image()->last_offset >= res.offset.value);  // applied before the append completed
    if (last_offset) *last_offset = res.offset.value;
    warn_unclean_elections(*loader_.image(), records);
    co_return OpResult{};
  }
  if (res.error == ErrorCode::NOT_LEADER_OR_FOLLOWER || res.error == ErrorCode::NOT_CONTROLLER) co_return kNotController;
  co_return kAppendFailed;
}

std::optional<OpResult> Controller::replica_error(const std::vector<int32_t>& replicas) const {
  if (replicas.empty()) return OpResult{ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Empty replica assignment.", {}};
  // More replicas than registered brokers means a duplicate or an unknown
  // broker: refused before anything proportional to the list is done.
  if (replicas.size() > std::max<size_t>(image_->brokers.size(), 1))
    return OpResult{ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Duplicate brokers not allowed in replica assignment.", {}};
  for (auto b : replicas)
    if (!image_->brokers.count(b))
      return OpResult{ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Broker " + std::to_string(b) + " is not registered.", {}};
  std::vector<int32_t> sorted = replicas;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    return OpResult{ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Duplicate brokers not allowed in replica assignment.", {}};
  return std::nullopt;
}

std::variant<std::vector<PlacementBroker>, OpResult> Controller::placement_brokers(int32_t rf,
                                                                                  const std::string& prefix) const {
  // A controller whose image has no broker yet (tests, or before this node's
  // own registration) places on this node.
  if (image_->brokers.empty()) {
    if (rf > 1)
      return OpResult{ErrorCode::INVALID_REPLICATION_FACTOR,
                      prefix + "The target replication factor of " + std::to_string(rf) +
                          " cannot be reached because only 1 broker(s) are registered.", {}};
    return std::vector<PlacementBroker>{{settings_.node_id, std::nullopt}};
  }
  auto usable = usable_brokers(*image_);
  if (usable.empty())
    return OpResult{ErrorCode::INVALID_REPLICATION_FACTOR, prefix + "All brokers are currently fenced.", {}};
  if (rf > static_cast<int32_t>(usable.size()))
    return OpResult{ErrorCode::INVALID_REPLICATION_FACTOR,
                    prefix + "The target replication factor of " + std::to_string(rf) +
                        " cannot be reached because only " + std::to_string(usable.size()) +
                        " broker(s) are registered.", {}};
  return usable;
}

std::optional<OpResult> Controller::assigned_partition(const Uuid& topic_id, int32_t partition,
                                                       const std::vector<int32_t>& replicas,
                                                       std::vector<MetadataRecord>& recs) const {
  std::vector<int32_t> isr;
  auto may_lead = may_lead_in(*image_, {});
  for (auto r : replicas)
    if (may_lead(r)) isr.push_back(r);
  if (isr.empty())
    return OpResult{ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                    "All brokers specified in the manual partition assignment for partition " +
                        std::to_string(partition) + " are fenced or in controlled shutdown.", {}};
  int32_t leader = isr.front();
  recs.push_back(partition_record(topic_id, partition, replicas, std::move(isr), leader, 0));
  return std::nullopt;
}

std::optional<OpResult> Controller::budget_error(int64_t adding) const {
  if (settings_.max_partitions <= 0 || image_->partition_count + adding <= settings_.max_partitions) return std::nullopt;
  return OpResult{ErrorCode::POLICY_VIOLATION,
                  "Creating " + std::to_string(adding) + " partition(s) would bring this broker to " +
                      std::to_string(image_->partition_count + adding) + " partitions, above its limit of " +
                      std::to_string(settings_.max_partitions) + " (" + settings_.max_partitions_reason + ").",
                  {}};
}

asio::awaitable<std::vector<OpResult>> Controller::create_topics(std::vector<TopicSpec> specs, bool validate_only) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  std::vector<MetadataRecord> recs;
  auto out = plan_topics(specs, recs);
  if (validate_only || recs.empty()) co_return out;
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  answer_commit(out, committed);
  co_return out;
}

asio::awaitable<OpResult> Controller::create_topic(TopicSpec spec, bool validate_only) {
  std::vector<TopicSpec> specs;
  specs.push_back(std::move(spec));
  auto op = create_topics(std::move(specs), validate_only);
  auto results = co_await std::move(op);
  co_return results.front();
}

std::vector<OpResult> Controller::plan_topics(const std::vector<TopicSpec>& specs, std::vector<MetadataRecord>& recs) {
  std::vector<OpResult> out(specs.size());
  // Kafka's bound, on what the request asks for, before anything is allocated.
  int64_t asked = 0;
  for (auto& s : specs) {
    if (!s.assignments.empty()) asked += static_cast<int64_t>(s.assignments.size());
    else if (s.num_partitions == -1) asked += settings_.default_partitions;
    else if (s.num_partitions > 0) asked += s.num_partitions;
  }
  if (asked > kMaxPartitionsPerRequest) {
    for (auto& r : out) r = {ErrorCode::POLICY_VIOLATION, kExcessivePartitionsMessage, {}};
    return out;
  }
  int64_t pending_partitions = 0;
  std::map<std::string, std::string> pending;  // unified name -> name, of the topics planned so far
  for (size_t i = 0; i < specs.size(); ++i) out[i] = plan_topic(specs[i], pending_partitions, pending, recs);
  return out;
}

OpResult Controller::plan_topic(const TopicSpec& spec, int64_t& pending_partitions,
                                std::map<std::string, std::string>& pending, std::vector<MetadataRecord>& recs) {
  if (is_cluster_metadata_topic(spec.name)) return {ErrorCode::INVALID_REQUEST, cluster_metadata_creation_message(), {}};
  if (auto err = topic_name_error(spec.name)) return {ErrorCode::INVALID_TOPIC_EXCEPTION, *err, {}};
  if (image_->find_topic(spec.name))
    return {ErrorCode::TOPIC_ALREADY_EXISTS, "Topic '" + spec.name + "' already exists.", {}};
  const std::string unified = unify_collision_chars(spec.name);
  if (has_collision_chars(spec.name)) {
    if (auto* names = image_->collision_names.find(unified); names && !names->empty())
      return {ErrorCode::INVALID_TOPIC_EXCEPTION, topic_collision_message(spec.name, names->front()), {}};
  }
  if (auto it = pending.find(unified); it != pending.end()) {  // an earlier topic of this request
    if (it->second == spec.name)
      return {ErrorCode::TOPIC_ALREADY_EXISTS, "Topic '" + spec.name + "' already exists.", {}};
    return {ErrorCode::INVALID_TOPIC_EXCEPTION, topic_collision_message(spec.name, it->second), {}};
  }
  int32_t nparts = spec.num_partitions == -1 ? settings_.default_partitions : spec.num_partitions;
  int16_t rf = spec.replication_factor == -1 ? settings_.default_replication_factor : spec.replication_factor;
  std::vector<PlacementBroker> usable;
  if (!spec.assignments.empty()) {
    if (spec.num_partitions != -1 || spec.replication_factor != -1)
      return {ErrorCode::INVALID_REQUEST,
              "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.", {}};
    nparts = static_cast<int32_t>(spec.assignments.size());
    size_t first_rf = spec.assignments.begin()->second.size();
    for (int32_t p = 0; p < nparts; ++p) {
      auto it = spec.assignments.find(p);
      if (it == spec.assignments.end())
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Partitions must be numbered consecutively from 0.", {}};
      if (auto err = replica_error(it->second)) return *err;
      if (it->second.size() != first_rf)
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT, "All partitions should have the same number of replicas.", {}};
    }
  } else {
    if (nparts <= 0) return {ErrorCode::INVALID_PARTITIONS, "Number of partitions must be larger than 0.", {}};
    if (rf <= 0) return {ErrorCode::INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.", {}};
    auto brokers = placement_brokers(rf, "Unable to replicate the partition " + std::to_string(rf) + " time(s): ");
    if (auto* err = std::get_if<OpResult>(&brokers)) return *err;
    usable = std::get<std::vector<PlacementBroker>>(std::move(brokers));
  }
  // nparts is bounded by kMaxPartitionsPerRequest from here on.
  if (auto err = budget_error(pending_partitions + nparts)) return *err;
  if (settings_.validate_topic_configs) {
    if (auto err = settings_.validate_topic_configs(spec.configs)) return {err->first, err->second, {}};
  }
  const size_t first_record = recs.size();
  Uuid id = random_uuid();
  recs.push_back(topic_record(spec.name, id));
  if (!spec.assignments.empty()) {
    for (int32_t p = 0; p < nparts; ++p) {
      if (auto err = assigned_partition(id, p, spec.assignments.at(p), recs)) {
        recs.erase(recs.begin() + static_cast<std::ptrdiff_t>(first_record), recs.end());
        return *err;
      }
    }
  } else {
    StripedPlacer placer(usable, rng_);
    for (int32_t p = 0; p < nparts; ++p) {
      auto replicas = placer.place(static_cast<size_t>(rf));
      recs.push_back(partition_record(id, p, replicas, replicas, replicas.front(), 0));
    }
  }
  for (auto& [k, v] : spec.configs) recs.push_back(config_record(kTopicResource, spec.name, k, v));
  pending_partitions += nparts;
  pending.emplace(unified, spec.name);
  return {ErrorCode::NONE, {}, id};
}

asio::awaitable<OpResult> Controller::delete_topic(std::string name) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  auto t = image_->find_topic(name);
  if (!t) co_return OpResult{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.", {}};
  Uuid id = t->id;
  RemoveTopicRecord remove;
  remove.topic_id = id;
  std::vector<MetadataRecord> recs{std::move(remove)};
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  if (committed.error != ErrorCode::NONE) co_return committed;
  co_return OpResult{ErrorCode::NONE, {}, id};
}

asio::awaitable<OpResult> Controller::create_partitions(std::string name, int32_t total,
                                                        std::vector<std::vector<int32_t>> assignments,
                                                        bool validate_only) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  std::vector<MetadataRecord> recs;
  auto planned = plan_partitions(name, total, assignments, recs);
  if (planned.error != ErrorCode::NONE || validate_only) co_return planned;
  auto op = commit(std::move(recs));
  co_return co_await std::move(op);
}

OpResult Controller::plan_partitions(const std::string& name, int32_t total,
                                     const std::vector<std::vector<int32_t>>& assignments,
                                     std::vector<MetadataRecord>& recs) {
  auto t = image_->find_topic(name);
  if (!t) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "The topic '" + name + "' does not exist.", {}};
  int32_t current = static_cast<int32_t>(t->partitions.size());
  if (total < current)
    return {ErrorCode::INVALID_PARTITIONS,
            "Topic currently has " + std::to_string(current) + " partitions, which is higher than the requested " +
                std::to_string(total) + ".", {}};
  if (total == current)
    return {ErrorCode::INVALID_PARTITIONS, "Topic already has " + std::to_string(current) + " partitions.", {}};
  const int64_t adding = static_cast<int64_t>(total) - current;
  if (adding > kMaxRecordsPerOp) return {ErrorCode::POLICY_VIOLATION, kExcessiveBatchMessage, {}};
  if (!assignments.empty() && static_cast<int64_t>(assignments.size()) != adding)
    return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
            "Increasing the number of partitions by " + std::to_string(adding) + " but " +
                std::to_string(assignments.size()) + " assignments provided.", {}};
  if (auto err = budget_error(adding)) return *err;
  size_t rf = t->partitions.empty() ? 1 : t->partitions[0].replicas.size();
  if (!assignments.empty()) {
    for (int32_t p = current; p < total; ++p) {
      const auto& replicas = assignments[p - current];
      if (auto err = replica_error(replicas)) return *err;
      if (replicas.size() != rf)
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "Inconsistent replication factor between partitions: the topic has " + std::to_string(rf) +
                    " replica(s) per partition, the assignment of partition " + std::to_string(p) + " has " +
                    std::to_string(replicas.size()) + ".", {}};
      if (auto err = assigned_partition(t->id, p, replicas, recs)) return *err;
    }
    return {};
  }
  auto brokers = placement_brokers(static_cast<int32_t>(rf), "");
  if (auto* err = std::get_if<OpResult>(&brokers)) return *err;
  StripedPlacer placer(std::get<std::vector<PlacementBroker>>(brokers), rng_);
  for (int32_t p = current; p < total; ++p) {
    auto replicas = placer.place(rf);
    recs.push_back(partition_record(t->id, p, replicas, replicas, replicas.front(), 0));
  }
  return {};
}

asio::awaitable<OpResult> Controller::alter_configs(
    int8_t resource_type, std::string resource_name,
    std::vector<std::pair<std::string, std::optional<std::string>>> changes, bool validate_only) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  auto planned = plan_configs(resource_type, resource_name, changes);
  if (planned.error != ErrorCode::NONE || validate_only || changes.empty()) co_return planned;
  std::vector<MetadataRecord> recs;
  for (auto& [k, v] : changes) recs.push_back(config_record(resource_type, resource_name, k, v));
  auto op = commit(std::move(recs));
  co_return co_await std::move(op);
}

OpResult Controller::plan_configs(int8_t resource_type, const std::string& resource_name,
                                  const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  std::map<std::string, std::string> resulting;
  if (resource_type == kTopicResource) {
    auto t = image_->find_topic(resource_name);
    if (!t) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Topic " + resource_name + " does not exist.", {}};
    resulting = t->configs;
  }
  for (auto& [k, v] : changes) {
    if (v) resulting[k] = *v; else resulting.erase(k);
  }
  // The whole resulting set, so rules across keys see the overrides kept.
  if (resource_type == kTopicResource && settings_.validate_topic_configs) {
    if (auto err = settings_.validate_topic_configs(resulting)) return {err->first, err->second, {}};
  }
  return {};
}

asio::awaitable<OpResult> Controller::register_broker(int32_t id, std::string host, int32_t port,
                                                      std::optional<std::string> rack) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  auto it = image_->brokers.find(id);
  if (it != image_->brokers.end() && it->second.host == host && it->second.port == port && it->second.rack == rack &&
      !it->second.fenced) {
    heartbeats_.exempt(id, it->second.epoch);
    co_return OpResult{};
  }
  if (port < 0 || port > 0xffff) co_return OpResult{ErrorCode::INVALID_REQUEST, "Invalid port " + std::to_string(port), {}};
  RegisterBrokerRecord rec;
  rec.broker_id = id;
  rec.incarnation_id = random_uuid();
  // Kafka's broker epoch is the offset of the registration record.
  rec.broker_epoch = next_record_offset(0);
  auto& ep = rec.end_points.emplace_back();
  ep.name = "PLAINTEXT";
  ep.host = std::move(host);
  ep.port = static_cast<uint16_t>(port);
  ep.security_protocol = 0;  // PLAINTEXT
  rec.rack = std::move(rack);
  // No heartbeats yet: a registered broker serves at once (Kafka registers it
  // fenced and unfences it on its first caught-up heartbeat).
  rec.fenced = false;
  std::vector<MetadataRecord> recs{std::move(rec)};
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  if (committed.error == ErrorCode::NONE) heartbeats_.exempt(id, loader_.image()->brokers.at(id).epoch);
  co_return committed;
}

asio::awaitable<int64_t> Controller::allocate_producer_ids(int32_t broker_id, int64_t block_size) {
  co_await queue_.acquire();
  Turn turn(queue_);
  image_ = loader_.image();
  int64_t first = image_->next_producer_id;
  ProducerIdsRecord rec;
  rec.broker_id = broker_id;
  auto b = image_->brokers.find(broker_id);
  rec.broker_epoch = b == image_->brokers.end() ? -1 : b->second.epoch;
  rec.next_producer_id = first + block_size;
  std::vector<MetadataRecord> recs{std::move(rec)};
  auto op = commit(std::move(recs));
  auto committed = co_await std::move(op);
  co_return committed.error == ErrorCode::NONE ? first : -1;
}

}  // namespace samsa::cluster
