// Per-batch rules of log compaction: which records of one stored record batch
// survive, and the re-encoded batch that holds them (see storage/FORMAT.md,
// "Compaction").
//
// KeyOffsetMap is the cleaner's "offset map": key -> the last offset at which
// the key was written in the dirty section. It stores whole keys (no hashing,
// so no collision can ever drop a live record) and is bounded by an estimate
// of its memory use.
//
// Both are plain values owned by one cleaning run on one thread.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/record_batch.h"

namespace samsa::storage {

class KeyOffsetMap {
 public:
  explicit KeyOffsetMap(size_t max_bytes) : max_bytes_(max_bytes) {}
  // Records that `key` was last written at `offset` (offsets arrive in
  // increasing order). false when the map is full and the key is new.
  bool put(std::span<const uint8_t> key, int64_t offset);
  // The last offset of `key`, or -1 when the dirty section does not hold it.
  int64_t get(std::span<const uint8_t> key) const;
  size_t size() const { return map_.size(); }
  size_t bytes_used() const { return bytes_; }
  // Offsets of the last batch of each producer id seen while mapping.
  std::unordered_map<int64_t, int64_t>& producer_last_batch() { return producers_; }
  const std::unordered_map<int64_t, int64_t>& producer_last_batch() const { return producers_; }

 private:
  // Rough per-entry cost of an unordered_map node holding a std::string.
  static constexpr size_t kEntryOverhead = 64;
  // Heterogeneous lookup: find() with a string_view allocates nothing.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> map_;
  std::unordered_map<int64_t, int64_t> producers_;
};

struct FilterContext {
  const KeyOffsetMap* map = nullptr;
  int64_t now_ms = 0;
  int64_t delete_retention_ms = 0;
  // Keep the batch as an empty header (no records, same offset range) when no
  // record survives: needed for the last batch of a cleaned group and the last
  // batch of a producer id (its sequence numbers).
  bool keep_empty = false;
};

struct FilterOutcome {
  enum class Action : uint8_t { keep, rewrite, drop };
  Action action = Action::keep;
  protocol::Bytes batch;           // the re-encoded batch when action == rewrite
  int32_t records_removed = 0;
  int64_t delete_horizon = -1;     // of the output batch when it holds tombstones, else -1
  ErrorCode error = ErrorCode::NONE;  // the stored batch does not decode
};

// Decides the fate of one stored batch (CRC already trusted: it was written
// by this broker and validated on recovery). Rules, in Kafka's spirit:
//  * control batches and transactional batches are kept whole (whether their
//    transaction aborted is not known here);
//  * a record without a key is removed;
//  * a record whose key the map holds at a later offset is removed;
//  * a tombstone (null value) is kept until the batch's delete horizon
//    (KIP-534: set to now + delete.retention.ms the first time the cleaner
//    keeps it) has passed, then removed.
// A rewritten batch keeps baseOffset, lastOffsetDelta, timestamps, timestamp
// type, producer fields, leader epoch and codec.
FilterOutcome filter_batch(std::span<const uint8_t> batch, const FilterContext& ctx);

// The 61-byte header of `batch` alone: no records, no compression, same
// offset range and producer fields, base/max timestamp = its maxTimestamp.
protocol::Bytes empty_batch_like(std::span<const uint8_t> batch);

}  // namespace samsa::storage
