// Automatic leader balance (`auto.leader.rebalance.enable`): which partitions
// the controller gives back to their preferred replica, as Kafka's controller
// decides it. A partition's preferred replica is the first of its replicas. A
// broker's imbalance is the share of the partitions it prefers that it does
// not lead; when that share is above `leader.imbalance.per.broker.percentage`
// (Kafka's default 10), every partition it prefers but does not lead is a
// candidate, except one being reassigned (the reassignment decides its
// leader) and one whose preferred replica is not in the ISR or may not lead
// (`may_lead`). The preferred election itself is build_partition_change's.
//
// Pure function on an image the caller holds; any thread.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "cluster/metadata_image.h"
#include "cluster/partition_changes.h"

namespace samsa::cluster {

struct ImbalancedPartition {
  const TopicInfo* topic = nullptr;
  int32_t partition = -1;
};

std::vector<ImbalancedPartition> partitions_to_rebalance(const MetadataImage& image, int32_t imbalance_percentage,
                                                         const MayLead& may_lead);

}  // namespace samsa::cluster
