#include "server/coordinator_io.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "coordinator/placement.h"
#include "coordinator/txn_state.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/handlers.h"

namespace samsa::server {

Placement place(RequestContext& ctx, const char* topic, const std::string& key) {
  Placement p;
  auto* t = ctx.shard->image->find_topic(topic);
  if (!t || t->partitions.empty()) {
    p.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    return p;
  }
  int32_t n = static_cast<int32_t>(t->partitions.size());
  p.tp = TopicPartition{topic, coordinator::offsets_partition_for(key, n)};
  if (t->partitions[p.tp.partition].leader != ctx.broker->node_id()) p.error = ErrorCode::NOT_COORDINATOR;
  p.shard = ctx.broker->owner_of(p.tp);
  return p;
}

asio::awaitable<ErrorCode> ensure_internal_topic(RequestContext& ctx, const char* topic) {
  if (ctx.shard->image->find_topic(topic)) co_return ErrorCode::NONE;
  auto& broker = *ctx.broker;
  const bool offsets = std::strcmp(topic, coordinator::kOffsetsTopic) == 0;
  cluster::TopicSpec spec;
  spec.name = topic;
  auto cfg = broker.settings().config;
  spec.num_partitions = !cfg ? 50 : offsets ? cfg->offsets_topic_num_partitions()
                                            : cfg->transaction_state_log_num_partitions();
  int16_t rf = !cfg ? 3 : offsets ? cfg->offsets_topic_replication_factor()
                                  : cfg->transaction_state_log_replication_factor();
  auto factor = internal_topic_replication_factor(*ctx.shard->image, rf, broker.single_node());
  if (!factor) {
    spdlog::debug("not creating {} yet: its replication factor {} needs that many live brokers", topic, rf);
    co_return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  spec.replication_factor = *factor;
  spec.configs["cleanup.policy"] = "compact";
  spec.configs["compression.type"] = offsets ? "producer" : "uncompressed";
  // Kafka creates __transaction_state with min.insync.replicas =
  // transaction.state.log.min.isr (a transaction's state is written with
  // acks=all). One node without a quorum caps it like the replication factor.
  if (!offsets) {
    int32_t min_isr = cfg ? cfg->transaction_state_log_min_isr() : 2;
    if (broker.single_node()) min_isr = std::min<int32_t>(min_isr, *factor);
    spec.configs["min.insync.replicas"] = std::to_string(min_isr);
  }
  if (cfg) {
    spec.configs["segment.bytes"] = std::to_string(offsets ? cfg->offsets_topic_segment_bytes()
                                                           : cfg->transaction_state_log_segment_bytes());
  }
  auto op = broker.create_topic(spec, false);
  auto res = co_await std::move(op);
  if (res.error != ErrorCode::NONE && res.error != ErrorCode::TOPIC_ALREADY_EXISTS) {
    spdlog::warn("creating {} failed: {}", topic, res.message);
    co_return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  co_return ErrorCode::NONE;
}

}  // namespace samsa::server
