#include "observe/lag_rules.h"

#include <algorithm>
#include <vector>

namespace samsa::observe {

std::string_view lag_status_name(LagStatus s) {
  switch (s) {
    case LagStatus::kNotFound:
      return "NOTFOUND";
    case LagStatus::kOk:
      return "OK";
    case LagStatus::kWarn:
      return "WARN";
    case LagStatus::kErr:
      return "ERR";
    case LagStatus::kStop:
      return "STOP";
    case LagStatus::kStall:
      return "STALL";
    case LagStatus::kRewind:
      return "REWIND";
  }
  return "NOTFOUND";
}

namespace {

bool lag_ever_zero(std::span<const LagCommit> w) {
  return std::any_of(w.begin(), w.end(), [](const LagCommit& c) { return c.lag <= 0; });
}

bool offset_went_back(std::span<const LagCommit> w) {
  for (size_t i = 1; i < w.size(); ++i)
    if (w[i].offset < w[i - 1].offset) return true;
  return false;
}

// Silent for longer than the window spans: with one commit the span is 0, so
// any time after it counts (as Burrow judges an incomplete window).
bool stopped_committing(std::span<const LagCommit> w, int64_t now_ms) {
  int64_t first = w.front().timestamp_ms;
  int64_t last = w.back().timestamp_ms;
  return now_ms - last > last - first;
}

bool offset_never_moved(std::span<const LagCommit> w) {
  for (size_t i = 1; i < w.size(); ++i)
    if (w[i].offset != w[i - 1].offset) return false;
  return true;
}

bool lag_never_decreased(std::span<const LagCommit> w) {
  for (size_t i = 1; i < w.size(); ++i)
    if (w[i].lag < w[i - 1].lag) return false;
  return true;
}

int severity(LagStatus s) {
  switch (s) {
    case LagStatus::kNotFound:
      return 0;
    case LagStatus::kOk:
      return 1;
    case LagStatus::kWarn:
      return 2;
    case LagStatus::kStall:
      return 3;
    case LagStatus::kErr:
    case LagStatus::kStop:
    case LagStatus::kRewind:
      return 4;
  }
  return 0;
}

}  // namespace

LagStatus evaluate_partition(std::span<const LagCommit> w, int64_t current_lag, int64_t now_ms) {
  if (w.empty() || current_lag <= 0 || lag_ever_zero(w)) return LagStatus::kOk;
  if (offset_went_back(w)) return LagStatus::kRewind;
  if (stopped_committing(w, now_ms)) return LagStatus::kStop;
  if (offset_never_moved(w)) return LagStatus::kStall;
  if (lag_never_decreased(w)) return LagStatus::kWarn;
  return LagStatus::kOk;
}

LagStatus evaluate_partition(const LagWindow& window, int64_t current_lag, int64_t now_ms) {
  std::vector<LagCommit> w(window.commits().begin(), window.commits().end());
  return evaluate_partition(std::span<const LagCommit>(w), current_lag, now_ms);
}

LagStatus fold_group_status(LagStatus group, LagStatus partition) {
  LagStatus as_group = partition;
  if (partition == LagStatus::kStop || partition == LagStatus::kRewind) as_group = LagStatus::kErr;
  if (group == LagStatus::kNotFound) return as_group == LagStatus::kNotFound ? LagStatus::kOk : as_group;
  return severity(as_group) > severity(group) ? as_group : group;
}

}  // namespace samsa::observe
