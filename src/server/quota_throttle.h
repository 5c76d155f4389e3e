// The handlers' side of client quotas: which quota a request's client has
// (the shard's image, cluster::resolve_quota with the session's user and the
// request's client id), and recording its bytes on the shard owning that
// quota's rate. Called by Produce and Fetch on the connection's shard.
#pragma once
#include <asio.hpp>
#include <optional>

#include "server/quota_manager.h"
#include "server/request_context.h"

namespace samsa::server {

// The first versions whose clients back off on throttle_time_ms themselves
// (KIP-219); older ones get their throttled response late instead.
inline constexpr int16_t kProduceKip219Version = 6;
inline constexpr int16_t kFetchKip219Version = 8;

struct QuotaCharge {
  QuotaManager::Key key;
  double quota = 0;  // per second
};

// The produce or fetch quota of the request's client; nullopt when none applies.
std::optional<QuotaCharge> quota_for(const RequestContext& ctx, QuotaType type);
// The most a client can take in one quota window without being throttled
// whatever it did before (Kafka's getMaxValueInQuotaWindow): caps a fetch.
double max_value_in_window(const RequestContext& ctx, const QuotaCharge& c);
// Records `value` on the owning shard; the throttle in ms (int32 range).
asio::awaitable<int32_t> record_quota(RequestContext& ctx, QuotaCharge c, double value);
// Takes a recorded value back (a throttled fetch answers without data).
asio::awaitable<void> unrecord_quota(RequestContext& ctx, QuotaCharge c, double value);

}  // namespace samsa::server
