// Per-topic log settings, with Apache Kafka's defaults (topic-level config
// names in the comments). A plain value: each Log keeps its own copy, replaced
// whole when the topic's config changes.
#pragma once
#include <cstdint>
#include <limits>
#include <string>

namespace samsa::storage {

inline constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

struct LogConfig {
  // segment.bytes: roll when the active segment would grow beyond this.
  int32_t segment_bytes = 1024 * 1024 * 1024;
  // segment.ms: roll when the active segment's first batch is older than this.
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  // segment.jitter.ms: subtracted from segment_ms (per log) so logs do not roll in step.
  int64_t segment_jitter_ms = 0;
  // segment.index.bytes: size each .index/.timeindex is preallocated to; a full index rolls.
  int32_t segment_index_bytes = 10 * 1024 * 1024;
  // index.interval.bytes: an index entry after at least this many appended bytes.
  int32_t index_interval_bytes = 4096;
  // retention.ms / retention.bytes (-1 = unlimited).
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t retention_bytes = -1;
  // flush.messages / flush.ms: force an fdatasync after this many messages / ms.
  int64_t flush_messages = kNoLimit;
  int64_t flush_ms = kNoLimit;
  // file.delete.delay.ms: how long deleted segments linger (renamed *.deleted).
  int64_t file_delete_delay_ms = 60000;
  // cleanup.policy: "delete", "compact" or both.
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  // delete.retention.ms, min/max.compaction.lag.ms, min.cleanable.dirty.ratio (compaction).
  int64_t delete_retention_ms = 24LL * 3600 * 1000;
  int64_t min_compaction_lag_ms = 0;
  int64_t max_compaction_lag_ms = kNoLimit;
  double min_cleanable_dirty_ratio = 0.5;
  // max.message.bytes: largest record batch accepted (after compression).
  int32_t max_message_bytes = 1024 * 1024 + 12;
  // message.timestamp.type: false = CreateTime, true = LogAppendTime.
  bool log_append_time = false;
  // message.timestamp.before.max.ms / after.max.ms.
  int64_t message_timestamp_before_max_ms = kNoLimit;
  int64_t message_timestamp_after_max_ms = kNoLimit;
  // min.insync.replicas, compression.type, unclean.leader.election.enable, preallocate.
  int32_t min_insync_replicas = 1;
  std::string compression_type = "producer";
  bool unclean_leader_election = false;
  bool preallocate = false;
};

}  // namespace samsa::storage
