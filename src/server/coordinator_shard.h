// The coordinator services of one shard and the PartitionWriter they share
// (replication::LocalPartitionWriter over this broker's partitions, with the
// routes that let it write transaction markers on the other shards); the
// group service is started (its hooks installed) on construction. Also the
// load / unload of a coordinator partition as this broker gains or loses its
// leadership, and the transaction timer.
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

// Coordinators follow leadership (on the partition's shard): this broker
// became leader of a __consumer_offsets / __transaction_state partition at
// `epoch` (its groups / transactional ids load: answered
// COORDINATOR_LOAD_IN_PROGRESS until the replay, posted after this, is done),
// or stopped leading it / it is removed (they are unloaded: NOT_COORDINATOR).
// Other topics are ignored.
void coordinator_became_leader(Broker& broker, Shard& shard, replication::Partition& part, Epoch epoch);
void coordinator_lost(Broker& broker, Shard& shard, const storage::TopicPartition& tp);
// Times out transactions and completes unfinished ones, on `shard`, forever.
void schedule_txn_timeouts(Broker& broker, Shard& shard, asio::steady_timer& timer);

}  // namespace samsa::server
