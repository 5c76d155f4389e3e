// The coordinators' only way to their partitions (__consumer_offsets,
// __transaction_state, and the data partitions a transaction marks): the
// replication::PartitionWriter interface (replication/partition_writer.h), and
// the record batches the coordinators build for it. The coordinators never see
// a Partition, a Flusher or a shard.
//
// Threads: a PartitionWriter serves one shard. Every call is made on that
// shard's thread and completes there.
#pragma once
#include <asio.hpp>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/error_code.h"
#include "coordinator/coordinator_partitions.h"
#include "protocol/wire.h"
#include "replication/partition_writer.h"
#include "storage/topic_partition.h"

namespace samsa::coordinator {

using TopicPartition = storage::TopicPartition;
using KeyValue = std::pair<protocol::Bytes, std::optional<protocol::Bytes>>;  // no value: a tombstone
using replication::BatchFn;
using replication::MarkerSpec;
using replication::MarkerWrite;
using replication::PartitionWriter;

// The producer fields of a transactional batch (TxnOffsetCommit records).
struct TxnProducer {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

// Builds one batch of `kvs` stamped `now_ms` (transactional when `txn` is
// set) and appends it through `w` at the epoch `served` serves `tp` at; no
// records: NONE at once. A partition not served: NOT_COORDINATOR or
// COORDINATOR_LOAD_IN_PROGRESS; one unloaded or reloaded before the append
// completed: NOT_COORDINATOR (the caller must not apply it); append errors as
// Kafka's coordinators answer them (coordinator_write_error).
asio::awaitable<ErrorCode> append_records(PartitionWriter& w, const CoordinatorPartitions& served,
                                          const TopicPartition& tp, const std::vector<KeyValue>& kvs, int64_t now_ms,
                                          std::optional<TxnProducer> txn = {});
// A coordinator log append's error as the client sees it (Kafka's mapping):
// the partition's leadership moved -> NOT_COORDINATOR; too few replicas or a
// timeout -> COORDINATOR_NOT_AVAILABLE; others as they are.
ErrorCode coordinator_write_error(ErrorCode err);

}  // namespace samsa::coordinator
