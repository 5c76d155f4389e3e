// The .index of a segment: sparse map from offset to the file position of a
// batch. Entry = (int32 offset - base_offset, int32 position), big-endian.
// Kafka's convention: an entry is keyed by the LAST offset of the batch that
// starts at `position`, and entries are strictly increasing in both fields.
//
// Ownership: part of one Segment; used only by the thread that owns the Log.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "storage/index_file.h"

namespace samsa::storage {

struct OffsetPosition {
  int64_t offset;
  uint32_t position;
};

class OffsetIndex {
 public:
  // `preallocate_bytes` > 0 for the active segment (see IndexFile::open).
  // Loads the valid entries; the caller checks them with sanity_check().
  static Result<std::unique_ptr<OffsetIndex>> open(Env* env, std::string path, int64_t base_offset,
                                                   uint64_t preallocate_bytes);

  int64_t base_offset() const { return base_offset_; }
  size_t entries() const { return file_->entries(); }
  bool is_full() const { return file_->entries() >= file_->max_entries(); }
  OffsetPosition entry(size_t i) const;
  // The last entry, or {base_offset, 0} when empty.
  OffsetPosition last_entry() const;

  // Largest entry with offset <= target, or {base_offset, 0}: scanning batches
  // forward from its position finds the batch holding `target`.
  OffsetPosition lookup(int64_t target) const;
  // Largest entry with position <= pos, or {base_offset, 0}.
  OffsetPosition lookup_by_position(uint64_t pos) const;

  // Precondition: offset > last entry's offset (or the index is empty),
  // offset - base fits int32, position > last position, !is_full().
  Status append(int64_t offset, uint32_t position);
  // Drops every entry whose offset >= offset.
  Status truncate_to(int64_t offset);
  Status clear() { return file_->truncate_entries(0); }

  // Kafka's check: entries increase, the last one lies inside the segment
  // (offset < segment_next_offset, position < log_size).
  Status sanity_check(int64_t segment_next_offset, uint64_t log_size) const;

  Status trim() { return file_->trim(); }
  Status preallocate(uint64_t bytes) { return file_->preallocate(bytes); }
  Status sync() { return file_->sync(); }
  Status unlink() { return file_->unlink(); }
  Status rename(std::string to) { return file_->rename(std::move(to)); }
  const std::shared_ptr<File>& file() const { return file_->file(); }
  const std::string& path() const { return file_->path(); }

 private:
  OffsetIndex(int64_t base, std::unique_ptr<IndexFile> f) : base_offset_(base), file_(std::move(f)) {}
  int64_t base_offset_;
  std::unique_ptr<IndexFile> file_;
};

}  // namespace samsa::storage
