#include "coordinator/partition_writer.h"

#include "protocol/record_batch.h"

namespace samsa::coordinator {

asio::awaitable<ErrorCode> append_records(PartitionWriter& w, const TopicPartition& tp, const std::vector<KeyValue>& kvs,
                                          int64_t now_ms, std::optional<TxnProducer> txn) {
  if (kvs.empty()) co_return ErrorCode::NONE;
  protocol::BatchBuilder b;
  if (txn) b.set_producer(txn->producer_id, txn->producer_epoch, protocol::kNoSequence).set_transactional(true);
  for (auto& [k, v] : kvs) {
    std::optional<std::span<const uint8_t>> value;
    if (v) value = std::span<const uint8_t>(*v);
    b.add(now_ms, std::span<const uint8_t>(k), value);
  }
  auto batch = b.build();
  auto op = w.append(tp, std::span<uint8_t>(batch));
  co_return co_await std::move(op);
}

}  // namespace samsa::coordinator
