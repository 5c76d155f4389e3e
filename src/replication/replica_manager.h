// The partitions this broker hosts on one shard, by role. The replica manager
// reacts to each metadata image and its delta: it opens the partitions of this
// shard that this node holds a replica of, gives each its role and leader epoch
// from the image (leader where the image names this node, else follower; on
// one node always leader), reconfigures them when their topic's config
// changes, and closes (deletes) those the image no longer has. Handlers reach
// a partition through find().
//
// A partition whose log fails to open is remembered in UnopenedPartitions
// (shared by every shard): Metadata then shows it without a leader, Produce
// answers KAFKA_STORAGE_ERROR, and it is tried again with every new image.
//
// Threads: one ReplicaManager per shard (options.shard); every method but
// set_hooks (before the shard runs) on that shard's thread, which it asserts.
// UnopenedPartitions is thread-safe.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/shard_affinity.h"
#include "base/types.h"
#include "cluster/metadata_image.h"
#include "replication/log_dir_moves.h"
#include "replication/partition.h"

namespace samsa::storage {
class LogManager;
}

namespace samsa::replication {

class Flusher;

// Partitions of the image whose log could not be opened here, with the reason.
// Each entry is written by its owner shard and read from any shard.
class UnopenedPartitions {
 public:
  void set(const TopicPartition& tp, std::string why);
  void erase(const TopicPartition& tp);
  bool contains(const TopicPartition& tp) const;
  bool empty() const { return count_.load(std::memory_order_acquire) == 0; }
  // Those `pick` selects.
  std::vector<TopicPartition> select(const std::function<bool(const TopicPartition&)>& pick) const;
  // "<topic>-<partition>: <reason>" for the partitions of `topics` that `pick` selects, by topic.
  std::vector<std::pair<std::string, std::string>> of_topics(
      const std::vector<std::string>& topics, const std::function<bool(const TopicPartition&)>& pick) const;

 private:
  mutable std::mutex mu_;
  std::map<TopicPartition, std::string> map_;
  std::atomic<size_t> count_{0};
};

struct ReplicaManagerOptions {
  int shard = 0;
  NodeId node_id{0};
  std::function<int(const TopicPartition&)> owner_of;  // the shard owning a partition
  std::function<storage::LogConfig(const cluster::TopicInfo&)> log_config_for;
  // Replication: this broker's registration epoch (-1 before it registered),
  // replica.lag.time.max.ms, and where leaders' ISR proposals go.
  std::function<int64_t()> broker_epoch;
  int64_t replica_lag_time_max_ms = 30000;
  IsrProposalSink isr_sink;
  CopyQuota log_dir_copy_quota;  // moves between log dirs (log_dir_moves.h)
};

// What the layers above do when a partition comes or goes on this shard, or
// its leadership changes here: the coordinators load their state when this
// broker becomes leader of their partition (again at every new leader epoch)
// and drop it when it becomes a follower or the partition goes; log
// maintenance forgets one being deleted. Run on the shard (the partition is
// already findable), may be empty.
struct PartitionHooks {
  std::function<void(Partition&)> opened;
  std::function<void(const TopicPartition&)> removing;
  // This replica became leader at `epoch` (from follower or none, or a new
  // epoch while leading).
  std::function<void(Partition&, Epoch)> became_leader;
  // This replica led and now follows.
  std::function<void(Partition&)> became_follower;
};

class ReplicaManager {
 public:
  using PartitionMap = std::unordered_map<TopicPartition, std::unique_ptr<Partition>, TopicPartitionHash>;

  ReplicaManager(ReplicaManagerOptions options, storage::LogManager& logs, Flusher& flusher, const Clock& clock,
                 UnopenedPartitions& unopened);
  ~ReplicaManager();
  void set_hooks(PartitionHooks hooks) { hooks_ = std::move(hooks); }

  // A new image and what it changed against the previous one (delta.full: anything).
  void apply(cluster::ImagePtr image, const cluster::ImageDelta& delta);

  Partition* find(const TopicPartition& tp) {
    on_owner();
    auto it = partitions_.find(tp);
    return it == partitions_.end() ? nullptr : it->second.get();
  }
  const PartitionMap& partitions() const {
    on_owner();
    return partitions_;
  }
  // Shutdown: the logs were closed (and released) by the caller.
  void clear() {
    on_owner();
    moves_.clear();
    partitions_.clear();
  }
  // Replicas moving between this broker's log dirs (AlterReplicaLogDirs).
  LogDirMoves& log_dir_moves() {
    on_owner();
    return moves_;
  }
  // The replication timer (every replica.lag.time.max.ms / 2, and for acks
  // deadlines): every partition led here checks its followers' lag.
  void tick();

  // The partitions of `topics` on this shard that failed to open, with why.
  std::vector<std::pair<std::string, std::string>> unopened_of(const std::vector<std::string>& topics) const;

 private:
  void on_owner() const { owner_.check("ReplicaManager"); }
  bool owns(const TopicPartition& tp) const { return options_.owner_of(tp) == options_.shard; }
  void sync_topic(const cluster::MetadataImage& old, const cluster::MetadataImage& image, const std::string& name);
  void open_owned(const cluster::TopicInfo& topic, int32_t partition);
  void assign_role(Partition& part, const cluster::TopicInfo& topic, const cluster::PartitionInfo& info);
  void update_eligibility(Partition& part, const cluster::PartitionInfo& info);
  void retry_unopened();
  void remove_partition(const TopicPartition& tp);
  void remove_stray_logs(const cluster::MetadataImage& image);

  ReplicaManagerOptions options_;
  ShardAffinity owner_;  // options_.shard
  storage::LogManager& logs_;
  Flusher& flusher_;
  const Clock& clock_;
  UnopenedPartitions& unopened_;
  PartitionHooks hooks_;
  cluster::ImagePtr image_;  // the last image applied
  PartitionMap partitions_;
  LogDirMoves moves_;
};

}  // namespace samsa::replication
