// The quorum's settings from the broker config, with Kafka's names:
// controller.quorum.voters (id@host:port: the CONTROLLER endpoints of the
// voters), the controller.quorum.*.ms timeouts, process.roles and node.id.
//
// Threads: pure functions over an immutable BrokerConfig.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/types.h"
#include "config/broker_config.h"
#include "raft/raft_messages.h"
#include "storage/env.h"

namespace samsa::quorum {

struct PeerAddress {
  std::string host;
  uint16_t port = 0;
  bool operator==(const PeerAddress&) const = default;
};
using VoterAddresses = std::map<NodeId, PeerAddress>;

struct QuorumSettings {
  raft::RaftConfig raft;    // local id, voter ids, timeouts
  VoterAddresses voters;    // where each voter's CONTROLLER listener is
  // controller.quorum.bootstrap.servers by their negative ids (raft.bootstrap).
  VoterAddresses bootstrap;
  // This node's CONTROLLER endpoints (advertised.listeners, else listeners, for each of
  // controller.listener.names; an empty host is "localhost"): what its entry in a dynamic quorum's
  // voter set should say. A voter whose entry differs tells the leader (UpdateRaftVoter, KIP-853).
  std::vector<protocol::kraft::VotersRecord::Endpoint> local_endpoints;
  bool controller = false;  // process.roles holds controller (this node must be a voter then)
  bool broker = false;
  int64_t max_record_bytes_between_snapshots = 20971520;  // metadata.log.max.record.bytes.between.snapshots
  int64_t max_snapshot_interval_ms = 3600000;             // metadata.log.max.snapshot.interval.ms
  // The metadata log's segments: a snapshot drops only whole segments before it.
  int32_t segment_bytes = 1024 * 1024 * 1024;  // metadata.log.segment.bytes
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;  // metadata.log.segment.ms
};

// nullopt: no quorum is configured (controller.quorum.voters and
// controller.quorum.bootstrap.servers empty): the node runs today's
// single-voter metadata log. In the dynamic form (bootstrap servers, no
// voters) the voters come from the newest VotersRecord in the metadata log
// dir, read through `env` (posix when null; quorum/dynamic_voters.h); a node
// without one (formatted with --no-initial-controllers) starts as an observer
// that finds the leader through the bootstrap servers. An error message when
// the configuration cannot form a quorum (a controller of a static quorum
// that is not a voter, a voter without a port, a malformed bootstrap server).
std::variant<std::optional<QuorumSettings>, std::string> quorum_settings(const config::BrokerConfig& cfg,
                                                                        storage::Env* env = nullptr);

}  // namespace samsa::quorum
