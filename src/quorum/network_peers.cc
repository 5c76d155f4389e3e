#include "quorum/network_peers.h"

#include <spdlog/spdlog.h>

namespace samsa::quorum {

NetworkPeers::NetworkPeers(asio::any_io_executor ex, net::Transport& transport, Clock& clock, uint64_t seed,
                           VoterAddresses voters, raft::WireContext context, NodeId local_id)
    // One fetch, a few votes and epoch messages at a time per voter.
    : clients_(std::move(ex), transport, clock, seed, std::move(voters), "raft-client-" + std::to_string(local_id.value),
               16),
      context_(std::move(context)) {}

asio::awaitable<std::optional<raft::MessageBody>> NetworkPeers::request(NodeId to, raft::MessageBody request,
                                                                       std::chrono::milliseconds timeout) {
  auto client = clients_.client_for(to);
  if (!client) co_return std::nullopt;
  auto wire = raft::encode_raft_request(context_, request, -1, to);
  if (wire.api_key < 0) co_return std::nullopt;
  auto resp = co_await client->send(wire.api_key, wire.api_version, wire.body, timeout);
  if (!resp.ok()) {
    spdlog::debug("metadata quorum: request {} to node {} failed: {}", wire.api_key, to.value,
                  net::to_string(resp.error));
    co_return std::nullopt;
  }
  std::string error;
  auto body = raft::decode_raft_response_to(request, wire.api_version, resp.body(), &error);
  if (!body) spdlog::warn("metadata quorum: undecodable answer to {} from node {}: {}", wire.api_key, to.value, error);
  co_return body;
}

void NetworkPeers::close() { clients_.close(); }

}  // namespace samsa::quorum
