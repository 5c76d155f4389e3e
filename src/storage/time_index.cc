#include "storage/time_index.h"

#include "protocol/batch_header.h"
#include "storage/log_format.h"

namespace samsa::storage {

using protocol::load_be32;
using protocol::load_be64;
using protocol::store_be32;
using protocol::store_be64;

Result<std::unique_ptr<TimeIndex>> TimeIndex::open(Env* env, std::string path, int64_t base_offset,
                                                   uint64_t preallocate_bytes) {
  auto f = IndexFile::open(env, std::move(path), format::kTimeIndexEntrySize, preallocate_bytes);
  if (!f) return f.status();
  return std::unique_ptr<TimeIndex>(new TimeIndex(base_offset, std::move(*f)));
}

TimestampOffset TimeIndex::entry(size_t i) const {
  const uint8_t* p = file_->entry(i);
  return {load_be64(p), base_offset_ + static_cast<uint32_t>(load_be32(p + 8))};
}

TimestampOffset TimeIndex::last_entry() const {
  if (entries() == 0) return {format::kNoTimestamp, base_offset_};
  return entry(entries() - 1);
}

TimestampOffset TimeIndex::lookup_before(int64_t ts) const {
  size_t lo = 0, hi = entries();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (entry(mid).timestamp < ts) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return {format::kNoTimestamp, base_offset_};
  return entry(lo - 1);
}

Status TimeIndex::maybe_append(int64_t ts, int64_t offset, bool sealing) {
  TimestampOffset last = last_entry();
  if (ts <= last.timestamp) return Status::ok();
  if (entries() > 0 && offset < last.offset) return Status::invalid_argument("time index offsets decrease: " + path());
  int64_t rel = offset - base_offset_;
  if (rel < 0 || rel > INT32_MAX) return Status::invalid_argument("offset outside segment: " + path());
  if (file_->entries() >= file_->max_entries() || (is_full() && !sealing)) {
    // Sealing a segment whose index has no room left (e.g. trimmed before a
    // crash) just goes without the final entry: the max timestamp is then
    // found by walking the batches after the last offset index entry.
    if (sealing) return Status::ok();
    return Status::invalid_argument("time index full: " + path());
  }
  if (ts == 0 && rel == 0) return Status::ok();  // all-zero entries mark the end (see IndexFile)
  uint8_t e[format::kTimeIndexEntrySize];
  store_be64(e, ts);
  store_be32(e + 8, static_cast<int32_t>(rel));
  return file_->append(e);
}

Status TimeIndex::truncate_to(int64_t offset) {
  size_t lo = 0, hi = entries();  // first entry with offset >= `offset`
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (entry(mid).offset < offset) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return file_->truncate_entries(lo);
}

Status TimeIndex::sanity_check(int64_t segment_next_offset) const {
  if (entries() == 0) return Status::ok();
  TimestampOffset last = last_entry();
  if (last.offset >= segment_next_offset) return Status::corruption("time index entry beyond the segment: " + path());
  if (entries() >= 2) {
    TimestampOffset prev = entry(entries() - 2);
    if (prev.timestamp >= last.timestamp || prev.offset > last.offset) {
      return Status::corruption("time index entries do not increase: " + path());
    }
  }
  return Status::ok();
}

}  // namespace samsa::storage
