// AllocateProducerIds (67, KIP-730): a broker that is not the active
// controller asks for a block of producer ids. Served by the active
// controller on its CONTROLLER listener (and, on one node, through the
// LocalControllerChannel); anywhere else it is answered NOT_CONTROLLER.
#include "protocol/messages/allocate_producer_ids.h"
#include "server/broker.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {
constexpr int32_t kProducerIdBlockSize = 1000;  // Kafka's ProducerIdsBlock size
}  // namespace

asio::awaitable<protocol::AllocateProducerIdsResponse> serve_allocate_producer_ids(
    Broker& broker, protocol::AllocateProducerIdsRequest req) {
  protocol::AllocateProducerIdsResponse resp;
  resp.producer_id_start = -1;
  if (!broker.controller_here()) {
    resp.error_code = to_int(ErrorCode::NOT_CONTROLLER);
    co_return resp;
  }
  auto op = broker.controller().allocate_producer_ids(req.broker_id, kProducerIdBlockSize);
  int64_t first = co_await std::move(op);
  if (first < 0) {
    resp.error_code = to_int(ErrorCode::UNKNOWN_SERVER_ERROR);
    co_return resp;
  }
  resp.producer_id_start = first;
  resp.producer_id_len = kProducerIdBlockSize;
  co_return resp;
}

asio::awaitable<net::Response> handle_allocate_producer_ids(RequestContext& ctx, protocol::Reader& r) {
  protocol::AllocateProducerIdsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  auto op = broker.on_controller(serve_allocate_producer_ids(broker, std::move(req)));
  auto resp = co_await std::move(op);
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
