#include "replication/partition.h"

#include <spdlog/spdlog.h>

#include <cassert>

#include "protocol/record_batch.h"

namespace samsa::replication {

Partition::Partition(TopicPartition tp, protocol::Uuid topic_id, std::unique_ptr<storage::Log> log,
                     std::shared_ptr<const std::atomic<bool>> dir_online, IoErrorHandler on_io_error)
    : tp_(std::move(tp)),
      topic_id_(topic_id),
      log_(std::move(log)),
      dir_online_(std::move(dir_online)),
      on_io_error_(std::move(on_io_error)),
      config_(log_->config()),
      high_watermark_(log_->log_end_offset()) {}

void Partition::check_io_error(const storage::Status& st) {
  on_owner();
  if (!log_->failed() || st.is_ok()) return;
  fetch_waiters_.complete_all();
  if (on_io_error_) on_io_error_(st);
}

// A deleted partition: fetches waiting on it read again (and see it gone),
// acks=all produces waiting on it are answered.
Partition::~Partition() {
  fetch_waiters_.complete_all();
  fail_ack_waiters();
}

void Partition::become_leader(Epoch epoch) { set_role(Role::kLeader, epoch); }
void Partition::become_follower(Epoch epoch) { set_role(Role::kFollower, epoch); }

void Partition::set_role(Role role, Epoch epoch) {
  on_owner();
  assert(epoch >= leader_epoch_ && "a leader epoch only rises");
  if (role == role_ && epoch == leader_epoch_) return;
  role_ = role;
  leader_epoch_ = epoch;
  fetch_waiters_.complete_all();
}

void Partition::advance_high_watermark(Offset hw) {
  assert(hw <= log_end_offset() && "high watermark above the log end");
  if (hw > high_watermark_) high_watermark_ = hw;
}

void Partition::close() {
  on_owner();
  if (log_->closed() || offline()) return;  // an offline dir is not written to any more
  if (auto st = log_->close(); !st) spdlog::error("closing {} failed: {}", tp_.to_string(), st.to_string());
}

void Partition::replace_log(std::unique_ptr<storage::Log> log, std::shared_ptr<const std::atomic<bool>> dir_online) {
  on_owner();
  assert(log->log_end_offset() == log_->log_end_offset() && "a moved log ends where it ended");
  log_ = std::move(log);
  log_->update_config(config_);
  log_->set_high_watermark_snapshot(high_watermark_.value);
  dir_online_ = std::move(dir_online);
  fetch_waiters_.complete_all();
}

void Partition::set_config(const storage::LogConfig& cfg) {
  on_owner();
  config_ = cfg;
  log_->update_config(cfg);
}

bool Partition::refuse_if_offline(AppendOutcome& out) const {
  if (!offline()) return false;
  out.error = ErrorCode::KAFKA_STORAGE_ERROR;
  out.message = "the log dir of " + tp_.to_string() + " is offline";
  return true;
}

uint64_t Partition::begin_txn_verification(int64_t producer_id) {
  on_owner();
  // Bounded: producers that vanish without a marker (their coordinator aborts them in time)
  // would otherwise keep their entry; losing the entries only makes a check fail (retried).
  constexpr size_t kMaxVerifications = 100000;
  if (txn_verifications_.size() >= kMaxVerifications && !txn_verifications_.contains(producer_id))
    txn_verifications_.clear();
  auto [it, fresh] = txn_verifications_.emplace(producer_id, next_txn_verification_);
  if (fresh) ++next_txn_verification_;
  return it->second;
}

bool Partition::txn_verification_holds(int64_t producer_id, uint64_t token) const {
  on_owner();
  auto it = txn_verifications_.find(producer_id);
  return it != txn_verifications_.end() && it->second == token;
}

bool Partition::txn_open_for(int64_t producer_id, int16_t epoch) const {
  on_owner();
  const auto* e = log_->producer_state().find(producer_id);
  return e && e->epoch == epoch && e->current_txn_first_offset >= 0;
}

AppendOutcome Partition::append(std::span<uint8_t> batches, int64_t now_ms) {
  on_owner();
  AppendOutcome out;
  if (refuse_if_offline(out)) return out;
  const int32_t epoch = effective_epoch().value;
  const Offset end_before = log_end_offset();
  auto r = log_->append(batches, epoch, now_ms, config_.log_append_time);
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
  if (r.duplicate) return out;
  if (!txn_verifications_.empty() && batches.size() >= protocol::batch::kHeaderSize) {
    const auto h = protocol::BatchHeader::parse(batches.data());
    if (h.is_control()) txn_verifications_.erase(h.producer_id);
  }
  // Offsets are dense: the batches took the offsets from the old log end on.
  assert(Offset(r.first_offset) == end_before && Offset(r.last_offset + 1) == log_end_offset() &&
         "appended offsets must continue the log densely");
  (void)end_before;
  // append() is the leader's path (a follower appends what its fetcher brings
  // and takes the leader's high watermark). Without a registration the ISR is
  // this replica alone (one node): everything appended is committed. With one,
  // the replica state decides (an ISR of one: the same).
  if (state_) {
    bytes_above_hw_ += static_cast<int64_t>(batches.size());
    state_->on_append(log_end_offset(), mono_now());
  } else {
    advance_high_watermark(log_end_offset());
  }
  // Followers waiting on this partition read to the log end: the bytes are
  // theirs now; consumers read them once the HW covers them.
  if (!fetch_waiters_.empty())
    fetch_waiters_.on_append(static_cast<int64_t>(batches.size()), last_stable_offset().value);
  if (state_) sync_from_state();
  return out;
}

AppendOutcome Partition::append_as_follower(std::span<const uint8_t> batches, int64_t now_ms) {
  on_owner();
  AppendOutcome out;
  if (refuse_if_offline(out)) return out;
  auto r = log_->append_as_follower(batches, now_ms);
  out.error = r.error;
  out.base_offset = r.first_offset;
  out.last_offset = r.last_offset;
  out.log_start_offset = r.log_start_offset;
  if (r.error != ErrorCode::NONE) {
    out.message = r.status.message();
    check_io_error(r.status);
    spdlog::warn("follower append to {} failed: {}", tp_.to_string(), r.status.to_string());
  }
  return out;
}

ReadOutcome Partition::read(int64_t offset, size_t max_bytes, bool min_one_batch, bool read_committed) {
  return read_up_to(offset, max_bytes, min_one_batch, read_committed, false);
}

ReadOutcome Partition::read_for_follower(int64_t offset, size_t max_bytes) {
  return read_up_to(offset, max_bytes, true, false, true);
}

ErrorCode Partition::check_leader_epoch(Epoch current_leader_epoch) const {
  on_owner();
  if (current_leader_epoch.value < 0) return ErrorCode::NONE;  // not given (-1)
  if (current_leader_epoch < effective_epoch()) return ErrorCode::FENCED_LEADER_EPOCH;
  if (current_leader_epoch > effective_epoch()) return ErrorCode::UNKNOWN_LEADER_EPOCH;
  return ErrorCode::NONE;
}

storage::EpochEndOffset Partition::end_offset_for_epoch(Epoch epoch) const {
  on_owner();
  return log_->leader_epoch_cache().end_offset_for(epoch.value, log_->log_end_offset());
}

ReadOutcome Partition::read_up_to(int64_t offset, size_t max_bytes, bool min_one_batch, bool read_committed,
                                  bool to_log_end) {
  on_owner();
  ReadOutcome out;
  if (offline()) {
    out.error = ErrorCode::KAFKA_STORAGE_ERROR;
    return out;
  }
  out.high_watermark = high_watermark().value;
  out.log_start_offset = log_start_offset().value;
  out.log_end_offset = log_end_offset().value;
  out.last_stable_offset = log_->last_stable_offset(out.high_watermark);
  const int64_t limit = to_log_end ? out.log_end_offset : read_committed ? out.last_stable_offset : out.high_watermark;
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

Offset Partition::high_watermark() const {
  on_owner();
  assert(high_watermark_.value <= log_->log_end_offset() && "high watermark above the log end");
  return high_watermark_;
}
Offset Partition::log_start_offset() const {
  on_owner();
  return Offset(log_->log_start_offset());
}
Offset Partition::log_end_offset() const {
  on_owner();
  return Offset(log_->log_end_offset());
}

std::pair<int64_t, int64_t> Partition::max_timestamp_and_offset() const {
  on_owner();
  auto t = log_->max_timestamp_and_offset();
  return {t.timestamp, t.offset};
}

// The time index finds the batch; the exact record is found by iterating it.
std::optional<std::pair<int64_t, int64_t>> Partition::offset_for_timestamp(int64_t ts) const {
  on_owner();
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

}  // namespace samsa::replication
