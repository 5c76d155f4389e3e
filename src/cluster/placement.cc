#include "cluster/placement.h"

#include <algorithm>
#include <cassert>
#include <map>

namespace samsa::cluster {

std::vector<PlacementBroker> usable_brokers(const MetadataImage& image) {
  std::vector<PlacementBroker> out;
  for (auto& [id, b] : image.brokers)
    if (!b.fenced && !b.in_controlled_shutdown) out.push_back({id, b.rack});
  return out;
}

StripedPlacer::StripedPlacer(const std::vector<PlacementBroker>& brokers, Random& rng) : count_(brokers.size()) {
  assert(!brokers.empty());
  // std::map orders nullopt (no rack) before every name: a stable rack order.
  std::map<std::optional<std::string>, std::vector<int32_t>> by_rack;
  for (auto& b : brokers) by_rack[b.rack].push_back(b.id);
  for (auto& [rack, ids] : by_rack) {
    Rack r;
    r.brokers = std::move(ids);
    std::shuffle(r.brokers.begin(), r.brokers.end(), rng);
    r.cursor = static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(r.brokers.size()) - 1));
    racks_.push_back(std::move(r));
  }
  next_rack_ = static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(racks_.size()) - 1));
}

std::vector<int32_t> StripedPlacer::place(size_t rf) {
  assert(rf > 0 && rf <= count_);
  std::vector<int32_t> out;
  out.reserve(rf);
  std::vector<size_t> taken(racks_.size(), 0);  // brokers this partition took from each rack
  // One broker per rack per round: rf <= count_ guarantees the loop ends.
  for (size_t i = next_rack_; out.size() < rf; ++i) {
    size_t r = i % racks_.size();
    Rack& rack = racks_[r];
    if (taken[r] == rack.brokers.size()) continue;
    out.push_back(rack.brokers[(rack.cursor + taken[r]) % rack.brokers.size()]);
    ++taken[r];
  }
  Rack& leading = racks_[next_rack_];
  leading.cursor = (leading.cursor + 1) % leading.brokers.size();
  next_rack_ = (next_rack_ + 1) % racks_.size();
  return out;
}

}  // namespace samsa::cluster
