#include "replication/local_partition_writer.h"

#include "base/invoke_on.h"
#include "replication/flusher.h"
#include "replication/log_replay.h"
#include "replication/partition.h"
#include "replication/replica_manager.h"

namespace samsa::replication {

bool LocalPartitionWriter::hosts(const storage::TopicPartition& tp) const { return replicas_.find(tp) != nullptr; }

namespace {

// offsets.commit.timeout.ms (Kafka's default): how long a coordinator write
// waits for the ISR.
constexpr int64_t kCommitTimeoutMs = 5000;

bool leads_at(const Partition& part, Epoch epoch) {
  return part.role() == Role::kLeader && (epoch == PartitionWriter::kAnyLeaderEpoch || part.leader_epoch() == epoch);
}

}  // namespace

asio::awaitable<ErrorCode> LocalPartitionWriter::append(const storage::TopicPartition& tp, std::span<uint8_t> batch,
                                                        Epoch leader_epoch) {
  auto* part = replicas_.find(tp);
  if (!part) co_return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  if (!leads_at(*part, leader_epoch)) co_return ErrorCode::NOT_LEADER_OR_FOLLOWER;
  // Coordinator state is written as acks=-1 (Kafka): too few in-sync replicas
  // refuse it before the append.
  if (auto refused = part->check_append(-1); refused != ErrorCode::NONE) co_return refused;
  auto out = part->append(batch, clock_.now_ms());
  if (out.error != ErrorCode::NONE) co_return out.error;
  auto wait = flusher_.wait_durable(*part, out.last_offset);
  auto err = co_await std::move(wait);
  if (err != ErrorCode::NONE) co_return err;
  // Leadership may have moved while the batch was synced: a write of the old
  // epoch must not count (the new leader's log decides).
  part = replicas_.find(tp);
  if (!part || !leads_at(*part, leader_epoch)) co_return ErrorCode::NOT_LEADER_OR_FOLLOWER;
  // ... and answered once the ISR has it (offsets.commit.timeout.ms).
  auto replicated = part->wait_for_isr(Offset(out.last_offset + 1), kCommitTimeoutMs);
  err = co_await std::move(replicated);
  if (err != ErrorCode::NONE) co_return err;
  part = replicas_.find(tp);
  if (!part || !leads_at(*part, leader_epoch)) co_return ErrorCode::NOT_LEADER_OR_FOLLOWER;
  co_return ErrorCode::NONE;
}

ErrorCode LocalPartitionWriter::replay(const storage::TopicPartition& tp, const BatchFn& fn) {
  auto* part = replicas_.find(tp);
  if (!part) return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  if (part->offline()) return ErrorCode::KAFKA_STORAGE_ERROR;
  return for_each_batch(part->log(), fn);
}

asio::awaitable<void> LocalPartitionWriter::write_markers(std::vector<MarkerWrite>& items, MarkerSpec spec) {
  const ShardRoutes* routes = &routes_;
  MarkerSpec what = spec;  // a local: GCC 12 mishandles lambdas capturing coroutine parameters
  auto op = fan_out(
      items, routes->shard_count(), [routes](const MarkerWrite& w) { return routes->owner_of(w.tp); },
      [routes](int shard) -> asio::io_context& { return routes->io_of(shard); },
      [routes, what](int shard, std::vector<MarkerWrite*>& list) { return routes->write_markers_on(shard, list, what); });
  co_await std::move(op);
}

}  // namespace samsa::replication
