// cluster::ControllerChannel over the network: a request for the active
// controller goes to the leader of the metadata quorum as this node's
// QuorumMetadataLog knows it, on that voter's CONTROLLER listener
// (controller.quorum.voters). Where this node leads, the local handler
// answers without a socket. A lost connection, a timeout, no known leader or
// a NOT_CONTROLLER answer (answers_not_controller: a top-level error or one
// per topic / resource / ACL) is retried after
// controller.quorum.retry.backoff.ms on the leader known then (or the next
// voter in turn), until the caller's deadline.
//
// Threads: lives on the quorum's executor (shard 0); call() runs there.
#pragma once
#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "cluster/controller_channel.h"
#include "quorum/quorum_metadata_log.h"
#include "quorum/voter_clients.h"

namespace samsa::quorum {

// Answers a controller request on this node (the server's controller API
// dispatch); nullopt when the API is not served (the channel gives up).
using LocalControllerHandler = std::function<asio::awaitable<std::optional<protocol::Bytes>>(
    int16_t api_key, int16_t api_version, std::vector<uint8_t> body)>;

// The top-level error code of a controller response whose body starts with
// ThrottleTimeMs then ErrorCode (ElectLeaders 43 from v1, AlterPartitionReassignments 45,
// ListPartitionReassignments 46, AlterPartition 56, BrokerRegistration 62,
// BrokerHeartbeat 63, UnregisterBroker 64, AllocateProducerIds 67); nullopt
// for other APIs or a short body.
std::optional<ErrorCode> controller_response_error(int16_t api_key, std::span<const uint8_t> body);

// Whether a controller's answer says it is not the active controller: the
// top-level error above, or NOT_CONTROLLER on any entry of CreateTopics,
// DeleteTopics, CreatePartitions, AlterConfigs, IncrementalAlterConfigs,
// CreateAcls or DeleteAcls (a controller refuses a whole request at once and
// changes nothing, so the request may be sent again to another node).
bool answers_not_controller(int16_t api_key, int16_t api_version, std::span<const uint8_t> body);

class NetworkControllerChannel final : public cluster::ControllerChannel {
 public:
  NetworkControllerChannel(asio::any_io_executor ex, net::Transport& transport, Clock& clock, uint64_t seed,
                           VoterAddresses voters, const QuorumMetadataLog& log, int64_t retry_backoff_ms);
  void set_local_handler(LocalControllerHandler handler) { local_ = std::move(handler); }

  std::optional<NodeId> active_controller() const override;
  asio::awaitable<cluster::ChannelResponse> call(int16_t api_key, int16_t api_version, std::span<const uint8_t> body,
                                                 std::chrono::milliseconds timeout) override;
  void close() { clients_.close(); }
  // The voters' CONTROLLER endpoints changed (a VotersRecord).
  void set_voters(VoterAddresses voters) { clients_.set_addresses(std::move(voters)); }

 private:
  VoterClients clients_;
  const QuorumMetadataLog& log_;
  int64_t retry_backoff_ms_;
  LocalControllerHandler local_;
  size_t next_voter_ = 0;  // round robin when no leader is known
};

}  // namespace samsa::quorum
