// Log compaction (cleanup.policy=compact), Kafka's log cleaner split in three
// steps so that the expensive part runs off the partition's owning thread:
//
//   plan_cleaning()  owning thread: is the log due (dirty ratio, compaction
//                    lags)? Snapshot of its sealed, cleanable segments (shared
//                    File handles: sealed segments are immutable).
//   run_cleaning()   any thread: builds the offset map (key -> last offset) over
//                    the dirty section, rewrites the cleanable segments into
//                    groups of "<base>.log.cleaned" segments (each at most
//                    segment.bytes of input), fdatasyncs them, renames them to
//                    ".swap" and fsyncs the directory. Touches no Log state.
//   apply_cleaning() owning thread: swaps each group in (Log::replace_segments);
//                    a group whose sources changed meanwhile is discarded.
//
// The active segment is never cleaned, nor anything at or above the high
// watermark or younger than min.compaction.lag.ms. Offsets are preserved (they
// become sparse). File formats and crash safety: storage/FORMAT.md.
//
// Ownership: CleanTask and CleanResult are plain values handed from the owning
// thread to one cleaner thread and back; nothing here is shared.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/env.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "storage/topic_partition.h"

namespace samsa::storage {

struct CleanerOptions {
  size_t max_map_bytes = size_t{128} << 20;  // log.cleaner.dedupe.buffer.size
  size_t io_buffer_bytes = size_t{1} << 20;  // read buffer and write batching
  double max_io_bytes_per_second = 0;        // log.cleaner.io.max.bytes.per.second; <= 0: unlimited
};

// Keeps one cleaning's reads + writes at or below a byte rate (averaged since
// the cleaning began) by sleeping the cleaner thread — never an event loop.
// Owned by the cleaning's thread.
class IoThrottle {
 public:
  explicit IoThrottle(double bytes_per_second);
  // Accounts `bytes` and sleeps until the average rate is back under the
  // limit (in slices, returning early once `cancelled` is set).
  void account(size_t bytes, const std::atomic<bool>& cancelled);
  // Time slept so far, for the logs and tests.
  double slept_seconds() const { return slept_; }

 private:
  double rate_;
  double bytes_ = 0;
  double slept_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// One sealed segment as seen when the cleaning was planned.
struct SourceSegment {
  int64_t base_offset = 0;
  int64_t next_offset = 0;
  uint64_t size = 0;
  int64_t max_timestamp = -1;
  std::shared_ptr<File> file;
};

struct CleanTask {
  Env* env = nullptr;
  std::string dir;
  TopicPartition tp;
  std::vector<SourceSegment> segments;  // consecutive, from the log's first segment
  int64_t first_dirty_offset = 0;       // the cleaner checkpoint (clamped)
  int64_t end_offset = 0;               // first uncleanable offset = segments.back().next_offset
  uint64_t generation = 0;              // Log::truncation_generation() when planned
  double dirty_ratio = 0;
  int64_t now_ms = 0;
  int64_t delete_retention_ms = 0;
  uint64_t max_group_bytes = 0;         // segment.bytes
  SegmentOptions segment_options;
  CleanerOptions options;
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<IoThrottle> throttle;  // set by run_cleaning when the options limit the rate
};

struct CleanedGroup {
  std::vector<int64_t> old_bases;
  std::unique_ptr<Segment> segment;  // files named "<base>.*.swap"; null once swapped in
};

struct CleanResult {
  std::vector<CleanedGroup> groups;
  int64_t cleaned_up_to = 0;            // the new cleaner checkpoint
  uint64_t bytes_before = 0;
  double throttled_seconds = 0;         // slept to keep log.cleaner.io.max.bytes.per.second
  uint64_t bytes_after = 0;
  int64_t records_removed = 0;
  int64_t earliest_delete_horizon = -1; // of a kept tombstone: when a pass could remove it
};

// nullopt when the log is not compacted or not due. `checkpoint` is the
// cleaner checkpoint (-1: none); `force` cleans even below the dirty ratio
// (e.g. a tombstone's delete horizon has passed).
std::optional<CleanTask> plan_cleaning(const Log& log, int64_t checkpoint, int64_t high_watermark, int64_t now_ms,
                                       const CleanerOptions& options, bool force = false);

// The offset of the first dirty byte and the dirty ratio a plan would use, for
// choosing the dirtiest log. nullopt when nothing is cleanable.
std::optional<double> dirty_ratio(const Log& log, int64_t checkpoint, int64_t high_watermark, int64_t now_ms);

Result<CleanResult> run_cleaning(const CleanTask& task);

// Swaps the groups in, in order. Returns how many; a stale group (see
// Log::replace_segments) and the ones after it are discarded.
Result<int> apply_cleaning(Log& log, CleanResult& result, uint64_t generation, int64_t now_ms);

// Deletes the files of the groups that were not swapped in.
void discard_cleaning(CleanResult& result);

}  // namespace samsa::storage
