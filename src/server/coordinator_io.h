// The I/O of the group and transaction coordinators: their internal topics
// (__consumer_offsets, __transaction_state: created on first use, a key's
// partition chosen as Kafka chooses it), appends by the broker itself
// (coordinator records, transaction markers) answered once durable (the
// group-committed fdatasync, as for acks=-1), and running a coroutine on the
// shard that owns a coordinator partition.
#pragma once
#include <asio.hpp>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "base/error_code.h"
#include "protocol/wire.h"
#include "server/shard.h"
#include "server/topic_partition.h"

namespace samsa::server {

class Broker;
struct RequestContext;

using KeyValue = std::pair<protocol::Bytes, std::optional<protocol::Bytes>>;  // no value: a tombstone

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

// The producer fields of a transactional batch (TxnOffsetCommit records).
struct TxnProducer {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

// On `target` (the partition's shard): appends the records as one batch
// (transactional when `txn` is set) and waits until they are durable.
asio::awaitable<ErrorCode> append_durably(Broker& broker, Shard& target, const TopicPartition& tp,
                                          const std::vector<KeyValue>& kvs, std::optional<TxnProducer> txn = {});
// The same for a prepared batch (e.g. a transaction marker), patched in place.
asio::awaitable<ErrorCode> append_batch_durably(Broker& broker, Shard& target, const TopicPartition& tp,
                                                std::span<uint8_t> batch);

// Replay: calls fn with every complete batch of the partition, from its log
// start to its end, in order (on the partition's shard).
void for_each_batch(Partition& part, const std::function<void(std::span<const uint8_t>)>& fn);

// Runs `coro` on `target` and waits for it from the handler's shard.
asio::awaitable<void> run_coro_on(RequestContext& ctx, Shard& target, asio::awaitable<void> coro);

}  // namespace samsa::server
