// GetTelemetrySubscriptions (71) and PushTelemetry (72), KIP-714. Samsa keeps no
// client-metrics subscriptions, so it answers as a Kafka broker with none configured:
// no requested metrics (a client then pushes nothing and asks again after the push
// interval) rather than leaving Kafka 3.7+ Java clients retrying an unsupported API.
// Runs on the connection's shard; the only state is the shard's random source.
#include <algorithm>
#include <iterator>

#include "base/random.h"
#include "protocol/messages/get_telemetry_subscriptions.h"
#include "protocol/messages/push_telemetry.h"
#include "server/broker.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {

// Kafka's defaults with no subscription: push every 5 minutes, delta temporality,
// and every codec it accepts, preferred first (zstd, lz4, gzip, snappy).
constexpr int32_t kPushIntervalMs = 300000;
constexpr int32_t kSubscriptionId = 1;  // the one (empty) subscription every client gets
constexpr int8_t kAcceptedCompression[] = {4, 3, 1, 2};

int32_t telemetry_max_bytes(const Broker& broker) {
  return broker.settings().config->get_int("telemetry.max.bytes").value_or(1048576);
}

bool is_zero(const protocol::Uuid& id) {
  for (uint8_t b : id)
    if (b != 0) return false;
  return true;
}

}  // namespace

asio::awaitable<net::Response> handle_get_telemetry_subscriptions(RequestContext& ctx, protocol::Reader& r) {
  protocol::GetTelemetrySubscriptionsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  protocol::GetTelemetrySubscriptionsResponse resp;
  resp.error_code = to_int(ErrorCode::NONE);
  resp.client_instance_id = req.client_instance_id;
  if (is_zero(resp.client_instance_id)) {
    // One generator per shard (this coroutine runs on the connection's shard).
    thread_local Random rng(random_seed());
    resp.client_instance_id = random_uuid(rng);
  }
  resp.subscription_id = kSubscriptionId;
  resp.accepted_compression_types.assign(std::begin(kAcceptedCompression), std::end(kAcceptedCompression));
  resp.push_interval_ms = kPushIntervalMs;
  resp.telemetry_max_bytes = telemetry_max_bytes(*ctx.broker);
  resp.delta_temporality = true;
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_push_telemetry(RequestContext& ctx, protocol::Reader& r) {
  protocol::PushTelemetryRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  // Kafka's checks, in its order; the metrics themselves are discarded.
  ErrorCode err = ErrorCode::NONE;
  const bool accepted = std::find(std::begin(kAcceptedCompression), std::end(kAcceptedCompression),
                                  req.compression_type) != std::end(kAcceptedCompression);
  if (is_zero(req.client_instance_id)) err = ErrorCode::INVALID_REQUEST;
  else if (req.subscription_id != kSubscriptionId) err = ErrorCode::UNKNOWN_SUBSCRIPTION_ID;
  else if (req.compression_type != 0 && !accepted) err = ErrorCode::UNSUPPORTED_COMPRESSION_TYPE;
  else if (req.metrics.size() > static_cast<size_t>(telemetry_max_bytes(*ctx.broker)))
    err = ErrorCode::TELEMETRY_TOO_LARGE;
  protocol::PushTelemetryResponse resp;
  resp.error_code = to_int(err);
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
