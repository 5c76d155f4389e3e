#include "raft/metadata_log.h"

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "protocol/record_batch.h"
#include "raft/flush_thread.h"
#include "storage/log.h"

namespace samsa::raft {

namespace {

constexpr int32_t kEpoch = 0;  // one voter: always the leader, at epoch 0

// The metadata log is an ordinary log; every controller change is one batch
// whose records carry the encoded metadata records as values.
class StorageMetadataLog final : public MetadataLog {
 public:
  StorageMetadataLog(std::unique_ptr<storage::Log> log, NodeId local_id, Clock& clock, FlushThread& flush)
      : log_(std::move(log)), local_id_(local_id), clock_(clock), flush_(flush) {}
  ~StorageMetadataLog() override {
    if (log_ && !log_->closed()) (void)log_->close();
  }

  NodeId local_id() const override { return local_id_; }
  LeaderAndEpoch leader() const override { return {local_id_, Epoch(kEpoch)}; }
  void set_commit_listener(CommitListener listener) override { listener_ = std::move(listener); }

  // Written to the page cache here, synced on the flush thread, committed
  // (listener, recovery point) back here once durable.
  asio::awaitable<AppendResult> append(std::vector<protocol::Bytes> values) override {
    protocol::BatchBuilder b;
    int64_t now = clock_.now_ms();
    b.set_base_offset(0);
    for (auto& v : values) {
      protocol::Record r;
      r.timestamp = now;
      r.value = v;
      b.add(r);
    }
    auto bytes = b.build();
    auto res = log_->append(bytes, kEpoch, now, false);
    if (res.error != ErrorCode::NONE) {
      spdlog::error("metadata log append failed: {}", res.status.to_string());
      co_return AppendResult{ErrorCode::KAFKA_STORAGE_ERROR, Offset(-1), Epoch(kEpoch), res.status.to_string()};
    }
    auto ticket = std::make_shared<storage::FlushTicket>(log_->prepare_flush(now));
    auto sync = flush_.run([ticket] { return ticket->run(); });
    storage::Status synced = co_await std::move(sync);
    if (!synced) {
      // The page cache is in an unknown state: the log refuses further work.
      log_->mark_failed();
      spdlog::error("metadata log flush failed: {}", synced.to_string());
      co_return AppendResult{ErrorCode::KAFKA_STORAGE_ERROR, Offset(-1), Epoch(kEpoch), synced.to_string()};
    }
    log_->complete_flush(*ticket);
    if (listener_) listener_(Offset(res.first_offset), Epoch(kEpoch), values);
    co_return AppendResult{ErrorCode::NONE, Offset(res.last_offset), Epoch(kEpoch), {}};
  }

  storage::Status replay(const std::function<void(Offset, std::span<const uint8_t>)>& fn) override {
    int64_t offset = log_->log_start_offset();
    int64_t end = log_->log_end_offset();
    while (offset < end) {
      auto rr = log_->read(offset, 1 << 20, end, true);
      if (rr.error != ErrorCode::NONE) return rr.status;
      if (rr.bytes == 0) break;
      protocol::Bytes buf;
      for (auto& c : rr.chunks) {  // through the Env's File, so fault injection reaches it
        size_t at = buf.size();
        buf.resize(at + c.length);
        auto n = c.file->read_at(c.position, std::span<uint8_t>(buf.data() + at, c.length));
        if (!n.is_ok()) return n.status();
        if (n.value() != c.length)
          return storage::Status::corruption("metadata log: short read at offset " + std::to_string(offset));
      }
      int64_t next = offset;
      for (auto batch : protocol::leading_complete_batches(buf)) {
        protocol::RecordIterator it;
        if (it.open(batch) != ErrorCode::NONE)
          return storage::Status::corruption("metadata log: undecodable batch at offset " + std::to_string(next));
        protocol::RecordView rv;
        while (it.next(rv))
          if (rv.offset >= offset && rv.value) fn(Offset(rv.offset), *rv.value);
        next = it.header().base_offset + it.header().last_offset_delta + 1;
      }
      if (next <= offset) break;
      offset = next;
    }
    return storage::Status::ok();
  }

 private:
  std::unique_ptr<storage::Log> log_;
  NodeId local_id_;
  Clock& clock_;
  FlushThread& flush_;
  CommitListener listener_;
};

}  // namespace

OpenedMetadataLog open_metadata_log(storage::Env* env, const std::string& log_dir, NodeId local_id, Clock& clock,
                                    FlushThread& flush) {
  OpenedMetadataLog out;
  std::string dir = storage::join_path(log_dir, "__cluster_metadata-0");
  if (auto st = storage::create_dirs(env, dir); !st) {
    out.error = st.to_string();
    return out;
  }
  storage::LogOpenOptions opts;
  opts.now_ms = clock.now_ms();
  opts.config.segment_bytes = 100 * 1024 * 1024;
  auto log = storage::Log::open(env, dir, storage::TopicPartition{"__cluster_metadata", 0}, opts);
  if (!log.is_ok()) {
    out.error = log.status().to_string();
    return out;
  }
  out.log = std::make_unique<StorageMetadataLog>(std::move(log).value(), local_id, clock, flush);
  return out;
}

}  // namespace samsa::raft
