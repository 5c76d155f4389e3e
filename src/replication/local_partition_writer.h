// The coordinators' PartitionWriter over this broker's own partitions: appends
// go to the shard's Partition and complete when its Flusher has made them
// durable; markers for partitions of other shards are written there (their
// shard's writer and group coordinator), in parallel. A thin adapter: the
// coordinator logic lives in coordinator/, which never sees a Partition.
//
// Ownership: one CoordinatorShard per shard, owned by the Broker; every call
// runs on that shard's thread.
#pragma once
#include "coordinator/group_service.h"
#include "coordinator/partition_writer.h"
#include "coordinator/txn_service.h"

namespace samsa::server {

class Broker;
struct Shard;

class LocalPartitionWriter final : public coordinator::PartitionWriter {
 public:
  LocalPartitionWriter(Broker& broker, Shard& shard) : broker_(broker), shard_(shard) {}

  bool hosts(const coordinator::TopicPartition& tp) const override;
  asio::awaitable<ErrorCode> append(const coordinator::TopicPartition& tp, std::span<uint8_t> batch) override;
  ErrorCode replay(const coordinator::TopicPartition& tp, const coordinator::BatchFn& fn) override;
  asio::awaitable<void> write_markers(std::vector<coordinator::MarkerWrite>& items,
                                      coordinator::MarkerSpec spec) override;

 private:
  Broker& broker_;
  Shard& shard_;
};

// The coordinator services of one shard and the writer they share; the group
// service is started (its hooks installed) on construction.
struct CoordinatorShard {
  CoordinatorShard(Broker& broker, Shard& shard);
  LocalPartitionWriter writer;
  coordinator::GroupService groups;
  coordinator::TxnService txns;
};

}  // namespace samsa::server
