#include "replication/replica_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/topic_name.h"
#include "replication/flusher.h"
#include "replication/open_partition.h"
#include "storage/log_manager.h"

namespace samsa::replication {

void UnopenedPartitions::set(const TopicPartition& tp, std::string why) {
  std::lock_guard lock(mu_);
  map_[tp] = std::move(why);
  count_.store(map_.size(), std::memory_order_release);
}

void UnopenedPartitions::erase(const TopicPartition& tp) {
  if (empty()) return;
  std::lock_guard lock(mu_);
  map_.erase(tp);
  count_.store(map_.size(), std::memory_order_release);
}

bool UnopenedPartitions::contains(const TopicPartition& tp) const {
  if (empty()) return false;
  std::lock_guard lock(mu_);
  return map_.count(tp) != 0;
}

std::vector<TopicPartition> UnopenedPartitions::select(const std::function<bool(const TopicPartition&)>& pick) const {
  std::vector<TopicPartition> out;
  if (empty()) return out;
  std::lock_guard lock(mu_);
  for (auto& [tp, why] : map_)
    if (pick(tp)) out.push_back(tp);
  return out;
}

std::vector<std::pair<std::string, std::string>> UnopenedPartitions::of_topics(
    const std::vector<std::string>& topics, const std::function<bool(const TopicPartition&)>& pick) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (empty()) return out;
  std::lock_guard lock(mu_);
  for (auto& name : topics) {
    auto it = map_.lower_bound(TopicPartition{name, 0});
    for (; it != map_.end() && it->first.topic == name; ++it)
      if (pick(it->first)) out.emplace_back(name, it->first.to_string() + ": " + it->second);
  }
  return out;
}

ReplicaManager::ReplicaManager(ReplicaManagerOptions options, storage::LogManager& logs, Flusher& flusher,
                               const Clock& clock, UnopenedPartitions& unopened)
    : options_(std::move(options)),
      owner_(options_.shard),
      logs_(logs),
      flusher_(flusher),
      clock_(clock),
      unopened_(unopened),
      moves_(options_.shard, logs, clock, [this](const TopicPartition& tp) { return find(tp); },
             options_.log_dir_copy_quota) {}

ReplicaManager::~ReplicaManager() = default;

void ReplicaManager::apply(cluster::ImagePtr image, const cluster::ImageDelta& delta) {
  on_owner();
  auto old = image_ ? image_ : std::make_shared<const cluster::MetadataImage>();
  image_ = image;
  if (delta.full) {
    image->topics.for_each([&](const std::string&, const std::shared_ptr<const cluster::TopicInfo>& topic) {
      for (auto& p : topic->partitions) open_owned(*topic, p.partition);
    });
    // Deleted topics, and partitions beyond a topic's count.
    for (auto it = partitions_.begin(); it != partitions_.end();) {
      auto* t = image->find_topic(it->first.topic);
      bool keep = t && t->id == it->second->topic_id() && static_cast<size_t>(it->first.partition) < t->partitions.size();
      auto tp = it->first;
      ++it;
      if (!keep) remove_partition(tp);
    }
  } else {
    for (auto& name : delta.topics) sync_topic(*old, *image, name);
  }
  if (delta.complete) remove_stray_logs(*image);
  // A broker fenced, unfenced or shutting down: the ISR rules of every
  // partition it replicates learn whether it may join (KIP-841).
  if (delta.full || delta.brokers) {
    for (auto& [tp, part] : partitions_) {
      auto* t = image->find_topic(tp.topic);
      if (t && static_cast<size_t>(tp.partition) < t->partitions.size())
        update_eligibility(*part, t->partitions[tp.partition]);
    }
  }
  retry_unopened();
}

void ReplicaManager::tick() {
  on_owner();
  for (auto& [tp, part] : partitions_) part->tick();
}

void ReplicaManager::update_eligibility(Partition& part, const cluster::PartitionInfo& info) {
  for (int32_t id : info.replicas) {
    if (id == options_.node_id.value) continue;
    auto it = image_->brokers.find(id);
    const bool eligible = it != image_->brokers.end() && !it->second.fenced && !it->second.in_controlled_shutdown;
    part.set_replica_eligible(NodeId(id), eligible);
  }
}

// One touched topic: partitions of the old topic that are gone (deleted, or
// the name now belongs to a new topic id) are removed, the others opened or
// given the topic's current config and roles.
void ReplicaManager::sync_topic(const cluster::MetadataImage& old, const cluster::MetadataImage& image,
                                const std::string& name) {
  auto* before = old.find_topic(name);
  auto* now = image.find_topic(name);
  if (before) {
    for (auto& p : before->partitions) {
      TopicPartition tp{name, p.partition};
      if (!owns(tp)) continue;
      auto* part = find(tp);
      if (part && (!now || now->id != part->topic_id() || static_cast<size_t>(p.partition) >= now->partitions.size()))
        remove_partition(tp);
    }
  }
  if (now)
    for (auto& p : now->partitions) open_owned(*now, p.partition);
}

