// Per-partition work spread over the shards that own the partitions.
#pragma once
#include <asio.hpp>
#include <map>
#include <vector>

#include "server/broker.h"
#include "server/request_context.h"
#include "server/shard.h"

namespace samsa::server {

// Runs `fn(partition_or_null, item)` for every item (which has a `tp` member)
// on the shard owning its partition, all shards in parallel, then resumes on
// the calling shard. Items must outlive the await; `fn` is copied per shard.
// Call as `auto op = on_owner_shards(...); co_await std::move(op);` (GCC 12).
template <typename Item, typename Fn>
asio::awaitable<void> on_owner_shards(RequestContext& ctx, std::vector<Item>& items, Fn fn) {
  auto& broker = *ctx.broker;
  std::map<int, std::vector<Item*>> by_shard;
  for (auto& it : items) by_shard[broker.owner_of(it.tp)].push_back(&it);
  WaitGroup wg(ctx.shard->io.get_executor());
  for (auto& [shard_id, list] : by_shard) {
    wg.add();
    Shard& target = broker.shard(shard_id);
    asio::post(target.io, [&target, list = list, &wg, fn, home = ctx.shard->io.get_executor()] {
      for (auto* it : list) fn(target.find(it->tp), *it);
      asio::post(home, [&wg] { wg.done(); });
    });
  }
  co_await wg.wait();
}

}  // namespace samsa::server
