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
  const char* key = type == QuotaType::kProduce ? cluster::kProducerByteRate : cluster::kConsumerByteRate;
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

}  // namespace samsa::server