// The image names the leader, its epoch, the replicas and the ISR; a replica
// that is not the leader follows. The partition's replica state takes the
// registration (a repeat of one it has is ignored there). The hooks hear of
// leadership gained (or a new leader epoch) and lost.
void ReplicaManager::assign_role(Partition& part, const cluster::TopicInfo& topic, const cluster::PartitionInfo& info) {
  const bool led = part.role() == Role::kLeader;
  const Epoch before = part.leader_epoch();
  LeaderAndIsr r;
  r.leader = NodeId(info.leader);
  r.leader_epoch = Epoch(info.leader_epoch);
  r.partition_epoch = PartitionEpoch(info.partition_epoch);
  for (int32_t id : info.replicas) r.replicas.push_back(NodeId(id));
  for (int32_t id : info.isr) r.isr.push_back(NodeId(id));
  ReplicaConfig cfg;
  cfg.replica_lag_time_max_ms = options_.replica_lag_time_max_ms;
  cfg.min_insync_replicas = std::max(options_.log_config_for(topic).min_insync_replicas, 1);
  const int64_t broker_epoch = options_.broker_epoch ? options_.broker_epoch() : -1;
  if (!part.apply_registration(r, cfg, options_.node_id, broker_epoch)) return;
  update_eligibility(part, info);
  if (part.role() == Role::kLeader) {
    if ((!led || before != part.leader_epoch()) && hooks_.became_leader) hooks_.became_leader(part, part.leader_epoch());
  } else if (led && hooks_.became_follower) {
    hooks_.became_follower(part);
  }
}

// Opens (or reconfigures) one partition of `topic` if this shard owns it and
// this node holds a replica. A failure is remembered in unopened_: Metadata
// then shows the partition without a leader instead of a leader that refuses
// every request.
void ReplicaManager::open_owned(const cluster::TopicInfo& topic, int32_t partition) {
  TopicPartition tp{topic.name, partition};
  if (!owns(tp)) return;
  auto& info = topic.partitions[partition];
  auto* existing = find(tp);
  if (!info.has_replica(options_.node_id.value)) {
    // Reassigned away (KIP-455): as Kafka's StopReplica with delete, the
    // replica goes, log included. The broker's fetchers drop it when they
    // reconcile with this image; a fetch answer arriving later finds no
    // partition (or another topic id) and is dropped.
    if (existing && existing->topic_id() == topic.id) {
      spdlog::info("{} is no longer a replica here (reassigned)", tp.to_string());
      remove_partition(tp);
    }
    return;
  }
  if (existing && existing->topic_id() == topic.id) {
    existing->set_config(options_.log_config_for(topic));
    assign_role(*existing, topic, info);
    return;
  }
  if (existing) remove_partition(tp);  // same name, new topic id: the old one was deleted
  std::string error;
  auto part = open_partition(logs_, clock_, tp, topic.id, options_.log_config_for(topic), &error);
  if (part) unopened_.erase(tp);
  else unopened_.set(tp, error);
  if (!part) return;
  part->set_replication(&clock_, options_.isr_sink);
  auto* opened = part.get();
  partitions_[tp] = std::move(part);  // findable before the hooks run
  assign_role(*opened, topic, info);
  if (hooks_.opened) hooks_.opened(*opened);
}

// Partitions of this shard that failed to open are tried again with every new
// image (descriptors may have been freed since); those no longer in the image
// are forgotten.
void ReplicaManager::retry_unopened() {
  if (unopened_.empty()) return;
  for (auto& tp : unopened_.select([this](const TopicPartition& tp) { return owns(tp); })) {
    auto* t = image_->find_topic(tp.topic);
    if (t && static_cast<size_t>(tp.partition) < t->partitions.size() && !find(tp)) {
      open_owned(*t, tp.partition);
      continue;
    }
    unopened_.erase(tp);
  }
}

std::vector<std::pair<std::string, std::string>> ReplicaManager::unopened_of(
    const std::vector<std::string>& topics) const {
  on_owner();
  return unopened_.of_topics(topics, [this](const TopicPartition& tp) { return owns(tp); });
}

// Stray copies: partition directories of this shard found on disk that the
// image places on no replica here (moved away, or deleted, while this broker
// was down; Kafka's stray replicas) are renamed for background deletion
// (file.delete.delay.ms of the topic, else the default). Run only with a
// complete image (ImageDelta::complete: after a catch-up with the quorum),
// never with the partial one a restarted node replays from its own log.
void ReplicaManager::remove_stray_logs(const cluster::MetadataImage& image) {
  for (auto& [tp, dir] : logs_.partitions()) {
    // The metadata log may share the first log dir; it is the quorum's, never a stray.
    if (tp.topic == cluster::kClusterMetadataTopic || !owns(tp) || find(tp)) continue;
    auto* t = image.find_topic(tp.topic);
    const bool placed = t && static_cast<size_t>(tp.partition) < t->partitions.size() &&
                        t->partitions[tp.partition].has_replica(options_.node_id.value);
    if (placed) continue;  // opened, or remembered as unopened (retried)
    const int64_t delay = t ? options_.log_config_for(*t).file_delete_delay_ms : storage::LogConfig{}.file_delete_delay_ms;
    spdlog::warn("{} in {} is a stray copy (the metadata places no replica of it here): deleting it",
                 tp.to_string(), dir);
    if (auto st = logs_.delete_unopened(tp, clock_.now_ms(), delay); !st)
      spdlog::error("deleting the stray copy {} failed: {}", tp.to_string(), st.to_string());
  }
}

// A deleted partition: its directory is renamed for background deletion and
// nothing on this shard may keep a pointer to it.
void ReplicaManager::remove_partition(const TopicPartition& tp) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return;
  spdlog::info("deleting partition {}", tp.to_string());
  moves_.cancel(tp);
  flusher_.forget(*it->second);
  if (hooks_.removing) hooks_.removing(tp);  // e.g. no cleaning may still write into its directory
  // Renamed now (the name is free for a new topic at once); the files go in
  // the background after file.delete.delay.ms (LogMaintenance).
  auto& log = it->second->log();
  if (auto st = logs_.delete_log(tp, &log, clock_.now_ms(), log.config().file_delete_delay_ms); !st)
    spdlog::error("removing {} failed: {}", tp.to_string(), st.to_string());
  logs_.release(tp);
  partitions_.erase(it);
}

}  // namespace samsa::replication
