#pragma once
// The plans of `samsa cluster drain` and `samsa cluster balance` (pure,
// unit-tested; cluster_tool.cc runs them as reassignments). A plan names only
// the partitions whose replica list changes; a replica keeps its position
// when it moves (a moved first replica's replacement becomes the preferred
// leader). One thread (the tool's).
#include <cstdint>
#include <string>
#include <vector>

#include "cli/reassign.h"

namespace samsa::cli {

struct PlanBroker {
  int32_t id = -1;
  std::string rack;  // "" when the broker has none
};

// Every replica on `drained` replaced by the live broker (of `brokers`, not
// `drained`, not already a replica) that adds a rack the partition's other
// replicas lack, else the one holding the fewest replicas (then the lowest
// id). A partition no broker can take is listed in `stuck` and left out.
Assignment drain_plan(const Assignment& current, const std::vector<PlanBroker>& brokers, int32_t drained,
                      std::vector<PartitionKey>& stuck);

// Replica counts over `brokers` evened out to within one: a replica moves
// from the most to the least loaded broker that does not hold the partition,
// never lowering the number of racks the partition spans. Then preferred
// leaders (first replicas) evened out to within one by reordering replicas
// (no data moves). Replicas on brokers not in `brokers` are left alone.
Assignment balance_plan(const Assignment& current, const std::vector<PlanBroker>& brokers);

}  // namespace samsa::cli
