// Request routing to the group and transaction coordinators: their internal
// topics (__consumer_offsets, __transaction_state: created on first use, a
// key's partition chosen as Kafka chooses it). A coordinator service's
// coroutine runs on the shard that owns the key's partition through
// invoke_on (server/shard.h). What the
// coordinators write and replay is coordinator/'s (group_service.h,
// txn_service.h), through replication::LocalPartitionWriter (coordinator_shard.h).
#pragma once
#include <asio.hpp>
#include <optional>
#include <string>

#include "base/error_code.h"
#include "server/broker.h"
#include "server/coordinator_shard.h"
#include "server/shard.h"
#include "server/topic_partition.h"

namespace samsa::server {

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

// Runs `op(services)` on `shard`, where `services` are that shard's coordinator
// services and `op` returns one of their coroutines (or a plain value), and
// resumes the caller with the result. What the coroutine takes by reference
// must be captured in `op` (it lives until the coroutine ends) or outlive the
// await. GCC 12: `auto r = on_coordinator(...); co_await std::move(r);`.
template <typename Op>
auto on_coordinator(Broker& broker, int shard, Op op) {
  Broker* b = &broker;
  return invoke_on(broker.shard(shard), [b, shard, op = std::move(op)]() mutable { return op(b->coordinator_shard(shard)); });
}

}  // namespace samsa::server
