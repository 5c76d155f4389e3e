// Partition reassignment (KIP-455) as pure functions over one partition, the
// rules of Kafka's KRaft controller (PartitionReassignmentReplicas and
// PartitionReassignmentRevert, as facts):
// - starting: removing = current replicas not in the target, adding = target
//   replicas not current; replicas = target, then the removing ones. The ISR
//   and the leader stay; the adding replicas fetch as followers.
// - completing: once every adding replica is in the ISR and the ISR without
//   the removing replicas is not empty, replicas = target, the removing
//   replicas leave the ISR, adding / removing are cleared, and a leader that
//   was removed hands over to the first target replica in the ISR that may
//   lead. It happens in the same record as the ISR change that made it
//   possible (AlterPartition), or at once when the target needs no new
//   replica (a pure removal or reorder).
// - cancelling: replicas = replicas without the adding ones, the ISR without
//   them too; a leader that was an adding replica hands over.
//
// The target itself is checked by the controller (Controller::replica_error:
// not empty, no broker twice, every broker registered).
//
// Pure functions; any thread. Implemented in controller_reassign.cc.
#pragma once
#include <optional>
#include <vector>

#include "cluster/metadata_image.h"
#include "cluster/metadata_records.h"
#include "cluster/partition_changes.h"

namespace samsa::cluster {

// Whether `p` is being reassigned.
inline bool reassigning(const PartitionInfo& p) { return !p.adding_replicas.empty() || !p.removing_replicas.empty(); }

// The record that moves `p` towards `target` (completing at once when it
// can), or nullopt when `p` already has exactly that assignment.
std::optional<PartitionChangeRecord> start_reassignment(const Uuid& topic_id, const PartitionInfo& p,
                                                        const std::vector<int32_t>& target, const MayLead& may_lead);

// The record that reverts a reassignment in progress (the caller checks
// reassigning(p) first: NO_REASSIGNMENT_IN_PROGRESS otherwise).
PartitionChangeRecord cancel_reassignment(const Uuid& topic_id, const PartitionInfo& p, const MayLead& may_lead);

// `change` (an ISR change of `before`, or nullopt) extended to complete the
// reassignment of `before` when the ISR it leads to allows it; returns
// `change` unchanged otherwise.
std::optional<PartitionChangeRecord> with_completed_reassignment(const Uuid& topic_id, const PartitionInfo& before,
                                                                 std::optional<PartitionChangeRecord> change,
                                                                 const MayLead& may_lead);

}  // namespace samsa::cluster
