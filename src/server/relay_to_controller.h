// A request that only the active controller can answer, as a broker that is
// not the active controller passes it on: the same Kafka request, encoded at
// one version, sent over the controller channel to the CONTROLLER listener of
// the active controller, and the answer relayed. A lost or unreadable answer
// becomes a top-level error of the response (REQUEST_TIMED_OUT,
// UNKNOWN_SERVER_ERROR), with its message where the response has one.
//
// Used by the handlers of AlterPartitionReassignments,
// ListPartitionReassignments and ElectLeaders; the older forwarded requests
// keep their typed encoders in controller_forwarding.h. Runs on the caller's
// executor (the controller channel is safe from any shard).
#pragma once
#include <asio.hpp>
#include <chrono>
#include <string>
#include <utility>

#include "base/error_code.h"
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

}  // namespace samsa::server
