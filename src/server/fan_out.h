// Per-partition work spread over the shards that own the partitions: the
// server's spelling of samsa::fan_out (base/invoke_on.h) over the broker's
// shard table, for items that name their partition in a `tp` member.
#pragma once
#include <asio.hpp>
#include <vector>

#include "base/invoke_on.h"
#include "server/broker.h"
#include "server/shard.h"

namespace samsa::server {

// Runs `fn(shard, group)` on every shard owning some of `items` (`group`: its
// items, in request order), all shards in parallel; `fn` returns void or
// asio::awaitable<void> and writes its results into the items.
// Call as `auto op = fan_out(...); co_await std::move(op);` (GCC 12).
template <typename Item, typename Fn>
asio::awaitable<void> fan_out(Broker& broker, std::vector<Item>& items, Fn fn) {
  Broker* b = &broker;
  return samsa::fan_out(
      items, broker.shard_count(), [b](const Item& it) { return b->owner_of(it.tp); },
      [b](int shard) -> asio::io_context& { return b->shard(shard).io; },
      [b, fn = std::move(fn)](int shard, std::vector<Item*>& group) mutable { return fn(b->shard(shard), group); });
}

// The common case: `fn(partition_or_null, item)` for every item, on its
// partition's shard.
template <typename Item, typename Fn>
asio::awaitable<void> for_each_partition(Broker& broker, std::vector<Item>& items, Fn fn) {
  return fan_out(broker, items, [fn = std::move(fn)](Shard& shard, std::vector<Item*>& group) {
    for (auto* it : group) fn(shard.find(it->tp), *it);
  });
}

}  // namespace samsa::server
