// One segment of a partition log: <base>.log (record batches exactly as
// received, magic 2) + <base>.index + <base>.timeindex, where <base> is the
// segment's base offset as 20 zero-padded digits. See storage/FORMAT.md.
//
// Invariants: batches in the .log are contiguous, offsets increase, and every
// offset in the segment is in [base_offset, next_offset). size() <= 2^31-1 so
// positions fit the int32 of index entries.
//
// Ownership: owned by its Log and used only from the thread that owns that
// Log. Its File handles are shared: a reader may keep one after the segment is
// rolled, truncated or deleted. A segment the log cleaner builds (files named
// "*.cleaned", then "*.swap") belongs to the cleaner thread until it is handed
// to the Log's thread (Log::replace_segments); never to both at once.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/batch_scanner.h"
#include "storage/env.h"
#include "storage/offset_index.h"
#include "storage/time_index.h"

namespace samsa::storage {

// Sizes a segment needs from the log's config (copied so a config change does
// not reach into live segments mid-append).
struct SegmentOptions {
  uint64_t index_bytes = 10 * 1024 * 1024;  // preallocation of each index while active
  uint32_t index_interval_bytes = 4096;
};

class Segment {
 public:
  // "<20-digit base offset><suffix>".
  static std::string file_name(int64_t base_offset, std::string_view suffix);
  // Parses "<20 digits><suffix>"; nullopt if `name` is not of that form.
  static std::optional<int64_t> parse_file_name(std::string_view name, std::string_view suffix);

  // Creates the files of a new, empty, active segment. A non-empty
  // `file_suffix` is appended to every file name ("<base>.log.cleaned" ...):
  // the cleaner builds replacement segments under such names.
  static Result<std::unique_ptr<Segment>> create(Env* env, const std::string& dir, int64_t base_offset,
                                                 const SegmentOptions& opts, std::string_view file_suffix = {});
  // Opens an existing segment. Indexes that are missing or fail the sanity
  // check are rebuilt from the batch headers (`*rebuilt` tells). The tail
  // after the last index entry is scanned to find next_offset. `active`
  // preallocates the indexes for appending.
  static Result<std::unique_ptr<Segment>> open(Env* env, const std::string& dir, int64_t base_offset,
                                               const SegmentOptions& opts, bool active, bool* rebuilt);

  // Opens an existing segment and validates every batch (Segment::recover):
  // used for the segments after the recovery point after an unclean shutdown.
  // `*truncated` = bytes cut off at the first invalid batch.
  static Result<std::unique_ptr<Segment>> open_and_recover(Env* env, const std::string& dir, int64_t base_offset,
                                                           const SegmentOptions& opts, bool active,
                                                           uint64_t* truncated);

  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  int64_t base_offset() const { return base_offset_; }
  int64_t next_offset() const { return next_offset_; }
  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t max_timestamp() const { return max_timestamp_; }
  int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  // Time the segment's age is measured from for segment.ms (see FORMAT.md).
  int64_t rolling_base_ms() const { return rolling_base_ms_; }
  bool indexes_full() const { return offset_index_->is_full() || time_index_->is_full(); }
  bool sealed() const { return sealed_; }
  const std::shared_ptr<File>& log_file() const { return log_; }
  // Modification counter: bumped by every change to the segment's files, so a
  // flush knows which segments it made durable (see Log::prepare_flush).
  uint64_t mod_count() const { return mod_count_; }
  bool dirty() const { return synced_mod_count_ != mod_count_; }
  void mark_synced(uint64_t mod_count) { synced_mod_count_ = std::max(synced_mod_count_, mod_count); }
  const OffsetIndex& offset_index() const { return *offset_index_; }
  const TimeIndex& time_index() const { return *time_index_; }
  std::string log_path() const;

  // Writes already-patched batches at the end with one write call, then
  // updates the indexes (one entry per index_interval_bytes). On a write error
  // the caller must truncate_bytes(size()) to drop a partial write.
  Status append(std::span<const uint8_t> batches, int64_t now_ms);
  // Drops bytes past `size` of the .log (undo of a failed append).
  Status truncate_bytes(uint64_t size);

  // First batch whose last offset >= offset, or nullopt if none in this segment.
  Result<std::optional<BatchInfo>> find_batch(int64_t offset) const;
  // Position of the first batch whose last offset >= offset, or size().
  Result<uint64_t> position_of(int64_t offset) const;
  // Largest batch boundary e with start <= e <= max_end such that [start, e)
  // holds whole batches. `start` must be a batch boundary.
  Result<uint64_t> fit_end(uint64_t start, uint64_t max_end) const;
  // First batch whose max timestamp >= ts, or nullopt.
  Result<std::optional<BatchInfo>> find_timestamp(int64_t ts) const;

  // Truncates so that no offset >= `offset` remains (the batch holding it goes
  // whole). Returns the bytes removed.
  Result<uint64_t> truncate_to(int64_t offset);
  // Validates every batch (structure, CRC32C, increasing offsets), truncates at
  // the first invalid byte and rebuilds both indexes. Returns bytes truncated.
  Result<uint64_t> recover();

  // Seals the segment when it stops being active: final time index entry and
  // indexes trimmed to their entries. Also done by close().
  Status seal();
  // Makes a sealed segment active again (after truncation): indexes regrow.
  Status unseal();
  Status flush();
  // Files to fdatasync to make everything appended so far durable.
  void files_to_sync(std::vector<std::shared_ptr<File>>* out) const;
  // Renames the three files from "<name><current suffix>" to "<name><to>":
  // indexes first, .log last (a swap is committed by its .log name; see
  // storage/FORMAT.md, "Compaction").
  Status change_file_suffix(std::string_view to);
  const std::string& file_suffix() const { return file_suffix_; }
  // Deletes the segment's files (open handles stay readable).
  Status remove();
  // Retention's delayed delete (file.delete.delay.ms): renames each existing
  // file to "<name>.deleted" and appends the new paths to `renamed`. Open
  // handles stay readable; the segment must not be used afterwards.
  Status rename_for_deletion(std::vector<std::string>* renamed);

 private:
  Segment(Env* env, std::string dir, int64_t base, SegmentOptions opts);
  Status open_indexes(bool active);
  Status rebuild_indexes();
  // Recomputes next_offset, max timestamp and bytes_since_index from the
  // indexes plus a scan of the batches after the last offset index entry.
  Status load_tail_state();
  Status index_batch(const BatchInfo& b);
  void reset_tail_state();
  Status clear_indexes_for_rebuild();
  std::string path(std::string_view suffix) const;

  Env* env_;
  std::string dir_;
  std::string file_suffix_;  // "" for a live segment, ".cleaned"/".swap" while the cleaner swaps it in
  int64_t base_offset_;
  SegmentOptions opts_;
  std::shared_ptr<File> log_;
  std::unique_ptr<OffsetIndex> offset_index_;
  std::unique_ptr<TimeIndex> time_index_;
  uint64_t size_ = 0;
  int64_t next_offset_;
  int64_t max_timestamp_ = -1;
  int64_t offset_of_max_timestamp_;
  uint64_t bytes_since_index_entry_ = 0;
  int64_t rolling_base_ms_ = -1;  // -1 until the first batch
  bool sealed_ = false;
  uint64_t mod_count_ = 1;
  uint64_t synced_mod_count_ = 0;
};

}  // namespace samsa::storage
