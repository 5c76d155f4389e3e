// Log: what replication needs of a follower's log — appending batches exactly
// as the leader wrote them, and truncating to where the replica diverged
// (split from log.cc to keep files short; same class, same ownership: the
// partition's core).
#include <algorithm>

#include "base/crc32c.h"
#include "storage/log.h"
#include "storage/log_format.h"

namespace samsa::storage {

using protocol::BatchHeader;

// ---------------------------------------------------------------- follower append

// Everything is checked before anything is written: a fetch response is input
// from another process, so a torn or corrupted one must not reach the disk.
ErrorCode Log::check_follower_batches(std::span<const uint8_t> data, AppendResult* r) const {
  int64_t expect = next_offset_;  // the next batch starts at or after it
  for (size_t pos = 0; pos < data.size();) {
    if (data.size() - pos < format::kBatchHeaderSize) {
      r->status = Status::corruption("truncated batch header in a follower append");
      return ErrorCode::CORRUPT_MESSAGE;
    }
    const uint8_t* p = data.data() + pos;
    BatchHeader h = BatchHeader::parse(p);
    if (const char* why = check_batch_header(h, data.size() - pos); *why != '\0') {
      r->status = Status::corruption(std::string(why) + " in a follower append");
      return ErrorCode::CORRUPT_MESSAGE;
    }
    if (h.base_offset > INT64_MAX - 1 - h.last_offset_delta) {
      r->status = Status::corruption("batch offsets overflow in a follower append");
      return ErrorCode::CORRUPT_MESSAGE;
    }
    if (crc32c(p + format::kCrcStart, h.total_size() - format::kCrcStart) != h.crc) {
      r->status = Status::corruption("CRC mismatch in the batch at offset " + std::to_string(h.base_offset));
      return ErrorCode::CORRUPT_MESSAGE;
    }
    if (h.base_offset < expect) {
      const std::string what = "batch at offset " + std::to_string(h.base_offset) + " below " +
                               std::to_string(expect) + " in a follower append to " + tp_.to_string();
      if (pos == 0) {  // overlaps what the log holds: the caller must truncate first
        r->status = Status::offset_out_of_range(what);
        return ErrorCode::OFFSET_OUT_OF_RANGE;
      }
      r->status = Status::corruption(what);
      return ErrorCode::CORRUPT_MESSAGE;
    }
    if (r->first_offset < 0) r->first_offset = h.base_offset;
    r->last_offset = h.last_offset();
    r->max_timestamp = std::max(r->max_timestamp, h.max_timestamp);
    r->records += std::max(h.record_count, 0);
    ++r->batches;
    expect = h.last_offset() + 1;
    pos += h.total_size();
  }
  return ErrorCode::NONE;
}

AppendResult Log::append_as_follower(std::span<const uint8_t> data, int64_t now_ms) {
  AppendResult r;
  r.log_start_offset = log_start_offset_;
  r.error = check_usable(&r.status);
  if (r.error != ErrorCode::NONE || data.empty()) return r;
  r.error = check_follower_batches(data, &r);
  auto fail = [&r](ErrorCode error, Status st) {
    r.error = error;
    r.status = std::move(st);
    r.first_offset = r.last_offset = -1;
    return r;
  };
  if (r.error != ErrorCode::NONE) return fail(r.error, r.status);
  if (should_roll(data.size(), r.last_offset, now_ms)) {
    if (Status st = roll(now_ms); !st) return fail(ErrorCode::KAFKA_STORAGE_ERROR, st);  // roll set failed_ if needed
  }
  // The new segment starts at the log end. Offsets after a gap of more than
  // 2^31 would not fit its relative offsets; Kafka would start the segment at
  // the batch instead, which recovery here would take for a lost tail.
  if (r.last_offset - active().base_offset() > INT32_MAX) {
    return fail(ErrorCode::CORRUPT_MESSAGE,
                Status::invalid_argument("offsets of a follower append too far past the log end of " +
                                         tp_.to_string()));
  }
  if (Status st = write_active(data, now_ms); !st) return fail(ErrorCode::KAFKA_STORAGE_ERROR, st);
  set_next_offset(r.last_offset + 1);
  for (size_t pos = 0; pos < data.size();) {
    BatchHeader h = BatchHeader::parse(data.data() + pos);
    note_leader_epoch(h.leader_epoch, h.base_offset);
    pos += h.total_size();
  }
  track_producers(data, now_ms);
  records_appended_ += r.records;
  return r;
}

// ---------------------------------------------------------------- truncation

// Order (each step leaves a log that opens after a kill, FORMAT.md
// "Truncation"): later segments are deleted from the last one back, so what
// remains is always a prefix; the segment holding `offset` is cut (index
// entries first, then the .log); then the epoch cache and producer state,
// which recovery re-derives from the batches if the process dies first; then
// everything is made durable.
Status Log::truncate_to(int64_t offset) {
  Status why;
  if (check_usable(&why) != ErrorCode::NONE) return why;
  // Nothing to cut, but the epoch cache may end with an epoch started at the
  // log end without a batch (a leader that wrote nothing): it goes too, as in
  // Kafka's truncateTo, or the follower would answer with it and diverge forever.
  if (offset >= next_offset_) return epochs_.truncate_from_end(offset);
  if (offset < log_start_offset_) return truncate_fully_and_start_at(offset);
  ++generation_;
  auto fail = [this](Status st) {
    failed_ = true;
    return st;
  };
  while (segments_.size() > 1 && segments_.back()->base_offset() >= offset) {
    Status st = delete_segment(segments_.size() - 1);
    if (!st) return fail(st);
  }
  Segment& seg = active();
  auto cut = seg.truncate_to(offset);
  if (!cut) return fail(cut.status());
  if (seg.sealed()) {
    Status st = seg.unseal();
    if (!st) return fail(st);
  }
  set_next_offset(seg.empty() ? std::min(seg.base_offset(), next_offset_) : seg.next_offset());
  set_log_start_offset(std::min(log_start_offset_, next_offset_));
  set_recovery_point(std::min(recovery_point_, next_offset_));
  // In memory even if the file write fails (then retried by the next change).
  Status epochs = epochs_.truncate_from_end(next_offset_);
  if (Status st = reload_producer_state(); !st) return fail(st);
  if (Status st = make_truncation_durable(); !st) return fail(st);
  return epochs;
}

Status Log::truncate_fully_and_start_at(int64_t offset) {
  Status why;
  if (check_usable(&why) != ErrorCode::NONE) return why;
  if (offset < 0) return Status::invalid_argument("negative offset");
  ++generation_;
  auto fail = [this](Status st) {
    failed_ = true;
    return st;
  };
  while (!segments_.empty()) {
    Status st = delete_segment(segments_.size() - 1);
    if (!st) return fail(st);
  }
  // The snapshots describe producers of the data just deleted: one left below
  // the new start would be loaded at the next open as this log's state.
  if (Status st = remove_all_snapshots(); !st) return fail(st);
  auto seg = Segment::create(env_, dir_, offset, segment_options());
  if (!seg) return fail(seg.status());
  segments_.push_back(std::move(*seg));
  ++dir_generation_;
  set_next_offset(offset);
  producers_ = ProducerState{};
  txn_index_.reset();
  set_log_start_offset(offset);
  set_recovery_point(offset);
  Status epochs = epochs_.clear();
  if (Status st = make_truncation_durable(); !st) return fail(st);
  return epochs;
}

// Without it a power cut after a truncation could bring back the old tail
// (an ftruncate not yet durable) underneath data appended later, or a
// snapshot unlinked with the tail.
Status Log::make_truncation_durable() {
  SAMSA_RETURN_IF_ERROR(active().flush());
  SAMSA_RETURN_IF_ERROR(env_->sync_dir(dir_));
  synced_dir_generation_ = dir_generation_;
  return Status::ok();
}

Status Log::remove_all_snapshots() {
  auto names = env_->list_dir(dir_);
  if (!names) return names.status();
  for (const auto& n : *names) {
    if (!Segment::parse_file_name(n, format::kSnapshotSuffix)) continue;
    Status st = env_->unlink(join_path(dir_, n));
    if (!st && st.kind() != Status::Kind::kNotFound) return st;
  }
  ++dir_generation_;
  return Status::ok();
}

}  // namespace samsa::storage
