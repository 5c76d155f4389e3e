// Consumer lag status, by Burrow's evaluation rules (LinkedIn's lag monitor for
// Kafka), as pure functions over a window of offset commits.
//
// For each (group, partition) the broker keeps the last kLagWindow commits:
// the committed offset, its commit timestamp and the lag at that moment (high
// watermark minus committed offset). A partition is then:
//   - OK if it has no lag now, or had zero lag at any commit of the window;
//   otherwise, the first that holds of
//   - REWIND: the committed offset went backwards between two commits;
//   - STOP:   the time since the last commit is longer than the window spans
//             (last minus first commit timestamp): the group stopped committing;
//   - STALL:  every commit of the window has the same offset: the group commits
//             but does not move;
//   - WARN:   the offset moves but the lag never decreased from one commit to
//             the next: the group falls behind;
//   - OK otherwise.
// A group's status is the worst of its partitions: OK, WARN, STALL (some
// partition stalled), or ERR (a partition stopped or rewound). Numeric codes
// are Burrow's (NOTFOUND 0, OK 1, WARN 2, ERR 3, STOP 4, STALL 5, REWIND 6),
// the ones Burrow's Prometheus exporters publish.
//
// Threads: pure functions; LagWindow is a value owned by its caller.
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>

namespace samsa::observe {

inline constexpr size_t kLagWindow = 10;  // Burrow's default `intervals`

enum class LagStatus : int {
  kNotFound = 0,
  kOk = 1,
  kWarn = 2,
  kErr = 3,
  kStop = 4,
  kStall = 5,
  kRewind = 6,
};

std::string_view lag_status_name(LagStatus s);  // "OK", "WARN", "ERR", "STOP", "STALL", "REWIND", "NOTFOUND"

struct LagCommit {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  int64_t lag = 0;  // high watermark minus offset when it was committed (>= 0)
};

// The last kLagWindow commits of one group on one partition, oldest first.
class LagWindow {
 public:
  void add(LagCommit c) {
    if (commits_.size() == kLagWindow) commits_.pop_front();
    commits_.push_back(c);
  }
  const std::deque<LagCommit>& commits() const { return commits_; }
  bool empty() const { return commits_.empty(); }

 private:
  std::deque<LagCommit> commits_;
};

// The partition's status from its window (oldest first), its lag now and the
// wall-clock time now. An empty window is OK (nothing to judge).
LagStatus evaluate_partition(std::span<const LagCommit> window, int64_t current_lag, int64_t now_ms);
LagStatus evaluate_partition(const LagWindow& window, int64_t current_lag, int64_t now_ms);

// Folds partition statuses into the group's: start with kOk (or kNotFound for
// a group without partitions) and fold each partition in.
LagStatus fold_group_status(LagStatus group, LagStatus partition);

}  // namespace samsa::observe
