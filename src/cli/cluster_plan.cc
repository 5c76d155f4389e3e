// `samsa cluster` plans (cluster_plan.h).
#include "cli/cluster_plan.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

namespace samsa::cli {

namespace {

using Loads = std::map<int32_t, int64_t>;  // broker id: replicas (or preferred leaderships) it holds

std::map<int32_t, std::string> racks_of(const std::vector<PlanBroker>& brokers) {
  std::map<int32_t, std::string> out;
  for (auto& b : brokers) out[b.id] = b.rack;
  return out;
}

// Distinct racks among `replicas` (a broker without a rack, or unknown, counts as its own).
size_t rack_count(const std::vector<int32_t>& replicas, const std::map<int32_t, std::string>& racks) {
  std::set<std::string> seen;
  for (int32_t r : replicas) {
    auto it = racks.find(r);
    seen.insert(it == racks.end() || it->second.empty() ? "#" + std::to_string(r) : it->second);
  }
  return seen.size();
}

bool holds(const std::vector<int32_t>& replicas, int32_t b) {
  return std::find(replicas.begin(), replicas.end(), b) != replicas.end();
}

Assignment changed(const Assignment& current, const Assignment& next) {
  Assignment out;
  for (auto& [key, replicas] : next)
    if (current.at(key) != replicas) out[key] = replicas;
  return out;
}

// Brokers of `loads` by load (ascending), ties by id.
std::vector<int32_t> by_load(const Loads& loads) {
  std::vector<int32_t> ids;
  for (auto& [id, _] : loads) ids.push_back(id);
  std::stable_sort(ids.begin(), ids.end(), [&loads](int32_t a, int32_t b) { return loads.at(a) < loads.at(b); });
  return ids;
}

// Evens out `loads` a unit at a time: for the most loaded broker and the
// least loaded one more than one unit below it, the first partition of `a`
// where `shift(replicas, hi, lo)` moves a unit from hi to lo (it changes the
// replicas and says so). Ends when no pair can move, or after `limit` moves.
void even_out(Assignment& a, Loads& loads, size_t limit,
              const std::function<bool(std::vector<int32_t>&, int32_t, int32_t)>& shift) {
  for (size_t n = 0; n <= limit && loads.size() > 1; ++n) {
    const auto order = by_load(loads);
    bool moved = false;
    for (auto hi = order.rbegin(); hi != order.rend() && !moved; ++hi) {
      for (auto lo = order.begin(); lo != order.end() && !moved; ++lo) {
        if (loads[*hi] - loads[*lo] <= 1) break;
        for (auto& [key, replicas] : a) {
          if (!shift(replicas, *hi, *lo)) continue;
          --loads[*hi];
          ++loads[*lo];
          moved = true;
          break;
        }
      }
    }
    if (!moved) break;
  }
}

}  // namespace

Assignment drain_plan(const Assignment& current, const std::vector<PlanBroker>& brokers, int32_t drained,
                      std::vector<PartitionKey>& stuck) {
  const auto racks = racks_of(brokers);
  Loads loads;
  for (auto& b : brokers)
    if (b.id != drained) loads[b.id] = 0;
  for (auto& [key, replicas] : current)
    for (int32_t r : replicas)
      if (loads.count(r)) ++loads[r];
  Assignment next = current;
  for (auto& [key, replicas] : next) {
    auto pos = std::find(replicas.begin(), replicas.end(), drained);
    if (pos == replicas.end()) continue;
    std::vector<int32_t> others;
    for (int32_t r : replicas)
      if (r != drained) others.push_back(r);
    const size_t racks_now = rack_count(others, racks);
    int32_t best = -1;
    std::tuple<int, int64_t, int32_t> best_score{};
    for (auto& [c, load] : loads) {
      if (holds(replicas, c)) continue;
      others.push_back(c);
      const int adds_rack = rack_count(others, racks) > racks_now ? 0 : 1;
      others.pop_back();
      std::tuple<int, int64_t, int32_t> score{adds_rack, load, c};
      if (best < 0 || score < best_score) {
        best = c;
        best_score = score;
      }
    }
    if (best < 0) {
      stuck.push_back(key);
      replicas = current.at(key);
      continue;
    }
    *pos = best;
    ++loads[best];
  }
  return changed(current, next);
}

Assignment balance_plan(const Assignment& current, const std::vector<PlanBroker>& brokers) {
  const auto racks = racks_of(brokers);
  Assignment next = current;
  Loads loads;
  for (auto& b : brokers) loads[b.id] = 0;
  size_t total = 0;
  for (auto& [key, replicas] : next)
    for (int32_t r : replicas)
      if (loads.count(r)) ++loads[r], ++total;
  // Each move lowers the spread; at most one move per replica.
  even_out(next, loads, total, [&racks](std::vector<int32_t>& replicas, int32_t hi, int32_t lo) {
    if (!holds(replicas, hi) || holds(replicas, lo)) return false;
    std::vector<int32_t> candidate = replicas;
    *std::find(candidate.begin(), candidate.end(), hi) = lo;
    if (rack_count(candidate, racks) < rack_count(replicas, racks)) return false;
    replicas = std::move(candidate);
    return true;
  });
  // Preferred leaders: swap a replica of a less-leading broker to the front.
  Loads leaders;
  for (auto& b : brokers) leaders[b.id] = 0;
  for (auto& [key, replicas] : next)
    if (!replicas.empty() && leaders.count(replicas.front())) ++leaders[replicas.front()];
  even_out(next, leaders, next.size(), [](std::vector<int32_t>& replicas, int32_t hi, int32_t lo) {
    if (replicas.empty() || replicas.front() != hi) return false;
    auto pos = std::find(replicas.begin(), replicas.end(), lo);
    if (pos == replicas.end()) return false;
    std::iter_swap(replicas.begin(), pos);
    return true;
  });
  return changed(current, next);
}

}  // namespace samsa::cli
