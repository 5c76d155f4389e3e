// The seam between a partition's clients and the partitions: append a batch
// and learn when it is durable, replay a partition in order, and write
// transaction markers wherever the marked partitions are led. The coordinators
// write through it and never see a Partition, a Flusher or a shard; today's
// implementation is LocalPartitionWriter (local_partition_writer.h) over this
// broker's partitions, and a partition led by another broker can later be
// reached over the network behind the same calls.
//
// Threads: a PartitionWriter serves one shard. Every call is made on that
// shard's thread and completes there.
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/error_code.h"
#include "base/types.h"
#include "storage/topic_partition.h"

namespace samsa::replication {

using BatchFn = std::function<void(std::span<const uint8_t>)>;

// The end of one transaction, as WriteTxnMarkers carries it.
struct MarkerSpec {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool commit = false;
  int32_t coordinator_epoch = 0;
  // A partition with no replica here is skipped (deleted since the
  // transaction began) instead of failing with UNKNOWN_TOPIC_OR_PARTITION.
  bool skip_missing = false;
  // Only this broker's partitions: markers that came in a WriteTxnMarkers
  // request are not passed on again (two brokers with stale views of who
  // leads would send them back and forth).
  bool local_only = false;
};

// One partition to mark and, once written, its outcome.
struct MarkerWrite {
  storage::TopicPartition tp;
  ErrorCode error = ErrorCode::NONE;
};

class PartitionWriter {
 public:
  virtual ~PartitionWriter() = default;

  // Whether `tp` is open on this writer's shard (its coordinator state can be
  // loaded from it and records appended to it).
  virtual bool hosts(const storage::TopicPartition& tp) const = 0;

  // Appends one prepared batch to `tp` (patched in place: base offset, ...)
  // and completes once it is durable (the group-committed fdatasync, as for
  // acks=-1). Only a leader appends, and only at `leader_epoch` (the epoch a
  // coordinator loaded its state at; kAnyLeaderEpoch: a transaction marker,
  // any epoch): NOT_LEADER_OR_FOLLOWER when `tp` is not led here at it, before
  // the append or once it is durable (a stale coordinator's write is fenced).
  // COORDINATOR_LOAD_IN_PROGRESS when `tp` is not hosted here.
  static constexpr Epoch kAnyLeaderEpoch{-1};
  virtual asio::awaitable<ErrorCode> append(const storage::TopicPartition& tp, std::span<uint8_t> batch,
                                            Epoch leader_epoch) = 0;

  // Calls fn with every complete batch of `tp`, from its log start to its end,
  // in order. Stops at the first read error and returns it.
  virtual ErrorCode replay(const storage::TopicPartition& tp, const BatchFn& fn) = 0;

  // A marker in every partition of `items`, each durable, all in parallel
  // wherever they are led; every item gets its outcome. Where a marker lands
  // in a __consumer_offsets partition, that partition's group coordinator
  // applies (commit) or drops (abort) the transaction's offset commits.
  virtual asio::awaitable<void> write_markers(std::vector<MarkerWrite>& items, MarkerSpec spec) = 0;
};

}  // namespace samsa::replication
