// DescribeClientQuotas (48) and AlterClientQuotas (49), KIP-546. Describe reads
// the shard's image; Alter goes to the active controller as one metadata batch
// per request: this node's on shard 0 when it leads, else forwarded to the
// controller's CONTROLLER listener (the same request, v1) and answered once
// this node's image shows the change, like CreateAcls (broker_forwarding.cc).
// The caller needs DESCRIBE_CONFIGS (describe) or ALTER_CONFIGS (alter) on the
// cluster, as in Kafka.
#include "protocol/api_registry.h"
#include "protocol/messages/alter_client_quotas.h"
#include "protocol/messages/describe_client_quotas.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/controller_forwarding.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {

constexpr int16_t kForwardAlterClientQuotasVersion = 1;

template <typename Entity>
cluster::EntityComponents components_of(const std::vector<Entity>& entity) {
  cluster::EntityComponents out;
  for (auto& c : entity) out.emplace_back(c.entity_type, c.entity_name);
  return out;
}

template <typename Entity>
void copy_components(const cluster::EntityComponents& from, std::vector<Entity>& to) {
  for (auto& [type, name] : from) {
    auto& e = to.emplace_back();
    e.entity_type = type;
    e.entity_name = name;
  }
}

protocol::AlterClientQuotasRequest alter_request(const std::vector<cluster::QuotaAlteration>& entries,
                                                 bool validate_only) {
  protocol::AlterClientQuotasRequest req;
  req.validate_only = validate_only;
  for (auto& e : entries) {
    auto& out = req.entries.emplace_back();
    copy_components(e.entity, out.entity);
    for (auto& op : e.ops) {
      auto& o = out.ops.emplace_back();
      o.key = op.key;
      o.value = op.value;
      o.remove = op.remove;
    }
  }
  return req;
}

std::vector<cluster::OpResult> decode_alter_answer(std::span<const uint8_t> body, size_t count) {
  std::vector<cluster::OpResult> out(
      count, cluster::OpResult{ErrorCode::UNKNOWN_SERVER_ERROR, "The controller's answer could not be read.", {}});
  protocol::Reader r(body.data(), body.size());
  protocol::AlterClientQuotasResponse resp;
  resp.decode(r, kForwardAlterClientQuotasVersion);
  if (!r.ok() || resp.entries.size() != count) return out;
  for (size_t i = 0; i < count; ++i)
    out[i] = {static_cast<ErrorCode>(resp.entries[i].error_code), resp.entries[i].error_message.value_or(""), {}};
  return out;
}

// The image shows every accepted entry's ops (later entries over earlier ones).
bool shows_quotas(const cluster::MetadataImage& img, const std::vector<cluster::QuotaAlteration>& entries,
                  const std::vector<cluster::OpResult>& results) {
  std::map<std::pair<cluster::QuotaEntity, std::string>, std::optional<double>> expected;
  for (size_t i = 0; i < entries.size(); ++i) {
    cluster::QuotaEntity entity;
    if (results[i].error != ErrorCode::NONE || cluster::validate_entity(entries[i].entity, entity)) continue;
    for (auto& op : entries[i].ops)
      expected[{entity, op.key}] = op.remove ? std::nullopt : std::optional<double>(op.value);
  }
  for (auto& [where, value] : expected) {
    auto it = img.client_quotas.find(where.first);
    const double* have = nullptr;
    if (it != img.client_quotas.end())
      if (auto v = it->second.find(where.second); v != it->second.end()) have = &v->second;
    if (value ? (!have || *have != *value) : have != nullptr) return false;
  }
  return true;
}

}  // namespace

asio::awaitable<std::vector<cluster::OpResult>> Broker::alter_client_quotas(std::vector<cluster::QuotaAlteration> entries,
                                                                            bool validate_only) {
  return on_controller(alter_client_quotas_at_controller(std::move(entries), validate_only));
}

asio::awaitable<std::vector<cluster::OpResult>> Broker::alter_client_quotas_at_controller(
    std::vector<cluster::QuotaAlteration> entries, bool validate_only) {
  if (controller_here()) {
    auto op = controller_->alter_client_quotas(std::move(entries), validate_only);
    co_return co_await std::move(op);
  }
  protocol::Writer w;
  alter_request(entries, validate_only).encode(w, kForwardAlterClientQuotasVersion);
  std::vector<cluster::OpResult> results;
  ShowsImage shows;
  if (!validate_only)
    shows = [&entries, &results](const cluster::MetadataImage& img) { return shows_quotas(img, entries, results); };
  auto op = forward_batch(
      protocol::api_key::AlterClientQuotas, kForwardAlterClientQuotasVersion, std::move(w.buffer()),
      [&](std::span<const uint8_t> body) { results = decode_alter_answer(body, entries.size()); }, std::move(shows));
  if (!co_await std::move(op))
    co_return std::vector<cluster::OpResult>(entries.size(),
                                             cluster::OpResult{ErrorCode::REQUEST_TIMED_OUT, kNoControllerAnswered, {}});
  co_return results;
}

asio::awaitable<net::Response> handle_describe_client_quotas(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeClientQuotasRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  protocol::DescribeClientQuotasResponse resp;
  auto fail = [&](ErrorCode e, std::optional<std::string> msg) {
    resp.error_code = to_int(e);
    resp.error_message = std::move(msg);
    resp.entries = std::nullopt;
    return make_response(ctx, resp);
  };
  if (!authorized_cluster(ctx, AclOperation::DESCRIBE_CONFIGS))
    co_return fail(ErrorCode::CLUSTER_AUTHORIZATION_FAILED, std::nullopt);
  std::vector<cluster::QuotaFilterComponent> components;
  for (auto& c : req.components) components.push_back({c.entity_type, c.match_type, c.match});
  cluster::QuotaFilter filter;
  if (auto err = cluster::make_filter(components, req.strict, filter)) co_return fail(err->error, err->message);
  auto& entries = resp.entries.emplace();
  auto image = ctx.shard->image;
  for (auto& [entity, values] : image->client_quotas) {
    if (!filter.matches(entity)) continue;
    auto& e = entries.emplace_back();
    copy_components(cluster::EntityComponents(entity.begin(), entity.end()), e.entity);
    for (auto& [key, value] : values) {
      auto& v = e.values.emplace_back();
      v.key = key;
      v.value = value;
    }
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_alter_client_quotas(RequestContext& ctx, protocol::Reader& r) {
  protocol::AlterClientQuotasRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  protocol::AlterClientQuotasResponse resp;
  std::vector<cluster::QuotaAlteration> entries;
  for (auto& e : req.entries) {
    auto& a = entries.emplace_back();
    a.entity = components_of(e.entity);
    for (auto& op : e.ops) a.ops.push_back({op.key, op.value, op.remove});
  }
  std::vector<cluster::OpResult> results;
  if (!authorized_cluster(ctx, AclOperation::ALTER_CONFIGS)) {
    results.assign(entries.size(), cluster::OpResult{ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "", {}});
  } else {
    auto& broker = *ctx.broker;
    auto op = broker.alter_client_quotas(entries, req.validate_only);
    results = co_await std::move(op);
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    auto& out = resp.entries.emplace_back();
    out.error_code = to_int(results[i].error);
    if (results[i].error != ErrorCode::NONE && !results[i].message.empty()) out.error_message = results[i].message;
    copy_components(entries[i].entity, out.entity);
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
