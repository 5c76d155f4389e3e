// When to snapshot the metadata state (Kafka's SnapshotGenerator rules):
//   * once the committed batches applied since the last snapshot reach
//     metadata.log.max.record.bytes.between.snapshots (default 20 MiB), or
//   * once metadata.log.max.snapshot.interval.ms (default 1 h; 0 disables it)
//     has passed since the last snapshot and something was committed since;
// never while a snapshot is being written. The caller feeds it what the
// metadata loader applies and asks due(now) after each batch or on a timer.
//
// Threads: owned by the thread that applies committed batches (shard 0).
#pragma once
#include <cstdint>
#include <string>
#include <utility>

namespace samsa::raft {

struct SnapshotPolicyConfig {
  int64_t max_bytes_between_snapshots = int64_t{20} << 20;  // metadata.log.max.record.bytes.between.snapshots
  int64_t max_interval_ms = 3600 * 1000;                    // metadata.log.max.snapshot.interval.ms
};

class SnapshotPolicy {
 public:
  // `now_ms` (monotonic) starts the interval, as the load of the newest snapshot (or of nothing) does.
  SnapshotPolicy(SnapshotPolicyConfig config, int64_t now_ms) : cfg_(config), last_ms_(now_ms) {}

  // A committed batch of `bytes` was applied.
  void on_committed(int64_t bytes) {
    bytes_ += bytes > 0 ? bytes : 0;
    ++batches_;
  }
  // Why a snapshot is due now ("" when none is).
  std::string due(int64_t now_ms) const {
    if (in_progress_ || batches_ == 0) return "";
    if (bytes_ >= cfg_.max_bytes_between_snapshots)
      return "metadata.log.max.record.bytes.between.snapshots reached (" + std::to_string(bytes_) + " bytes)";
    if (cfg_.max_interval_ms > 0 && now_ms - last_ms_ >= cfg_.max_interval_ms)
      return "metadata.log.max.snapshot.interval.ms passed";
    return "";
  }
  // The caller started writing a snapshot of everything applied so far.
  void on_started() {
    in_progress_ = true;
    covered_bytes_ = std::exchange(bytes_, 0);
    covered_batches_ = std::exchange(batches_, 0);
  }
  // It is durable, or it failed: then what it would have covered counts
  // again, so the next attempt is due as soon as this one was.
  void on_finished(int64_t now_ms, bool ok) {
    in_progress_ = false;
    if (ok) {
      last_ms_ = now_ms;
    } else {
      bytes_ += covered_bytes_;
      batches_ += covered_batches_;
    }
    covered_bytes_ = covered_batches_ = 0;
  }
  bool in_progress() const { return in_progress_; }
  int64_t bytes_since_snapshot() const { return bytes_; }
  // The next time due() may turn true by time alone (for a timer).
  int64_t next_interval_deadline() const { return last_ms_ + cfg_.max_interval_ms; }

 private:
  SnapshotPolicyConfig cfg_;
  int64_t last_ms_;
  int64_t bytes_ = 0;
  int64_t batches_ = 0;
  int64_t covered_bytes_ = 0;    // by the snapshot in progress
  int64_t covered_batches_ = 0;
  bool in_progress_ = false;
};

}  // namespace samsa::raft
