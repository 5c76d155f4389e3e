#include "coordinator/partition_writer.h"

#include "protocol/record_batch.h"

namespace samsa::coordinator {

ErrorCode coordinator_write_error(ErrorCode err) {
  switch (err) {
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
      return ErrorCode::NOT_COORDINATOR;
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode::REQUEST_TIMED_OUT:
      return ErrorCode::COORDINATOR_NOT_AVAILABLE;
    default:
      return err;
  }
}

asio::awaitable<ErrorCode> append_records(PartitionWriter& w, const CoordinatorPartitions& served,
                                          const TopicPartition& tp, const std::vector<KeyValue>& kvs, int64_t now_ms,
                                          std::optional<TxnProducer> txn) {
  if (kvs.empty()) co_return ErrorCode::NONE;
  auto epoch = served.serving_epoch(tp);
  if (!epoch) co_return served.check(tp);
  protocol::BatchBuilder b;
  if (txn) b.set_producer(txn->producer_id, txn->producer_epoch, protocol::kNoSequence).set_transactional(true);
  for (auto& [k, v] : kvs) {
    std::optional<std::span<const uint8_t>> value;
    if (v) value = std::span<const uint8_t>(*v);
    b.add(now_ms, std::span<const uint8_t>(k), value);
  }
  auto batch = b.build();
  auto op = w.append(tp, std::span<uint8_t>(batch), *epoch);
  auto err = coordinator_write_error(co_await std::move(op));
  // Unloaded or reloaded at another epoch meanwhile: what the caller would
  // apply belongs to state that is gone.
  if (err == ErrorCode::NONE && served.serving_epoch(tp) != epoch) err = ErrorCode::NOT_COORDINATOR;
  co_return err;
}

}  // namespace samsa::coordinator
