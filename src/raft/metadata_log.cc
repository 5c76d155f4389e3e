#include "raft/metadata_log.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "protocol/record_batch.h"
#include "base/clock.h"
#include "storage/log.h"

namespace samsa::raft {

namespace {

// The metadata log is an ordinary log; every controller change is one batch
// whose records carry the encoded metadata records as values.
class StorageMetadataLog final : public MetadataLog {
 public:
  explicit StorageMetadataLog(std::unique_ptr<storage::Log> log) : log_(std::move(log)) {}
  ~StorageMetadataLog() override {
    if (log_ && !log_->closed()) (void)log_->close();
  }

  std::optional<int64_t> append(const std::vector<protocol::Bytes>& values) override {
    protocol::BatchBuilder b;
    int64_t now = SystemClock::instance().now_ms();
    b.set_base_offset(0);
    for (auto& v : values) {
      protocol::Record r;
      r.timestamp = now;
      r.value = v;
      b.add(r);
    }
    auto bytes = b.build();
    auto res = log_->append(bytes, 0, now, false);
    if (res.error != ErrorCode::NONE) {
      spdlog::error("metadata log append failed: {}", res.status.to_string());
      return std::nullopt;
    }
    if (auto st = log_->flush(now); !st) {
      spdlog::error("metadata log flush failed: {}", st.to_string());
      return std::nullopt;
    }
    return res.last_offset;
  }

  void replay(const std::function<void(int64_t, std::span<const uint8_t>)>& fn) override {
    int64_t offset = log_->log_start_offset();
    int64_t end = log_->log_end_offset();
    while (offset < end) {
      auto rr = log_->read(offset, 1 << 20, end, true);
      if (rr.error != ErrorCode::NONE || rr.bytes == 0) break;
      protocol::Bytes buf;
      for (auto& c : rr.chunks) {
        size_t at = buf.size();
        buf.resize(at + c.length);
        if (::pread(c.fd, buf.data() + at, c.length, static_cast<off_t>(c.position)) != c.length) return;
      }
      int64_t next = offset;
      for (auto batch : protocol::leading_complete_batches(buf)) {
        protocol::RecordIterator it;
        if (it.open(batch) != ErrorCode::NONE) return;
        protocol::RecordView rv;
        while (it.next(rv))
          if (rv.offset >= offset && rv.value) fn(rv.offset, *rv.value);
        next = it.header().base_offset + it.header().last_offset_delta + 1;
      }
      if (next <= offset) break;
      offset = next;
    }
  }

 private:
  std::unique_ptr<storage::Log> log_;
};

}  // namespace

OpenedMetadataLog open_metadata_log(const std::string& log_dir) {
  OpenedMetadataLog out;
  auto* env = storage::posix_env();
  std::string dir = storage::join_path(log_dir, "__cluster_metadata-0");
  if (auto st = storage::create_dirs(env, dir); !st) {
    out.error = st.to_string();
    return out;
  }
  storage::LogOpenOptions opts;
  opts.now_ms = SystemClock::instance().now_ms();
  opts.config.segment_bytes = 100 * 1024 * 1024;
  auto log = storage::Log::open(env, dir, storage::TopicPartition{"__cluster_metadata", 0}, opts);
  if (!log.is_ok()) {
    out.error = log.status().to_string();
    return out;
  }
  out.log = std::make_unique<StorageMetadataLog>(std::move(log).value());
  return out;
}

}  // namespace samsa::raft
