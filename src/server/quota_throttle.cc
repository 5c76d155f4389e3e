#include "server/quota_throttle.h"

#include "cluster/client_quotas.h"
#include "server/broker.h"
#include "server/shard.h"

namespace samsa::server {

namespace {
// Kafka's user entity name is the principal's name: "User:alice" -> "alice".
std::string user_of(const RequestContext& ctx) {
  std::string p = ctx.conn && ctx.conn->session ? ctx.conn->session->principal : "User:ANONYMOUS";
  auto colon = p.find(':');
  return colon == std::string::npos ? p : p.substr(colon + 1);
}
}  // namespace

std::optional<QuotaCharge> quota_for(const RequestContext& ctx, QuotaType type) {
  if (!ctx.shard || !ctx.shard->image || ctx.shard->image->client_quotas.empty()) return std::nullopt;
  const char* key = type == QuotaType::kProduce               ? cluster::kProducerByteRate
                    : type == QuotaType::kFetch             ? cluster::kConsumerByteRate
                    : type == QuotaType::kControllerMutation ? cluster::kControllerMutationRate
                                                             : cluster::kRequestPercentage;
  auto match = cluster::resolve_quota(ctx.shard->image->client_quotas, user_of(ctx), ctx.client_id.value_or(""), key);
  if (!match) return std::nullopt;
  return QuotaCharge{QuotaManager::Key{type, std::move(match->user_tag), std::move(match->client_tag)}, match->limit};
}

double max_value_in_window(const RequestContext& ctx, const QuotaCharge& c) {
  const auto& s = ctx.broker->settings();
  return c.quota * std::max(s.quota_window_num - 1, 1) * s.quota_window_size_seconds;
}

asio::awaitable<int32_t> record_quota(RequestContext& ctx, QuotaCharge c, double value) {
  auto& broker = *ctx.broker;
  Shard& owner = broker.shard(QuotaManager::owner(c.key, broker.shard_count()));
  auto op = invoke_on(owner, [&owner, c = std::move(c), value] { return owner.quotas->record(c.key, c.quota, value); });
  int64_t ms = co_await std::move(op);
  co_return static_cast<int32_t>(std::min<int64_t>(ms, INT32_MAX));
}

asio::awaitable<void> unrecord_quota(RequestContext& ctx, QuotaCharge c, double value) {
  auto& broker = *ctx.broker;
  Shard& owner = broker.shard(QuotaManager::owner(c.key, broker.shard_count()));
  auto op = invoke_on(owner, [&owner, c = std::move(c), value] {
    owner.quotas->unrecord(c.key, value);
    return 0;
  });
  co_await std::move(op);
}

int32_t charge_request_time(const RequestContext& ctx) {
  if (!ctx.request_quota || ctx.request_charged || !ctx.broker) return ctx.request_throttle_ms;
  ctx.request_charged = true;
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                         ctx.started).count() - ctx.waited_ns;
  // Kafka's unit: percent of one thread, so a nanosecond is 100 / 1e9 percent-seconds.
  const double value = static_cast<double>(std::max<int64_t>(ns, 0)) * 1e-7;
  int64_t ms = ctx.broker->record_request_time(*ctx.request_quota, value);
  // Kafka bounds a request-quota throttle by one quota window (ClientRequestQuotaManager).
  ms = std::min<int64_t>(ms, int64_t{ctx.broker->settings().quota_window_size_seconds} * 1000);
  ctx.request_throttle_ms = static_cast<int32_t>(std::max<int64_t>(ms, 0));
  return ctx.request_throttle_ms;
}

MutationQuota::MutationQuota(RequestContext& ctx, int16_t strict_version)
    : ctx_(ctx), strict_(ctx.api_version >= strict_version) {
  // A change another broker forwards to the controller was charged there.
  if (!(ctx.conn && ctx.broker->on_controller_listener(*ctx.conn))) charge_ = quota_for(ctx, QuotaType::kControllerMutation);
}

asio::awaitable<bool> MutationQuota::admit(int64_t partitions) {
  if (!charge_) co_return true;
  auto& broker = *ctx_.broker;
  Shard& owner = broker.shard(QuotaManager::owner(charge_->key, broker.shard_count()));
  const QuotaCharge c = *charge_;
  const bool strict = strict_;
  const double value = static_cast<double>(std::max<int64_t>(partitions, 0));
  // On the rate's shard: the strict check, then the charge (-1: refused).
  auto op = invoke_on(owner, [&owner, c, strict, value]() -> int64_t {
    if (strict && owner.quotas->throttle_now(c.key, c.quota) > 0) return -1 - owner.quotas->throttle_now(c.key, c.quota);
    return owner.quotas->record(c.key, c.quota, value);
  });
  const int64_t got = co_await std::move(op);
  const int64_t ms = got < 0 ? -1 - got : got;
  throttle_ms_ = std::max(throttle_ms_, static_cast<int32_t>(std::min<int64_t>(ms, INT32_MAX)));
  co_return got >= 0;
}

void MutationQuota::apply(net::Response& response) const {
  response.throttle_ms = throttle_ms_;
  response.throttle_before_send = !strict_;
}

}  // namespace samsa::server
