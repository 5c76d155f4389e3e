// The broker's way to the active controller: sends a request to whichever
// node leads the metadata quorum and returns its answer. Broker registration
// and heartbeats, and the admin requests a broker forwards (CreateTopics,
// DeleteTopics, CreatePartitions, configs, producer id blocks), go through it.
//
// Where this node is the active controller the call may run locally; otherwise
// it goes over the CONTROLLER listener of the leader (controller.quorum.voters /
// bootstrap servers), retried on another node after NOT_CONTROLLER or a lost
// connection until the deadline.
//
// Threads: called on shard 0 (the quorum's loop); the implementation lives in
// quorum/ (network) or tests (in-memory).
#pragma once
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "base/types.h"
#include "protocol/wire.h"

namespace samsa::cluster {

struct ChannelResponse {
  bool ok = false;          // false: no controller answered before the deadline
  protocol::Bytes body;     // the response body (without the response header)
  std::optional<NodeId> controller;  // who answered
};

class ControllerChannel {
 public:
  virtual ~ControllerChannel() = default;
  // The active controller as this node knows it (nullopt: none known).
  virtual std::optional<NodeId> active_controller() const = 0;
  virtual asio::awaitable<ChannelResponse> call(int16_t api_key, int16_t api_version,
                                                std::span<const uint8_t> body,
                                                std::chrono::milliseconds timeout) = 0;
};

}  // namespace samsa::cluster
