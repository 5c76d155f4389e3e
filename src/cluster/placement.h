// Where the replicas of new partitions go (CreateTopics, CreatePartitions):
// striped placement as Kafka's KRaft controller does it (StripedReplicaPlacer,
// as facts). The usable brokers are grouped by rack (brokers without
// broker.rack form one rack), each rack's brokers shuffled once; a partition
// takes one broker from each rack in turn, starting at a rotating rack, so
// replicas spread over racks before any rack holds two; after each partition
// the leading rack's broker cursor and the starting rack move on by one, so
// leaders rotate over every broker. Starts are random (seeded Random), so
// successive topics do not all lead on the same broker.
//
// Only unfenced brokers that are not shutting down are usable: a fenced broker
// is never given a new partition (Kafka may use one as a follower when it must;
// Samsa refuses instead, see README.md).
//
// Pure computation on values the caller owns; any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/random.h"
#include "cluster/metadata_image.h"

namespace samsa::cluster {

struct PlacementBroker {
  int32_t id = -1;
  std::optional<std::string> rack;
};

// The brokers of `image` new replicas may go to: registered, unfenced, not in
// controlled shutdown; in id order.
std::vector<PlacementBroker> usable_brokers(const MetadataImage& image);

class StripedPlacer {
 public:
  // `brokers` must not be empty; `rng` draws the shuffles and starting points.
  StripedPlacer(const std::vector<PlacementBroker>& brokers, Random& rng);
  size_t broker_count() const { return count_; }
  // The replicas of the next partition, leader first; `rf` distinct brokers.
  // Requires 0 < rf <= broker_count().
  std::vector<int32_t> place(size_t rf);

 private:
  struct Rack {
    std::vector<int32_t> brokers;  // shuffled
    size_t cursor = 0;             // the broker this rack offers first
  };
  std::vector<Rack> racks_;  // by rack name, the rack-less brokers first
  size_t next_rack_ = 0;     // the rack that leads the next partition
  size_t count_ = 0;
};

}  // namespace samsa::cluster
