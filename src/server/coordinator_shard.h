// The coordinator services of one shard and the PartitionWriter they share
// (replication::LocalPartitionWriter over this broker's partitions, with the
// routes that let it write transaction markers on the other shards); the
// group service is started (its hooks installed) on construction. Also the
// replay of a coordinator partition when its shard opens it, and the
// transaction timer.
//
// Ownership: one CoordinatorShard per shard, owned by the Broker; built before
// the shards run, every call afterwards on that shard's thread.
#pragma once
#include <asio.hpp>

#include "coordinator/group_service.h"
#include "coordinator/txn_service.h"
#include "replication/fwd.h"
#include "replication/local_partition_writer.h"

namespace samsa::server {

class Broker;
struct Shard;

struct CoordinatorShard {
  CoordinatorShard(Broker& broker, Shard& shard);
  replication::LocalPartitionWriter writer;
  coordinator::GroupService groups;
  coordinator::TxnService txns;
};

// Replay at open: the groups / transactional ids of a __consumer_offsets /
// __transaction_state partition this shard just opened (on that shard).
void load_offsets_partition(Broker& broker, Shard& shard, replication::Partition& part);
void load_txn_partition(Broker& broker, Shard& shard, replication::Partition& part);
// Times out transactions and completes unfinished ones, on `shard`, forever.
void schedule_txn_timeouts(Broker& broker, Shard& shard, asio::steady_timer& timer);

}  // namespace samsa::server
