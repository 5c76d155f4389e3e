// The file underneath .index and .timeindex: fixed-size entries, preallocated
// to the configured maximum while the segment is active, trimmed to the real
// entries when the segment is sealed. Entries are written with pwrite (so a full
// disk is an error value, not a SIGBUS) and read through a read-only mapping.
//
// Invariant: no valid entry is all zero bytes (the writers guarantee it), so in
// a file that was preallocated and never trimmed (crash) the first all-zero
// entry marks the end of the valid entries.
//
// Ownership: part of one Segment; used only by the thread that owns the Log.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "storage/env.h"

namespace samsa::storage {

class IndexFile {
 public:
  // Opens (creating if missing) `path`. If `preallocate_bytes` > 0 the file is
  // grown to that size (rounded down to whole entries) for appending.
  static Result<std::unique_ptr<IndexFile>> open(Env* env, std::string path, size_t entry_size,
                                                 uint64_t preallocate_bytes);

  size_t entry_size() const { return entry_size_; }
  size_t entries() const { return entries_; }
  size_t max_entries() const { return capacity_ / entry_size_; }
  const uint8_t* entry(size_t i) const { return map_->data() + i * entry_size_; }
  const std::string& path() const { return path_; }
  const std::shared_ptr<File>& file() const { return file_; }

  // Number of entries before the first all-zero entry (or end of file).
  size_t count_valid_prefix() const;
  bool entry_is_zero(size_t i) const;
  static constexpr size_t kMaxEntrySize = 16;
  // Sets the entry count after the owner validated the contents.
  void set_entries(size_t n) { entries_ = n; }

  // Writes one entry at the end. Precondition: entries() < max_entries().
  Status append(const uint8_t* entry);
  // Drops entries [n, entries()), zeroing them on disk so a later crash cannot
  // resurrect them.
  Status truncate_entries(size_t n);
  // Shrinks the file to exactly entries() entries (sealed segment).
  Status trim();
  // Grows the file to `bytes` (rounded down to whole entries) for appending.
  Status preallocate(uint64_t bytes);
  Status sync() { return file_->sync(); }
  Status unlink();
  // Renames the file (the open descriptor and mapping stay valid).
  Status rename(std::string to);

 private:
  IndexFile(Env* env, std::string path, size_t entry_size) : env_(env), path_(std::move(path)), entry_size_(entry_size) {}
  Status remap(uint64_t new_size);

  Env* env_;
  std::string path_;
  size_t entry_size_;
  std::shared_ptr<File> file_;
  std::shared_ptr<MappedRegion> map_;  // null when capacity_ == 0
  uint64_t capacity_ = 0;              // file size == mapped size, a multiple of entry_size_
  size_t entries_ = 0;
};

}  // namespace samsa::storage
