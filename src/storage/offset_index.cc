#include "storage/offset_index.h"

#include "protocol/batch_header.h"
#include "storage/log_format.h"

namespace samsa::storage {

using protocol::load_be32;
using protocol::store_be32;

Result<std::unique_ptr<OffsetIndex>> OffsetIndex::open(Env* env, std::string path, int64_t base_offset,
                                                       uint64_t preallocate_bytes) {
  auto f = IndexFile::open(env, std::move(path), format::kOffsetIndexEntrySize, preallocate_bytes);
  if (!f) return f.status();
  return std::unique_ptr<OffsetIndex>(new OffsetIndex(base_offset, std::move(*f)));
}

OffsetPosition OffsetIndex::entry(size_t i) const {
  const uint8_t* p = file_->entry(i);
  return {base_offset_ + static_cast<uint32_t>(load_be32(p)), static_cast<uint32_t>(load_be32(p + 4))};
}

OffsetPosition OffsetIndex::last_entry() const {
  if (entries() == 0) return {base_offset_, 0};
  return entry(entries() - 1);
}

OffsetPosition OffsetIndex::lookup(int64_t target) const {
  // Binary search for the last entry with offset <= target.
  size_t lo = 0, hi = entries();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (entry(mid).offset <= target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return {base_offset_, 0};
  return entry(lo - 1);
}

OffsetPosition OffsetIndex::lookup_by_position(uint64_t pos) const {
  size_t lo = 0, hi = entries();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (entry(mid).position <= pos) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return {base_offset_, 0};
  return entry(lo - 1);
}

Status OffsetIndex::append(int64_t offset, uint32_t position) {
  int64_t rel = offset - base_offset_;
  if (rel < 0 || rel > INT32_MAX) return Status::invalid_argument("offset outside segment: " + path());
  if (entries() > 0) {
    OffsetPosition last = last_entry();
    if (offset <= last.offset || position <= last.position) {
      return Status::invalid_argument("index entries must increase: " + path());
    }
  }
  // (0, 0) would be all zero bytes, which marks the end of the entries; it
  // carries no information anyway (lookup's default is {base, 0}).
  if (rel == 0 && position == 0) return Status::ok();
  uint8_t e[format::kOffsetIndexEntrySize];
  store_be32(e, static_cast<int32_t>(rel));
  store_be32(e + 4, static_cast<int32_t>(position));
  return file_->append(e);
}

Status OffsetIndex::truncate_to(int64_t offset) {
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

Status OffsetIndex::sanity_check(int64_t segment_next_offset, uint64_t log_size) const {
  if (entries() == 0) return Status::ok();
  OffsetPosition last = last_entry();
  if (last.offset >= segment_next_offset || last.position >= log_size) {
    return Status::corruption("offset index entry beyond the segment: " + path());
  }
  if (entries() >= 2) {
    OffsetPosition prev = entry(entries() - 2);
    if (prev.offset >= last.offset || prev.position >= last.position) {
      return Status::corruption("offset index entries do not increase: " + path());
    }
  }
  return Status::ok();
}

}  // namespace samsa::storage
