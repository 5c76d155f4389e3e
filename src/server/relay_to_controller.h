// A request that only the active controller can answer, as a broker that is
// not the active controller passes it on: the same Kafka request, encoded at
// one version, sent over the controller channel to the CONTROLLER listener of
// the active controller, and the answer relayed. A lost or unreadable answer
// becomes a top-level error of the response (REQUEST_TIMED_OUT,
// UNKNOWN_SERVER_ERROR), with its message where the response has one.
//
// Used by the handlers of AlterPartitionReassignments,
// ListPartitionReassignments, ElectLeaders and Add/RemoveRaftVoter (through
// relay_unless_controller); the older forwarded requests
// keep their typed encoders in controller_forwarding.h. Runs on the caller's
// executor (the controller channel is safe from any shard).
#pragma once
#include <asio.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "base/error_code.h"
#include "cluster/controller.h"
#include "protocol/wire.h"
#include "server/broker.h"
#include "server/controller_forwarding.h"

namespace samsa::server {

// Sets `resp`'s top-level error (and message, when the response has one).
template <typename Resp>
void set_top_level_error(Resp& resp, ErrorCode e, std::string message) {
  resp.error_code = to_int(e);
  if constexpr (requires { resp.error_message = std::move(message); }) resp.error_message = std::move(message);
}

template <typename Req, typename Resp>
asio::awaitable<Resp> relay_to_controller(Broker* broker, Req req, int16_t version) {
  protocol::Writer w;
  req.encode(w, version);
  auto body = std::move(w.buffer());
  auto call = broker->controller_channel().call(Req::api_key, version, body, std::chrono::milliseconds(kForwardTimeoutMs));
  auto answer = co_await std::move(call);
  Resp resp;
  if (!answer.ok) {
    set_top_level_error(resp, ErrorCode::REQUEST_TIMED_OUT, kNoControllerAnswered);
    co_return resp;
  }
  protocol::Reader r(answer.body.data(), answer.body.size());
  resp.decode(r, version);
  if (!r.ok()) {
    resp = Resp{};
    set_top_level_error(resp, ErrorCode::UNKNOWN_SERVER_ERROR, "The controller's answer could not be read.");
  }
  co_return resp;
}

// On shard 0, the step before a request only the active controller answers:
// nullopt when this node is the active controller (answer it here); else the
// active controller's answer, relayed — unless the request came in on this
// node's CONTROLLER listener (`controller_listener`): it is not passed on a
// second time, and the answer is NOT_CONTROLLER (clients look again).
template <typename Req, typename Resp>
asio::awaitable<std::optional<Resp>> relay_unless_controller(Broker* broker, bool controller_listener, Req req,
                                                            int16_t version) {
  if (broker->controller_here()) co_return std::nullopt;
  if (!controller_listener) co_return co_await relay_to_controller<Req, Resp>(broker, std::move(req), version);
  Resp resp;
  set_top_level_error(resp, ErrorCode::NOT_CONTROLLER, cluster::kNotControllerMessage);
  co_return resp;
}

}  // namespace samsa::server
