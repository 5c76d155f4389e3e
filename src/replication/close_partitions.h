// Clean shutdown of every partition this broker hosts: each shard seals its
// logs and prepares their flush, then all the fdatasyncs run at once from a
// pool of threads (the file system commits concurrent syncs together: one by
// one, 10,000 partitions took minutes to close), then each shard records the
// results, releases its logs and empties its replica manager.
//
// Threads: called from a thread of no shard (start-up / shutdown: it blocks on
// the shards, which must still be running).
#pragma once
#include <asio.hpp>
#include <vector>

namespace samsa::storage {
class LogManager;
}

namespace samsa::replication {

class ReplicaManager;

struct ShardReplicas {
  asio::io_context* io = nullptr;       // the shard's event loop
  ReplicaManager* replicas = nullptr;  // its partitions
};

void close_partitions(const std::vector<ShardReplicas>& shards, storage::LogManager& logs);

}  // namespace samsa::replication
