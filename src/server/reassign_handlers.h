// AlterPartitionReassignments (45) and ListPartitionReassignments (46),
// KIP-455. Served on broker listeners and on the CONTROLLER listener with the
// same handlers: the request runs on this node's controller when it is the
// active one (on shard 0); a broker that is not forwards the same request
// (v0) over the controller channel and relays the answer; a CONTROLLER
// listener whose node does not lead answers NOT_CONTROLLER (top level), so
// the forwarding channel finds the leader and retries.
//
// Authorization as Kafka: ALTER on the cluster for 45, DESCRIBE on the
// cluster for 46 (CLUSTER_AUTHORIZATION_FAILED at the top level).
//
// The handlers run on the connection's shard; the controller part on shard 0.
#pragma once
#include <asio.hpp>

#include "server/handlers.h"

namespace samsa::server {

asio::awaitable<net::Response> handle_alter_partition_reassignments(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_list_partition_reassignments(RequestContext&, protocol::Reader&);

}  // namespace samsa::server
