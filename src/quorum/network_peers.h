// QuorumPeers over the network: one net::KafkaClient per voter (its
// CONTROLLER listener, from controller.quorum.voters), the core's messages
// encoded with raft/raft_wire.h. A request that times out, loses its
// connection or gets an undecodable answer yields nullopt; the core retries.
//
// Threads: lives on the quorum's executor (shard 0); request() and close()
// run there only.
#pragma once
#include <asio.hpp>
#include <map>
#include <memory>

#include "quorum/quorum_metadata_log.h"
#include "quorum/voter_clients.h"
#include "raft/raft_wire.h"

namespace samsa::quorum {

class NetworkPeers final : public QuorumPeers {
 public:
  NetworkPeers(asio::any_io_executor ex, net::Transport& transport, Clock& clock, uint64_t seed,
               VoterAddresses voters, raft::WireContext context, NodeId local_id);

  asio::awaitable<std::optional<raft::MessageBody>> request(NodeId to, raft::MessageBody request,
                                                           std::chrono::milliseconds timeout) override;
  void close() override;
  // Where each node (voters, bootstrap servers, a leader learned from a Fetch answer) is.
  void set_addresses(VoterAddresses addresses) { clients_.set_addresses(std::move(addresses)); }

 private:
  VoterClients clients_;
  raft::WireContext context_;
};

}  // namespace samsa::quorum
