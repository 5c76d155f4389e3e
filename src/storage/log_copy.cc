#include "storage/log_copy.h"

#include "protocol/record_batch.h"

namespace samsa::storage {

Result<CopyStep> copy_log_step(const Log& from, Log& to, size_t max_bytes, int64_t now_ms) {
  CopyStep step;
  const int64_t end = from.log_end_offset();
  if (to.log_end_offset() > end || to.log_end_offset() < from.log_start_offset()) {
    SAMSA_RETURN_IF_ERROR(to.truncate_fully_and_start_at(from.log_start_offset()));
  }
  const int64_t offset = to.log_end_offset();
  if (offset == end) {
    step.caught_up = true;
    return step;
  }
  auto rd = from.read(offset, max_bytes, end, /*min_one_batch=*/true);
  if (rd.error != ErrorCode::NONE) {
    return rd.status.is_ok() ? Status::io_error("reading " + from.topic_partition().to_string() + " at " +
                                                    std::to_string(offset) + " failed",
                                                0)
                             : rd.status;
  }
  protocol::Bytes buf;
  for (const auto& ch : rd.chunks) {
    const size_t at = buf.size();
    buf.resize(at + ch.length);
    auto got = ch.file->read_at(ch.position, std::span<uint8_t>(buf.data() + at, ch.length));
    if (!got) return got.status();
    if (*got != ch.length) return Status::io_error("short read copying " + from.topic_partition().to_string(), 0);
  }
  size_t whole = 0;
  for (auto& b : protocol::leading_complete_batches(buf)) whole += b.size();
  if (whole == 0) {
    // Nothing readable below the log end: the copy could never end where
    // `from` ends, and a shorter log would reuse offsets.
    return Status::corruption("no batch of " + from.topic_partition().to_string() + " at or after " +
                              std::to_string(offset) + " below its log end " + std::to_string(end));
  }
  auto appended = to.append_as_follower(std::span<const uint8_t>(buf.data(), whole), now_ms);
  if (appended.error != ErrorCode::NONE) {
    return appended.status.is_ok() ? Status::io_error("appending the copy of " + from.topic_partition().to_string() +
                                                          " failed",
                                                      0)
                                   : appended.status;
  }
  step.bytes = whole;
  step.caught_up = to.log_end_offset() == end;
  return step;
}

Status finish_log_copy(const Log& from, Log& to) {
  if (from.log_end_offset() != to.log_end_offset()) {
    return Status::invalid_argument("the copy of " + from.topic_partition().to_string() + " ends at " +
                                    std::to_string(to.log_end_offset()) + ", not " +
                                    std::to_string(from.log_end_offset()));
  }
  if (from.log_start_offset() > to.log_start_offset()) {
    SAMSA_RETURN_IF_ERROR(to.maybe_increment_log_start_offset(from.log_start_offset(), to.log_end_offset()));
  }
  const int32_t epoch = from.leader_epoch_cache().latest_epoch();
  if (epoch > to.leader_epoch_cache().latest_epoch()) to.assign_epoch_start(epoch);
  to.set_high_watermark_snapshot(from.high_watermark_snapshot());
  return Status::ok();
}

}  // namespace samsa::storage
