// The owning-thread half of compaction: swapping cleaned segments into a Log,
// and finishing a swap a crash interrupted (see segment_swap.h).
#include <algorithm>
#include <cassert>

#include "storage/batch_scanner.h"
#include "storage/log.h"
#include "storage/log_format.h"
#include "storage/segment_swap.h"

namespace samsa::storage {

Status Log::replace_segments(const std::vector<int64_t>& old_bases, uint64_t expected_generation,
                             std::unique_ptr<Segment>& cleaned, int64_t now_ms) {
  Status why;
  if (check_usable(&why) != ErrorCode::NONE) return why;
  assert(cleaned != nullptr && !old_bases.empty());
  assert(cleaned->base_offset() == old_bases.front() && cleaned->sealed());
  assert(cleaned->file_suffix() == format::kSwapSuffix);
  if (generation_ != expected_generation) return Status::invalid_argument("log truncated while it was cleaned");
  const size_t first = segment_index_for(old_bases.front());
  for (size_t k = 0; k < old_bases.size(); ++k) {
    const size_t i = first + k;
    // Never the active segment (the last one), only the very segments planned.
    if (i + 1 >= segments_.size() || segments_[i]->base_offset() != old_bases[k] || !segments_[i]->sealed()) {
      return Status::invalid_argument("segments changed while they were cleaned");
    }
  }
  assert(cleaned->next_offset() <= segments_[first + old_bases.size()]->base_offset());
  // From here a failure leaves the directory to recovery: the durable
  // "<base>.log.swap" says what replaces what.
  for (size_t k = 0; k < old_bases.size(); ++k) {
    Status st = delete_segment_later(first, now_ms);
    if (!st) {
      failed_ = true;
      return st;
    }
  }
  if (Status st = cleaned->change_file_suffix(""); !st) {
    failed_ = true;
    return st;
  }
  segments_.insert(segments_.begin() + static_cast<ptrdiff_t>(first), std::move(cleaned));
  ++dir_generation_;
  return Status::ok();
}

namespace {

// The offset after the last batch of a swap file (at least base + 1, so the
// segment named like the swap is always replaced).
Result<int64_t> swap_next_offset(Env* env, const std::string& path, int64_t base) {
  auto file = env->open_file(path, OpenMode::kExisting);
  if (!file) return file.status();
  auto size = (*file)->size();
  if (!size) return size.status();
  uint8_t buf[4096];
  BatchScanner scan(**file, 0, *size, buf);
  int64_t next = base + 1;
  BatchInfo b;
  for (;;) {
    auto more = scan.next(&b);
    // It was fdatasync'ed before it got its .swap name: a bad batch here is
    // damage after the fact, which the segment's own recovery truncates.
    if (!more || !*more) break;
    next = std::max(next, b.last_offset + 1);
  }
  return next;
}

Status unlink_if_exists(Env* env, const std::string& path) {
  Status st = env->unlink(path);
  if (!st && st.kind() != Status::Kind::kNotFound) return st;
  return Status::ok();
}

}  // namespace

Status complete_interrupted_swaps(Env* env, const std::string& dir, int* swaps_completed) {
  *swaps_completed = 0;
  auto names = env->list_dir(dir);
  if (!names) return names.status();
  const std::string log_swap = std::string(format::kLogSuffix) + std::string(format::kSwapSuffix);
  for (const auto& name : *names) {
    auto base = Segment::parse_file_name(name, log_swap);
    if (!base) continue;
    auto next = swap_next_offset(env, join_path(dir, name), *base);
    if (!next) return next.status();
    for (const auto& other : *names) {
      for (auto suffix : {format::kLogSuffix, format::kIndexSuffix, format::kTimeIndexSuffix}) {
        auto y = Segment::parse_file_name(other, suffix);
        if (y && *y >= *base && *y < *next) SAMSA_RETURN_IF_ERROR(unlink_if_exists(env, join_path(dir, other)));
      }
    }
    for (auto suffix : {format::kIndexSuffix, format::kTimeIndexSuffix}) {
      SAMSA_RETURN_IF_ERROR(
          unlink_if_exists(env, join_path(dir, Segment::file_name(*base, suffix) + std::string(format::kSwapSuffix))));
    }
    SAMSA_RETURN_IF_ERROR(env->rename(join_path(dir, name), join_path(dir, Segment::file_name(*base, format::kLogSuffix))));
    ++*swaps_completed;
  }
  if (*swaps_completed > 0) SAMSA_RETURN_IF_ERROR(env->sync_dir(dir));
  return Status::ok();
}

}  // namespace samsa::storage
