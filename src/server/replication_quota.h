// Replication throttles (Kafka's ReplicationQuotaManager, KIP-73): a broker
// has one byte rate for what it sends as a leader and one for what it fetches
// as a follower, each measured over replication.quota.window.num samples of
// replication.quota.window.size.seconds (Kafka's Rate) and bounded by the
// dynamic broker configs leader.replication.throttled.rate and
// follower.replication.throttled.rate (unset: unlimited).
//
// Which replicas a bound applies to is the topic configs
// leader.replication.throttled.replicas / follower.replication.throttled.replicas:
// "*" or "partition:broker,...", the pairs naming this broker. Only a replica
// out of the ISR is held back (Kafka's shouldLeaderThrottle /
// shouldFollowerThrottle): a leader answers such a follower's fetch without
// records while its rate is above the bound; a follower leaves such a partition
// out of its fetches meanwhile. Both record the bytes of every throttled
// partition they move.
//
// Threads: one ReplicationQuotas per broker, used by every shard: the rates
// are behind a mutex (follower fetches only; consumers never touch them), the
// bounds are atomics set on image publication.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "cluster/metadata_image.h"
#include "server/quota_manager.h"
#include "server/topic_partition.h"

namespace samsa::server {

class ReplicationQuota {
 public:
  static constexpr int64_t kUnlimited = INT64_MAX;
  explicit ReplicationQuota(QuotaWindow w) : rate_(w) {}
  void set_limit(int64_t bytes_per_second) { limit_.store(bytes_per_second, std::memory_order_relaxed); }
  int64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  bool limited() const { return limit() != kUnlimited; }
  // Kafka's isQuotaExceeded: the measured rate is above the bound.
  bool exceeded(int64_t now_ms);
  void record(int64_t bytes, int64_t now_ms);
  double rate(int64_t now_ms);

 private:
  std::atomic<int64_t> limit_{kUnlimited};
  std::mutex mu_;
  QuotaRate rate_;
};

struct ReplicationQuotas {
  explicit ReplicationQuotas(QuotaWindow w) : leader(w), follower(w), alter_log_dirs(w) {}
  ReplicationQuota leader;
  ReplicationQuota follower;
  // The copies of replicas moving between this broker's log dirs
  // (replica.alter.log.dirs.io.max.bytes.per.second, Kafka's
  // ReplicationQuotaManager for AlterLogDirs), over every shard.
  ReplicationQuota alter_log_dirs;
  // The bounds from the image's dynamic broker configs of `node` (its own
  // layer over the cluster default).
  void apply(const cluster::MetadataImage& image, int32_t node);
};

inline constexpr std::string_view kLeaderThrottledReplicas = "leader.replication.throttled.replicas";
inline constexpr std::string_view kFollowerThrottledReplicas = "follower.replication.throttled.replicas";

// `list` ("*" or "partition:broker,...") names `partition` on `broker`.
bool replica_throttled(std::string_view list, int32_t partition, int32_t broker);
// The topic config `key` of tp's topic names (tp.partition, broker).
bool replica_throttled(const cluster::MetadataImage& image, const TopicPartition& tp, std::string_view key,
                       int32_t broker);

}  // namespace samsa::server
