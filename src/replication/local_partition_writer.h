// The PartitionWriter over this broker's own partitions: appends go to the
// shard's Partition while it leads at the writer's epoch and complete when its
// Flusher has made them durable (and it still leads at that epoch);
// replay reads the partition's log from its start (through storage::Env);
// markers for partitions of other shards are written on those shards, all in
// parallel (fan_out), by the `write_markers_on` route the broker installs —
// what a marker does there (a group coordinator applying a transaction's
// offsets) is the coordinator's.
//
// Ownership: one per shard, owned by the broker; every call runs on that
// shard's thread.
#pragma once
#include <asio.hpp>
#include <functional>
#include <vector>

#include "base/clock.h"
#include "replication/partition_writer.h"

namespace samsa::replication {

class Flusher;
class ReplicaManager;

// How one shard's writer reaches the other shards of this broker.
struct ShardRoutes {
  std::function<int()> shard_count;
  std::function<int(const storage::TopicPartition&)> owner_of;
  std::function<asio::io_context&(int)> io_of;
  // Runs on `shard`: writes the markers of `items` (all owned by `shard`).
  std::function<asio::awaitable<void>(int shard, std::vector<MarkerWrite*>& items, MarkerSpec spec)>
      write_markers_on;
};

class LocalPartitionWriter final : public PartitionWriter {
 public:
  LocalPartitionWriter(ReplicaManager& replicas, Flusher& flusher, const Clock& clock, ShardRoutes routes)
      : replicas_(replicas), flusher_(flusher), clock_(clock), routes_(std::move(routes)) {}

  bool hosts(const storage::TopicPartition& tp) const override;
  asio::awaitable<ErrorCode> append(const storage::TopicPartition& tp, std::span<uint8_t> batch,
                                    Epoch leader_epoch) override;
  ErrorCode replay(const storage::TopicPartition& tp, const BatchFn& fn) override;
  asio::awaitable<void> write_markers(std::vector<MarkerWrite>& items, MarkerSpec spec) override;

 private:
  ReplicaManager& replicas_;
  Flusher& flusher_;
  const Clock& clock_;
  ShardRoutes routes_;
};

}  // namespace samsa::replication
