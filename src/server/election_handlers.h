// ElectLeaders (43, v0-2): preferred and unclean leader elections for the
// partitions named (or every partition, a null list), as Kafka's admin client
// and kafka-leader-election.sh send them. Served on broker listeners and on the
// CONTROLLER listener with the same handler: on the active controller the
// elections run there (cluster::Controller::elect_leaders, one batch of
// PartitionChangeRecords); a broker that is not the active controller relays
// the request (v2) over the controller channel; a CONTROLLER listener whose
// node does not lead answers NOT_CONTROLLER at the top level, so the channel
// finds the leader and retries.
//
// As Kafka: ALTER on the cluster is required (CLUSTER_AUTHORIZATION_FAILED at
// the top level and on every named partition); v0 means a preferred
// election; an election type other than 0 and 1 is INVALID_REQUEST; with a
// null list only the partitions that needed an election are answered;
// ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
// ELIGIBLE_LEADERS_NOT_AVAILABLE and UNKNOWN_TOPIC_OR_PARTITION per partition.
// A partition named twice is elected and answered once.
//
// The handler runs on the connection's shard; the controller part on shard 0.
#pragma once
#include <asio.hpp>

#include "server/handlers.h"

namespace samsa::server {

asio::awaitable<net::Response> handle_elect_leaders(RequestContext&, protocol::Reader&);

}  // namespace samsa::server
