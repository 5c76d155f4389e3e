#include "server/local_controller_channel.h"

#include "protocol/api_registry.h"
#include "server/broker.h"
#include "server/controller_handlers.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {

// Decodes `body` as Req, runs serve(req) and encodes its answer.
template <typename Req, typename Serve>
asio::awaitable<cluster::ChannelResponse> serve_local(std::span<const uint8_t> body, int16_t version, Serve serve) {
  cluster::ChannelResponse out;
  protocol::Reader r(body.data(), body.size());
  Req req;
  req.decode(r, version);
  if (!r.ok()) co_return out;
  auto op = serve(std::move(req));
  auto resp = co_await std::move(op);
  protocol::Writer w;
  resp.encode(w, version);
  out.ok = true;
  out.body = std::move(w.buffer());
  co_return out;
}

}  // namespace

std::optional<NodeId> LocalControllerChannel::active_controller() const { return NodeId(broker_.node_id()); }

asio::awaitable<cluster::ChannelResponse> LocalControllerChannel::call(int16_t api_key, int16_t api_version,
                                                                       std::span<const uint8_t> body,
                                                                       std::chrono::milliseconds) {
  cluster::ChannelResponse out;
  auto& controller = broker_.controller();
  switch (api_key) {
    case protocol::api_key::BrokerRegistration: {
      auto op = serve_local<protocol::BrokerRegistrationRequest>(
          body, api_version, [&controller](auto req) { return serve_broker_registration(controller, std::move(req)); });
      out = co_await std::move(op);
      break;
    }
    case protocol::api_key::BrokerHeartbeat: {
      auto op = serve_local<protocol::BrokerHeartbeatRequest>(
          body, api_version, [&controller](auto req) { return serve_broker_heartbeat(controller, std::move(req)); });
      out = co_await std::move(op);
      break;
    }
    case protocol::api_key::AllocateProducerIds: {
      Broker* b = &broker_;
      auto op = serve_local<protocol::AllocateProducerIdsRequest>(
          body, api_version, [b](auto req) { return serve_allocate_producer_ids(*b, std::move(req)); });
      out = co_await std::move(op);
      break;
    }
    default:
      break;
  }
  if (out.ok) out.controller = NodeId(broker_.node_id());
  co_return out;
}

}  // namespace samsa::server
