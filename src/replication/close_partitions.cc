#include "replication/close_partitions.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "base/invoke_on.h"
#include "replication/partition.h"
#include "replication/replica_manager.h"
#include "storage/log_manager.h"

namespace samsa::replication {

void close_partitions(const std::vector<ShardReplicas>& shards, storage::LogManager& logs) {
  struct Closing {
    Partition* part;
    storage::Result<storage::FlushTicket> ticket;
    storage::Status synced;
  };
  std::vector<std::vector<Closing>> per_shard(shards.size());
  for (size_t i = 0; i < shards.size(); ++i) {
    invoke_on_blocking(*shards[i].io, [&shard = shards[i], &closing = per_shard[i]] {
      for (auto& [tp, part] : shard.replicas->partitions())
        closing.push_back({part.get(), part->log().begin_close(), storage::Status::ok()});
    });
  }
  std::vector<Closing*> work;
  for (auto& v : per_shard)
    for (auto& c : v)
      if (c.ticket) work.push_back(&c);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < work.size(); i = next++) work[i]->synced = work[i]->ticket->run();
  };
  constexpr size_t kSyncThreads = 32;  // syncs wait on the disk, not the CPU
  std::vector<std::thread> pool;
  for (size_t i = 1; i < std::min(kSyncThreads, work.size()); ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < shards.size(); ++i) {
    invoke_on_blocking(*shards[i].io, [&shard = shards[i], &closing = per_shard[i], &logs] {
      for (auto& c : closing) {
        auto st = c.ticket ? c.part->log().end_close(*c.ticket, c.synced) : c.ticket.status();
        if (!st) spdlog::error("closing {} failed: {}", c.part->tp().to_string(), st.to_string());
        logs.release(c.part->tp());
      }
      shard.replicas->clear();
    });
  }
}

}  // namespace samsa::replication
