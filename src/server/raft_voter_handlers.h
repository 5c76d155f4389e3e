// AddRaftVoter (80) and RemoveRaftVoter (81), KIP-853: served on the CONTROLLER listener and on broker
// listeners (raft_voter_handlers.cc). ALTER on the cluster, as Kafka. UpdateRaftVoter (82): a voter's
// own request to the leader, CONTROLLER listener only, CLUSTER_ACTION on the cluster.
#pragma once
#include <asio.hpp>

#include "server/handlers.h"

namespace samsa::server {

asio::awaitable<net::Response> handle_add_raft_voter(RequestContext& ctx, protocol::Reader& r);
asio::awaitable<net::Response> handle_remove_raft_voter(RequestContext& ctx, protocol::Reader& r);
asio::awaitable<net::Response> handle_update_raft_voter(RequestContext& ctx, protocol::Reader& r);

}  // namespace samsa::server
