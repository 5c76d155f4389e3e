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

// The produce or fetch quota of the request's client; nullopt when none applies.
std::optional<QuotaCharge> quota_for(const RequestContext& ctx, QuotaType type);
// The most a client can take in one quota window without being throttled
// whatever it did before (Kafka's getMaxValueInQuotaWindow): caps a fetch.
double max_value_in_window(const RequestContext& ctx, const QuotaCharge& c);
// Records `value` on the owning shard; the throttle in ms (int32 range).
asio::awaitable<int32_t> record_quota(RequestContext& ctx, QuotaCharge c, double value);
// Takes a recorded value back (a throttled fetch answers without data).
asio::awaitable<void> unrecord_quota(RequestContext& ctx, QuotaCharge c, double value);

// controller_mutation_rate (KIP-599) over one CreateTopics, CreatePartitions
// or DeleteTopics: each topic's partitions are charged before it goes to the
// controller. From `strict_version` on (CreateTopics 6, CreatePartitions 3,
// DeleteTopics 5) a topic asked for while the rate is already above the quota
// is refused with THROTTLING_QUOTA_EXCEEDED (the one that takes it over still
// passes, as Kafka's strict quota); older versions are never refused, their
// response is held back for the throttle time instead. The response carries
// throttle_time_ms and the connection is muted that long (KIP-219). Charged
// by the broker the client sent it to (Kafka charges at the controller, which
// sees every change: here a client's rate is per broker, as its byte rates);
// a change forwarded to the controller is not charged again there.
class MutationQuota {
 public:
  MutationQuota(RequestContext& ctx, int16_t strict_version);
  // Charges `partitions` for one topic; false: refused (strict, over the quota).
  asio::awaitable<bool> admit(int64_t partitions);
  int32_t throttle_ms() const { return throttle_ms_; }
  // The response's throttle (and the connection's mute) from what was charged.
  void apply(net::Response& response) const;

 private:
  RequestContext& ctx_;
  std::optional<QuotaCharge> charge_;
  bool strict_;
  int32_t throttle_ms_ = 0;
};

inline constexpr const char* kThrottlingQuotaExceededMessage = "The throttling quota has been exceeded.";

}  // namespace samsa::server
