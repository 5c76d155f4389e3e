// Routing decisions of a broker in a cluster, read from a metadata image: which
// brokers clients may use, which one they are told is the controller, who leads
// a partition and what a data request for a partition led elsewhere is answered.
// Pure functions over an immutable image: callable on any thread (handlers call
// them with their shard's image), unit-tested without a broker.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "cluster/metadata_image.h"
#include "server/topic_partition.h"

namespace samsa::server {

// A broker clients may be sent to: registered and not fenced (Kafka's
// getAliveBrokerNodes). A fenced broker is listed nowhere.
bool is_live_broker(const cluster::MetadataImage& image, int32_t id);
std::vector<const cluster::BrokerInfo*> live_brokers(const cluster::MetadataImage& image);

// The controller id told to clients (Metadata, DescribeCluster): the active
// controller when it is a live broker (combined nodes); otherwise, as Kafka's
// KRaft brokers answer (clients cannot reach a controller-only node), a live
// broker: `self` (the one the client just reached) when it is live, else the
// lowest live id; -1 when there is none.
int32_t controller_id_for_clients(const cluster::MetadataImage& image, int32_t self);

// The replicas of a partition a client cannot reach: not registered, or fenced
// (Kafka's getOfflineReplicas, without the offline log dirs the caller adds).
std::vector<int32_t> offline_replicas(const cluster::MetadataImage& image, const cluster::PartitionInfo& p);

// The leader to name for a partition: its leader when that broker is
// registered, else -1 (Metadata then answers LEADER_NOT_AVAILABLE).
int32_t visible_leader(const cluster::MetadataImage& image, const cluster::PartitionInfo& p);

// The partition's entry in the image, or null (unknown topic or partition).
const cluster::PartitionInfo* find_partition(const cluster::MetadataImage& image, const TopicPartition& tp);
// The leader of `tp` in the image when it is a broker other than `self`
// (where a request about its data goes instead); nullopt when `self` leads it,
// nobody does, or the partition is unknown.
std::optional<int32_t> leader_elsewhere(const cluster::MetadataImage& image, const TopicPartition& tp, int32_t self);

// What a Produce, Fetch or ListOffsets for `tp` sent to broker `node` is
// answered before anything is read: NONE when `node` leads it;
// UNKNOWN_TOPIC_OR_PARTITION when the image has no such partition;
// NOT_LEADER_OR_FOLLOWER when another broker leads it or it has no leader
// (Kafka answers a data request to a non-leader so, offline partitions
// included; Metadata is where LEADER_NOT_AVAILABLE shows).
ErrorCode leader_error(const cluster::MetadataImage& image, int32_t node, const TopicPartition& tp);

// The leader and epoch a Fetch response names in CurrentLeader (v12+) for a
// partition this broker does not lead; nullopt when the image has no such partition.
struct LeaderAndEpoch {
  int32_t leader = -1;
  int32_t epoch = -1;
};
std::optional<LeaderAndEpoch> current_leader(const cluster::MetadataImage& image, const TopicPartition& tp);

// The coordinator of a key whose state lives in partition `tp` of an internal
// topic: the live broker leading it, or nullopt (COORDINATOR_NOT_AVAILABLE).
const cluster::BrokerInfo* coordinator_broker(const cluster::MetadataImage& image, const TopicPartition& tp);

// The replication factor to create an internal topic (__consumer_offsets,
// __transaction_state) with, or nullopt when it cannot be created yet. In a
// cluster Kafka's rule holds: creation waits until `configured` brokers are
// live (FindCoordinator answers COORDINATOR_NOT_AVAILABLE meanwhile). On a
// single node without a quorum (`single_node`) the factor is capped at the live
// brokers instead, so the default of 3 works out of the box (a documented
// difference from Kafka, which needs offsets.topic.replication.factor=1 there).
std::optional<int16_t> internal_topic_replication_factor(const cluster::MetadataImage& image, int16_t configured,
                                                         bool single_node);

}  // namespace samsa::server
