#include "replication/partition.h"

#include <spdlog/spdlog.h>

#include "protocol/record_batch.h"

namespace samsa::replication {

Partition::Partition(TopicPartition tp, protocol::Uuid topic_id, std::unique_ptr<storage::Log> log,
                     std::shared_ptr<const std::atomic<bool>> dir_online, IoErrorHandler on_io_error)
    : tp_(std::move(tp)),
      topic_id_(topic_id),
      log_(std::move(log)),
      dir_online_(std::move(dir_online)),
      on_io_error_(std::move(on_io_error)),
      config_(log_->config()) {}

void Partition::check_io_error(const storage::Status& st) {
  if (!log_->failed() || st.is_ok()) return;
  if (on_io_error_) on_io_error_(st);
}

Partition::~Partition() = default;

void Partition::close() {
  if (log_->closed() || offline()) return;  // an offline dir is not written to any more
  if (auto st = log_->close(); !st) spdlog::error("closing {} failed: {}", tp_.to_string(), st.to_string());
}

void Partition::set_config(const storage::LogConfig& cfg) {
  config_ = cfg;
  log_->update_config(cfg);
}

AppendOutcome Partition::append(std::span<uint8_t> batches, int64_t now_ms) {
  AppendOutcome out;
  if (offline()) {
    out.error = ErrorCode::KAFKA_STORAGE_ERROR;
    out.message = "the log dir of " + tp_.to_string() + " is offline";
    return out;
  }
  auto r = log_->append(batches, /*leader_epoch=*/0, now_ms, config_.log_append_time);
  out.error = r.error;
  if (r.error != ErrorCode::NONE) {
    out.message = r.status.message();
    check_io_error(r.status);
    if (r.error == ErrorCode::KAFKA_STORAGE_ERROR || r.error == ErrorCode::CORRUPT_MESSAGE)
      spdlog::warn("append to {} failed: {}", tp_.to_string(), r.status.to_string());
    return out;
  }
  out.base_offset = r.first_offset;
  out.last_offset = r.last_offset;
  out.log_append_time = r.log_append_time;
  out.log_start_offset = r.log_start_offset;
  out.duplicate = r.duplicate;
  if (!r.duplicate) wake_waiters();
  return out;
}

ReadOutcome Partition::read(int64_t offset, size_t max_bytes, bool min_one_batch, bool read_committed) {
  ReadOutcome out;
  if (offline()) {
    out.error = ErrorCode::KAFKA_STORAGE_ERROR;
    return out;
  }
  out.high_watermark = high_watermark();
  out.log_start_offset = log_start_offset();
  out.log_end_offset = log_end_offset();
  out.last_stable_offset = log_->last_stable_offset(out.high_watermark);
  const int64_t limit = read_committed ? out.last_stable_offset : out.high_watermark;
  if (offset == limit) return out;  // caught up: nothing to send
  auto r = log_->read(offset, max_bytes, limit, min_one_batch);
  out.error = r.error;
  if (r.error != ErrorCode::NONE) return out;
  out.bytes = r.bytes;
  if (read_committed && r.bytes > 0) out.aborted = log_->aborted_transactions(offset, limit);
  out.chunks.reserve(r.chunks.size());
  for (auto& c : r.chunks) out.chunks.push_back(c.to_wire());
  return out;
}

int64_t Partition::high_watermark() const { return log_->log_end_offset(); }
int64_t Partition::log_start_offset() const { return log_->log_start_offset(); }
int64_t Partition::log_end_offset() const { return log_->log_end_offset(); }

std::pair<int64_t, int64_t> Partition::max_timestamp_and_offset() const {
  auto t = log_->max_timestamp_and_offset();
  return {t.timestamp, t.offset};
}

// The time index finds the batch; the exact record is found by iterating it.
std::optional<std::pair<int64_t, int64_t>> Partition::offset_for_timestamp(int64_t ts) const {
  auto r = log_->offset_for_timestamp(ts);
  if (!r.is_ok() || !r.value()) return std::nullopt;
  auto& lookup = *r.value();
  auto& c = lookup.batch;
  protocol::Bytes buf(c.length);
  if (::pread(c.fd, buf.data(), c.length, static_cast<off_t>(c.position)) == static_cast<ssize_t>(c.length)) {
    protocol::RecordIterator it;
    if (it.open(buf) == ErrorCode::NONE) {
      protocol::RecordView rv;
      while (it.next(rv)) {
        if (rv.timestamp >= ts && rv.offset >= log_->log_start_offset()) return std::make_pair(rv.offset, rv.timestamp);
      }
    }
  }
  return std::make_pair(lookup.offset, lookup.timestamp);
}

void Partition::add_waiter(std::weak_ptr<FetchWaiter> w) {
  if (waiters_.size() > 64) std::erase_if(waiters_, [](auto& x) { return x.expired(); });
  waiters_.push_back(std::move(w));
}

void Partition::wake_waiters() {
  for (auto& w : waiters_) {
    if (auto sp = w.lock()) {
      auto ex = sp->executor;
      asio::post(ex, [sp] {
        sp->woken = true;
        sp->timer.cancel();
      });
    }
  }
  waiters_.clear();
}

}  // namespace samsa::replication
