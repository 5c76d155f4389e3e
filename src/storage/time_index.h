// The .timeindex of a segment: (int64 timestamp, int32 offset - base_offset),
// big-endian. An entry (T, o) says: T is the largest timestamp of the segment
// up to offset o, and the batch holding o is the first batch that reached T.
// Entries are only added when T grows, so timestamps strictly increase and
// offsets never decrease. One slot is kept free for the final entry written
// when the segment is sealed (so the segment's max timestamp is on disk).
//
// Ownership: part of one Segment; used only by the thread that owns the Log.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "storage/index_file.h"

namespace samsa::storage {

struct TimestampOffset {
  int64_t timestamp;
  int64_t offset;
};

class TimeIndex {
 public:
  static Result<std::unique_ptr<TimeIndex>> open(Env* env, std::string path, int64_t base_offset,
                                                 uint64_t preallocate_bytes);

  int64_t base_offset() const { return base_offset_; }
  size_t entries() const { return file_->entries(); }
  // Full for ordinary appends (one slot stays free for the sealing entry).
  bool is_full() const { return file_->entries() + 1 >= file_->max_entries(); }
  TimestampOffset entry(size_t i) const;
  // The last entry, or {kNoTimestamp, base_offset} when empty.
  TimestampOffset last_entry() const;

  // Largest entry with timestamp < ts, or {kNoTimestamp, base_offset}: every
  // batch before the one holding its offset has max timestamp < ts.
  TimestampOffset lookup_before(int64_t ts) const;

  // Appends (ts, offset) if ts > last timestamp. `sealing` may use the
  // reserved last slot (and is skipped, not an error, without room).
  // Offsets must not decrease.
  Status maybe_append(int64_t ts, int64_t offset, bool sealing = false);
  // Drops every entry whose offset >= offset.
  Status truncate_to(int64_t offset);
  Status clear() { return file_->truncate_entries(0); }
  Status sanity_check(int64_t segment_next_offset) const;

  Status trim() { return file_->trim(); }
  Status preallocate(uint64_t bytes) { return file_->preallocate(bytes); }
  Status sync() { return file_->sync(); }
  Status unlink() { return file_->unlink(); }
  Status rename(std::string to) { return file_->rename(std::move(to)); }
  const std::shared_ptr<File>& file() const { return file_->file(); }
  const std::string& path() const { return file_->path(); }

 private:
  TimeIndex(int64_t base, std::unique_ptr<IndexFile> f) : base_offset_(base), file_(std::move(f)) {}
  int64_t base_offset_;
  std::unique_ptr<IndexFile> file_;
};

}  // namespace samsa::storage
