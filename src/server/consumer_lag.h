// Consumer lag computed by the broker: per group and partition, the committed
// offset against the high watermark, and a lag status by Burrow's rules
// (observe/lag_rules.h) over the group's last commits.
//
// Every successful OffsetCommit is noted with the lag at that moment: the
// high watermark is read on the partition's owning shard (or, in a cluster,
// asked of its leader with ListOffsets when this broker does not host it), then
// the commit is added to the window kept by the group's coordinator shard
// (LagTracker). Evaluation (a scrape, GET /v1/groups) reads the current high
// watermarks of every shard and those of the other committed partitions from
// their leaders, then has each coordinator shard judge its groups.
//
// Threads: a LagTracker belongs to one shard (the coordinator shard of its
// groups) and is touched only there. The free functions run on any shard's
// thread and hop to the others with invoke_on.
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "observe/lag_rules.h"
#include "observe/metrics.h"
#include "server/topic_partition.h"

namespace samsa::coordinator {
class GroupCoordinator;
}

namespace samsa::server {

class Broker;

class LagTracker {
 public:
  // Bounds: windows for at most this many (group, partition) pairs per shard;
  // commits past it are not tracked (the partition is judged OK).
  static constexpr size_t kMaxWindows = 100000;

  void add(const std::string& group, const TopicPartition& tp, observe::LagCommit c);
  const observe::LagWindow* window(const std::string& group, const TopicPartition& tp) const;
  // Forgets the windows of groups and partitions that no longer have a committed offset.
  void prune(const coordinator::GroupCoordinator& groups);

 private:
  std::map<std::string, std::map<TopicPartition, observe::LagWindow>> windows_;
  size_t count_ = 0;
};

struct CommitNote {
  TopicPartition tp;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
};

// After a successful OffsetCommit (called on the handler's shard): records
// the commits with their lag in the coordinator shard's tracker, in the
// background (the response does not wait for it).
void note_commits(Broker& broker, int coordinator_shard, std::string group, std::vector<CommitNote> commits);

struct PartitionLag {
  TopicPartition tp;
  int64_t committed = -1;
  int64_t high_watermark = -1;  // -1: the partition is not on this broker
  int64_t lag = 0;
  int64_t commit_timestamp = -1;
  observe::LagStatus status = observe::LagStatus::kOk;
};

struct GroupLag {
  std::string group;
  std::string state;          // Kafka's group state name
  std::string protocol_type;
  size_t members = 0;
  observe::LagStatus status = observe::LagStatus::kNotFound;
  int64_t total_lag = 0;
  std::vector<PartitionLag> partitions;
};

// Every group with committed offsets, judged now. Runs on any shard.
asio::awaitable<std::vector<GroupLag>> compute_consumer_lag(Broker& broker);

// kafka_consumergroup_lag{group,topic,partition} (per-partition series only
// when `per_partition`), kafka_consumergroup_lag_sum{group},
// kafka_consumergroup_lag_status{group} (Burrow's code) and the per-partition status.
void add_lag_metrics(const std::vector<GroupLag>& groups, bool per_partition, observe::Snapshot& out);

}  // namespace samsa::server
