// Log: loading the leader-epoch cache at open and rebuilding it from the
// batches (split from log.cc to keep files short; same class, same
// ownership: the partition's core).
#include <algorithm>

#include "storage/batch_scanner.h"
#include "storage/log.h"

namespace samsa::storage {

Status Log::for_each_batch_header(int64_t from, const BatchVisitor& fn) const {
  std::vector<uint8_t> buf(256 << 10);
  for (size_t i = segment_index_for(from); i < segments_.size(); ++i) {
    const Segment& seg = *segments_[i];
    auto first = seg.find_batch(std::max(from, seg.base_offset()));
    if (!first) return first.status();
    if (!first->has_value()) continue;
    BatchScanner scan(*seg.log_file(), (*first)->position, seg.size(), buf);
    BatchInfo info;
    protocol::BatchHeader h{};
    while (true) {
      auto more = scan.next(&info, &h);
      if (!more) return more.status();
      if (!*more) break;
      SAMSA_RETURN_IF_ERROR(fn(seg, info, h));
    }
  }
  return Status::ok();
}

// Adds to *into the epoch of every batch in [from, log end).
// False if a batch's epoch is below one already seen (then handled as the
// append did: assign_superseding); the entries *into started with may no
// longer describe the log, so the caller rebuilds them from the start.
Result<bool> Log::scan_leader_epochs(int64_t from, LeaderEpochCache* into) const {
  bool rising = true;
  SAMSA_RETURN_IF_ERROR(
      for_each_batch_header(from, [&](const Segment&, const BatchInfo& info, const protocol::BatchHeader& h) {
        if (!into->assign(h.leader_epoch, info.base_offset)) {
          rising = false;
          (void)into->assign_superseding(h.leader_epoch, info.base_offset);
        }
        return Status::ok();
      }));
  return rising;
}

// From the log start.
Status Log::rebuild_leader_epochs() {
  LeaderEpochCache rebuilt;
  auto scanned = scan_leader_epochs(log_start_offset_, &rebuilt);
  if (!scanned) return scanned.status();
  return epochs_.replace(rebuilt.entries());
}

// The file is written without fsync, so after a crash it may be missing, torn
// or stale. Absent or malformed: rebuilt from the whole log. After an unclean
// shutdown the entries from the first re-validated offset on are re-derived
// from the batches there (Kafka re-assigns epochs while recovering segments),
// so a write lost in the crash, or a truncation whose file write was lost, is
// repaired. Then the entries are cut to the log's range. An unchanged file is
// only read.
Status Log::load_leader_epochs(const LogOpenOptions& opts) {
  if (!epochs_.load()) {
    SAMSA_RETURN_IF_ERROR(rebuild_leader_epochs());
  } else if (!opts.clean_shutdown && recovery_info_.recovered_from_offset >= 0) {
    const int64_t from = std::max(recovery_info_.recovered_from_offset, log_start_offset_);
    LeaderEpochCache tail;
    SAMSA_RETURN_IF_ERROR(tail.replace(epochs_.entries()));
    SAMSA_RETURN_IF_ERROR(tail.truncate_from_end(from));
    auto rising = scan_leader_epochs(from, &tail);
    if (!rising) return rising.status();
    if (*rising) {
      SAMSA_RETURN_IF_ERROR(epochs_.replace(tail.entries()));
    } else {
      SAMSA_RETURN_IF_ERROR(rebuild_leader_epochs());
    }
  }
  SAMSA_RETURN_IF_ERROR(epochs_.truncate_from_end(next_offset_));
  return epochs_.truncate_from_start(log_start_offset_);
}

}  // namespace samsa::storage
