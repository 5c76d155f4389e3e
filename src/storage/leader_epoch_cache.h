// The leader-epoch cache of one partition (Kafka's LeaderEpochFileCache): for
// each leader epoch that wrote to the log, the first offset it wrote, in rising
// epoch and offset order. It answers OffsetsForLeaderEpoch (end_offset_for),
// which a follower or a consumer uses to find where its copy diverged.
//
// Persisted in the partition directory as `leader-epoch-checkpoint`, Kafka's
// text layout (version 0, count, "<epoch> <start offset>" lines), rewritten
// (tmp file, rename, no fsync: see README "leader-epoch-checkpoint") only when
// the entries change. The file is untrusted input: a malformed one is reported
// as such and the Log rebuilds the entries from its batches' partitionLeaderEpoch.
//
// Ownership: a member of its Log, used only on the core that owns the Log.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/env.h"

namespace samsa::storage {

struct EpochEntry {
  int32_t epoch = 0;
  int64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

// OffsetsForLeaderEpoch's answer: {-1, -1} is UNDEFINED.
struct EpochEndOffset {
  int32_t epoch = -1;
  int64_t end_offset = -1;
  bool operator==(const EpochEndOffset&) const = default;
};

class LeaderEpochCache {
 public:
  static constexpr int32_t kUndefinedEpoch = -1;
  static constexpr int64_t kUndefinedOffset = -1;
  // Bound on the entries a file may claim (one per leader change that wrote).
  static constexpr size_t kMaxEntries = 100000;

  // In memory only (no file): for tests and rebuilding.
  LeaderEpochCache() = default;
  LeaderEpochCache(Env* env, std::string path) : env_(env), path_(std::move(path)) {}

  // Kafka's text layout; parse checks every field: epochs >= 0 strictly
  // rising, start offsets >= 0 non-decreasing, at most kMaxEntries.
  static std::string format(const std::vector<EpochEntry>& entries);
  static Result<std::vector<EpochEntry>> parse(std::string_view text);

  // Reads the file. True: entries loaded. False: the file is absent,
  // unreadable or malformed (the entries are cleared and the caller rebuilds
  // them, then calls replace()).
  bool load();
  // Sets all entries (a rebuild): they must satisfy parse's rules, else
  // InvalidArgument and nothing changes. Written if they differ.
  Status replace(std::vector<EpochEntry> entries);

  // A batch of `epoch` was written at `start_offset`. Same epoch as the latest:
  // nothing. A higher epoch (at an offset >= the latest start): appended and
  // written. A lower epoch or offset: InvalidArgument, nothing changes (epochs
  // only rise). A negative epoch (a batch without one) is ignored.
  Status assign(int32_t epoch, int64_t start_offset);
  // Kafka's assign for a batch whose epoch is not above the latest (a log
  // appended to by a caller that does not fence stale leaders): the entries
  // with an epoch >= `epoch` or a start >= `start_offset` go, then the new one
  // is added. Nothing when `epoch` is already the latest or negative.
  Status assign_superseding(int32_t epoch, int64_t start_offset);
  // The log was truncated to end at `end_offset`: entries starting at or
  // after it go.
  Status truncate_from_end(int64_t end_offset);
  // The log start moved to `start_offset`: entries wholly before it go and the
  // one holding it now starts there.
  Status truncate_from_start(int64_t start_offset);
  // The log was emptied (truncate_fully_and_start_at).
  Status clear();
  // Writes the file if an earlier write failed (called by Log::begin_close).
  Status persist_if_dirty() { return dirty_ ? persist() : Status::ok(); }

  // Kafka's OffsetsForLeaderEpoch: the largest epoch <= requested and the
  // start offset of the first epoch above it, or log_end_offset when the
  // requested epoch is the latest. Below the first entry: {requested, first
  // start} (the history before it was deleted). Above the latest, -1, or an
  // empty cache: UNDEFINED {-1, -1}.
  EpochEndOffset end_offset_for(int32_t requested, int64_t log_end_offset) const;
  // The latest epoch, kUndefinedEpoch when empty.
  int32_t latest_epoch() const { return entries_.empty() ? kUndefinedEpoch : entries_.back().epoch; }
  const std::vector<EpochEntry>& entries() const { return entries_; }
  bool dirty() const { return dirty_; }
  const std::string& path() const { return path_; }
  // The partition directory was renamed (Log::remove).
  void set_path(std::string path) { path_ = std::move(path); }

 private:
  static bool well_formed(const std::vector<EpochEntry>& entries);
  Status changed() {
    dirty_ = true;
    return persist();
  }
  Status persist();

  Env* env_ = nullptr;
  std::string path_;
  std::vector<EpochEntry> entries_;
  bool dirty_ = false;  // entries_ differ from the file (a write failed)
};

}  // namespace samsa::storage
