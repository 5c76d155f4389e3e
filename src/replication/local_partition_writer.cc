#include "server/local_partition_writer.h"

#include <spdlog/spdlog.h>

#include "coordinator/log_replay.h"
#include "server/broker.h"
#include "server/fan_out.h"
#include "replication/flusher.h"
#include "server/handlers.h"
#include "replication/partition.h"

namespace samsa::server {

bool LocalPartitionWriter::hosts(const coordinator::TopicPartition& tp) const { return shard_.find(tp) != nullptr; }

asio::awaitable<ErrorCode> LocalPartitionWriter::append(const coordinator::TopicPartition& tp,
                                                        std::span<uint8_t> batch) {
  auto* part = shard_.find(tp);
  if (!part) co_return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  auto out = part->append(batch, broker_.clock().now_ms());
  if (out.error != ErrorCode::NONE) co_return out.error;
  auto wait = broker_.flusher(shard_.id).wait_durable(*part, out.last_offset);
  co_return co_await std::move(wait);
}

ErrorCode LocalPartitionWriter::replay(const coordinator::TopicPartition& tp, const coordinator::BatchFn& fn) {
  auto* part = shard_.find(tp);
  if (!part) return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  if (part->offline()) return ErrorCode::KAFKA_STORAGE_ERROR;
  return coordinator::for_each_batch(part->log(), fn);
}

asio::awaitable<void> LocalPartitionWriter::write_markers(std::vector<coordinator::MarkerWrite>& items,
                                                          coordinator::MarkerSpec spec) {
  Broker& broker = broker_;
  coordinator::MarkerSpec what = spec;  // a local: GCC 12 mishandles lambdas capturing coroutine parameters
  auto op = fan_out(broker, items, [&broker, what](Shard& target, std::vector<coordinator::MarkerWrite*>& list) {
    auto& there = broker.coordinator_shard(target.id);
    return coordinator::write_markers_here(there.writer, there.groups.groups(), broker.clock(), list, what);
  });
  co_await std::move(op);
}

namespace {

coordinator::PartitionCount partition_count(Shard& shard) {
  return [&shard](const char* topic) -> int32_t {
    auto image = shard.image;
    auto* t = image ? image->find_topic(topic) : nullptr;
    return t ? static_cast<int32_t>(t->partitions.size()) : 0;
  };
}

coordinator::TxnServiceConfig txn_config(const BrokerSettings& s) {
  coordinator::TxnServiceConfig c;
  if (s.config) {
    c.max_timeout_ms = s.config->transaction_max_timeout_ms();
    c.id_expiration_ms = s.config->transactional_id_expiration_ms();
  }
  return c;
}

}  // namespace

CoordinatorShard::CoordinatorShard(Broker& broker, Shard& shard)
    : writer(broker, shard),
      groups(shard.io, broker.group_coordinator(shard.id), writer, broker.clock(), partition_count(shard)),
      txns(broker.txn_coordinator(shard.id), writer, broker.clock(),
           [&broker] { return broker.allocate_producer_id(); }, partition_count(shard), txn_config(broker.settings())) {
  coordinator::GroupPersistence defaults;
  auto cfg = broker.settings().config;
  groups.start(cfg ? cfg->offsets_retention_ms() : defaults.retention_ms,
               cfg ? cfg->offsets_retention_check_interval_ms() : defaults.check_interval_ms);
}

}  // namespace samsa::server

namespace samsa::server {

// ---- replay at open and the transaction timer (declared in handlers.h) ---------------

void load_offsets_partition(Broker& broker, Shard& shard, Partition& part) {
  if (auto err = broker.coordinator_shard(shard.id).groups.load_partition(part.tp()); err != ErrorCode::NONE)
    spdlog::error("replaying {} failed: {}", part.tp().to_string(), error_name(err));
}

void load_txn_partition(Broker& broker, Shard& shard, Partition& part) {
  if (auto err = broker.coordinator_shard(shard.id).txns.load_partition(part.tp()); err != ErrorCode::NONE)
    spdlog::error("replaying {} failed: {}", part.tp().to_string(), error_name(err));
}

void schedule_txn_timeouts(Broker& broker, Shard& shard, asio::steady_timer& timer) {
  auto cfg = broker.settings().config;
  int64_t interval = cfg ? cfg->transaction_abort_timed_out_transaction_cleanup_interval_ms() : 10000;
  // At least every second: Prepare* states left by a restart are completed soon after start.
  timer.expires_after(std::chrono::milliseconds(std::min<int64_t>(interval, 1000)));
  timer.async_wait([&broker, &shard, &timer](const asio::error_code& ec) {
    if (ec) return;
    asio::co_spawn(shard.io.get_executor(), broker.coordinator_shard(shard.id).txns.upkeep(),
                   [&broker, &shard, &timer](std::exception_ptr) { schedule_txn_timeouts(broker, shard, timer); });
  });
}

}  // namespace samsa::server
