// Request routing to the group and transaction coordinators: their internal
// topics (__consumer_offsets, __transaction_state: created on first use, a
// key's partition chosen as Kafka chooses it) and running a coordinator
// service's coroutine on the shard that owns the key's partition. What the
// coordinators write and replay is coordinator/'s (group_service.h,
// txn_service.h), through the PartitionWriter of local_partition_writer.h.
#pragma once
#include <asio.hpp>
#include <optional>
#include <string>

#include "base/error_code.h"
#include "server/shard.h"
#include "server/topic_partition.h"

namespace samsa::server {

class Broker;
struct RequestContext;

// Where a coordinator key (group id, transactional id) lives: its partition of
// `topic` and the shard that owns it, or why it cannot be served here.
struct Placement {
  ErrorCode error = ErrorCode::NONE;
  TopicPartition tp;
  int shard = 0;
};
Placement place(RequestContext& ctx, const char* topic, const std::string& key);

// Creates __consumer_offsets or __transaction_state on first use (Kafka does
// it on the first FindCoordinator): compacted, with the broker's
// offsets.topic.* / transaction.state.log.* settings.
asio::awaitable<ErrorCode> ensure_internal_topic(RequestContext& ctx, const char* topic);

namespace detail {
template <typename T>
asio::awaitable<void> store_result(asio::awaitable<T> coro, T& out) {
  out = co_await std::move(coro);
}
}  // namespace detail

// Runs `coro` on `target` and waits for it from the handler's shard.
asio::awaitable<void> run_coro_on(RequestContext& ctx, Shard& target, asio::awaitable<void> coro);

// The same for a coroutine with a result.
template <typename T>
asio::awaitable<T> call_coro_on(RequestContext& ctx, Shard& target, asio::awaitable<T> coro) {
  T out{};
  auto op = run_coro_on(ctx, target, detail::store_result(std::move(coro), out));
  co_await std::move(op);
  co_return out;
}

}  // namespace samsa::server
