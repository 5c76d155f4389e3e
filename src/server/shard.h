// A shard is one core: an io_context run by one thread, bound to the shard's id
// (base/shard_affinity.h). Every partition is owned by exactly one shard (its
// ReplicaManager) and touched only from its thread, which shard-owned state
// asserts; work for another shard goes to it through invoke_on or fan_out
// (base/invoke_on.h, server/fan_out.h), never under a lock.
#pragma once
#include <asio.hpp>
#include <memory>
#include <thread>
#include <unordered_map>

#include "base/invoke_on.h"
#include "cluster/metadata_image.h"
#include "replication/fwd.h"
#include "replication/replica_manager.h"
#include "server/quota_manager.h"
#include "server/topic_partition.h"

namespace samsa::server {

using replication::Flusher;
using replication::Partition;

struct Shard {
  explicit Shard(int id_);
  ~Shard();
  int id;
  asio::io_context io;
  std::thread thread;
  cluster::ImagePtr image;  // this shard's current view of the metadata
  std::unique_ptr<replication::ReplicaManager> replicas;  // this shard's partitions
  std::unique_ptr<QuotaManager> quotas;  // the client quota rates this shard owns (quota_manager.h)

  Partition* find(const TopicPartition& tp) { return replicas->find(tp); }
  const replication::ReplicaManager::PartitionMap& partitions() const { return replicas->partitions(); }
};

// Runs `fn` on `target` and resumes the caller with its result: the server's
// spelling of samsa::invoke_on (base/invoke_on.h), which says what `fn` may be.
// GCC 12: never in the same expression as co_await; write
// `auto op = invoke_on(s, [x] {...}); auto r = co_await std::move(op);`.
template <typename F>
auto invoke_on(Shard& target, F fn) {
  return samsa::invoke_on(target.io, std::move(fn));
}

}  // namespace samsa::server
