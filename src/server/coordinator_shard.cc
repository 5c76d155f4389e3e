#include "server/coordinator_shard.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "coordinator/placement.h"
#include "replication/partition.h"
#include "server/broker.h"

namespace samsa::server {

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

// The broker's shards as the writer of one shard sees them: a marker for a
// partition of another shard is written there, by that shard's services.
replication::ShardRoutes routes(Broker& broker) {
  replication::ShardRoutes r;
  r.shard_count = [&broker] { return broker.shard_count(); };
  r.owner_of = [&broker](const TopicPartition& tp) { return broker.owner_of(tp); };
  r.io_of = [&broker](int shard) -> asio::io_context& { return broker.shard(shard).io; };
  r.write_markers_on = [&broker](int shard, std::vector<replication::MarkerWrite*>& items,
                                 replication::MarkerSpec spec) {
    return broker.write_markers_on_shard(shard, items, spec);
  };
  return r;
}

}  // namespace

CoordinatorShard::CoordinatorShard(Broker& broker, Shard& shard)
    : writer(*shard.replicas, broker.flusher(shard.id), broker.clock(), routes(broker)),
      groups(shard.io, broker.group_coordinator(shard.id), writer, broker.clock(), partition_count(shard)),
      txns(broker.txn_coordinator(shard.id), writer, broker.clock(),
           [&broker] { return broker.allocate_producer_id(); }, partition_count(shard), txn_config(broker.settings())) {
  coordinator::GroupPersistence defaults;
  auto cfg = broker.settings().config;
  groups.start(cfg ? cfg->offsets_retention_ms() : defaults.retention_ms,
               cfg ? cfg->offsets_retention_check_interval_ms() : defaults.check_interval_ms);
}

void coordinator_became_leader(Broker& broker, Shard& shard, replication::Partition& part, Epoch epoch) {
  auto& c = broker.coordinator_shard(shard.id);
  TopicPartition tp = part.tp();
  const bool offsets = tp.topic == coordinator::kOffsetsTopic;
  if (!offsets && tp.topic != coordinator::kTransactionStateTopic) return;
  if (!(offsets ? c.groups.begin_load(tp, epoch) : c.txns.begin_load(tp, epoch))) return;
  // The replay runs after the image is applied (Kafka loads on a scheduler
  // too); meanwhile the partition's keys answer COORDINATOR_LOAD_IN_PROGRESS.
  asio::post(shard.io, [&c, tp, epoch, offsets] {
    auto err = offsets ? c.groups.load_partition(tp, epoch) : c.txns.load_partition(tp, epoch);
    if (err != ErrorCode::NONE) spdlog::error("replaying {} failed: {}", tp.to_string(), error_name(err));
  });
}

void coordinator_lost(Broker& broker, Shard& shard, const storage::TopicPartition& tp) {
  auto& c = broker.coordinator_shard(shard.id);
  if (tp.topic == coordinator::kOffsetsTopic) c.groups.unload_partition(tp);
  if (tp.topic == coordinator::kTransactionStateTopic) c.txns.unload_partition(tp);
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
