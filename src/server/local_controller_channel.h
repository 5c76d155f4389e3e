// The ControllerChannel of a node without a quorum: this node's own
// controller is the active one, so a request is served in-process by the
// Controller on shard 0, decoded and encoded as on the CONTROLLER listener.
// Serves BrokerRegistration (62), BrokerHeartbeat (63) and AllocateProducerIds
// (67); anything else is answered not-ok (on one node nothing is forwarded:
// Broker::controller_here() holds, and the broker registered itself directly).
//
// Threads: call() runs on shard 0 only (the Controller's thread).
#pragma once
#include "cluster/controller_channel.h"

namespace samsa::server {

class Broker;

class LocalControllerChannel final : public cluster::ControllerChannel {
 public:
  explicit LocalControllerChannel(Broker& broker) : broker_(broker) {}
  std::optional<NodeId> active_controller() const override;
  asio::awaitable<cluster::ChannelResponse> call(int16_t api_key, int16_t api_version, std::span<const uint8_t> body,
                                                 std::chrono::milliseconds timeout) override;

 private:
  Broker& broker_;
};

}  // namespace samsa::server
