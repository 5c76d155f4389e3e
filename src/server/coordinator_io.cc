#include "server/coordinator_io.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstring>

#include "coordinator/placement.h"
#include "coordinator/txn_state.h"
#include "protocol/record_batch.h"
#include "server/broker.h"
#include "replication/flusher.h"
#include "server/handlers.h"
#include "replication/partition.h"

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
  int16_t live = static_cast<int16_t>(std::max<size_t>(1, ctx.shard->image->brokers.size()));
  spec.replication_factor = std::min(rf, live);
  spec.configs["cleanup.policy"] = "compact";
  spec.configs["compression.type"] = offsets ? "producer" : "uncompressed";
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

asio::awaitable<ErrorCode> append_batch_durably(Broker& broker, Shard& target, const TopicPartition& tp,
                                                std::span<uint8_t> batch) {
  auto* part = target.find(tp);
  if (!part) co_return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  auto out = part->append(batch, now_ms());
  if (out.error != ErrorCode::NONE) co_return out.error;
  auto wait = broker.flusher(target.id).wait_durable(*part, out.last_offset);
  co_return co_await std::move(wait);
}

asio::awaitable<ErrorCode> append_durably(Broker& broker, Shard& target, const TopicPartition& tp,
                                          const std::vector<KeyValue>& kvs, std::optional<TxnProducer> txn) {
  if (kvs.empty()) co_return ErrorCode::NONE;
  int64_t now = now_ms();
  protocol::BatchBuilder b;
  if (txn) b.set_producer(txn->producer_id, txn->producer_epoch, protocol::kNoSequence).set_transactional(true);
  for (auto& [k, v] : kvs) {
    std::optional<std::span<const uint8_t>> value;
    if (v) value = std::span<const uint8_t>(*v);
    b.add(now, std::span<const uint8_t>(k), value);
  }
  auto batch = b.build();
  auto op = append_batch_durably(broker, target, tp, std::span<uint8_t>(batch));
  co_return co_await std::move(op);
}

void for_each_batch(Partition& part, const std::function<void(std::span<const uint8_t>)>& fn) {
  int64_t offset = part.log_start_offset();
  const int64_t end = part.log_end_offset();
  protocol::Bytes buf;
  while (offset < end) {
    auto rd = part.read(offset, 1 << 20, true);
    if (rd.error != ErrorCode::NONE || rd.chunks.empty()) break;
    buf.clear();
    for (auto& ch : rd.chunks) {
      size_t at = buf.size();
      buf.resize(at + ch.len);
      if (::pread(ch.fd, buf.data() + at, ch.len, ch.pos) != static_cast<ssize_t>(ch.len)) {
        spdlog::error("replaying {}: read failed", part.tp().to_string());
        return;
      }
    }
    auto batches = protocol::leading_complete_batches(buf);
    if (batches.empty()) break;
    int64_t next = offset;
    for (auto& b : batches) {
      auto h = protocol::BatchHeader::parse(b.data());
      next = h.base_offset + h.last_offset_delta + 1;
      fn(b);
    }
    if (next <= offset) break;
    offset = next;
  }
}

asio::awaitable<void> run_coro_on(RequestContext& ctx, Shard& target, asio::awaitable<void> coro) {
  WaitGroup wg(ctx.shard->io.get_executor());
  wg.add();
  asio::co_spawn(target.io.get_executor(), std::move(coro),
                 asio::bind_executor(ctx.shard->io.get_executor(), [&wg](std::exception_ptr) { wg.done(); }));
  co_await wg.wait();
}

}  // namespace samsa::server
