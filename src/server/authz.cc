#include "server/authz.h"

#include "server/broker.h"

namespace samsa::server {

namespace {

std::string static_value(const config::BrokerConfig& c, std::string_view key) {
  auto& values = c.static_values();
  auto it = values.find(key);
  return it == values.end() ? std::string() : it->second;
}

cluster::AclRequester requester(const RequestContext& ctx) {
  static const std::string kAnonymous = "User:ANONYMOUS";
  cluster::AclRequester who{kAnonymous, {}};
  if (ctx.conn) {
    if (ctx.conn->session) who.principal = ctx.conn->session->principal;
    who.host = ctx.conn->peer_host;
  }
  return who;
}

const cluster::Authorizer* authorizer_of(const RequestContext& ctx) {
  return ctx.broker ? ctx.broker->authorizer() : nullptr;
}

}  // namespace

std::optional<std::string> make_authorizer(const config::BrokerConfig& config,
                                           std::shared_ptr<const cluster::Authorizer>& out) {
  return cluster::Authorizer::make(config.value("authorizer.class.name").value_or(""),
                                   static_value(config, "super.users"),
                                   static_value(config, "allow.everyone.if.no.acl.found"), out);
}

bool authorizer_enabled(const RequestContext& ctx) { return authorizer_of(ctx) != nullptr; }

bool authorized(const RequestContext& ctx, AclOperation op, ResourceType type, std::string_view name) {
  auto* authz = authorizer_of(ctx);
  if (!authz) return true;
  return authz->authorize(ctx.shard->image->acl_index(), requester(ctx), op, type, name);
}

bool authorized_any(const RequestContext& ctx, AclOperation op, ResourceType type) {
  auto* authz = authorizer_of(ctx);
  if (!authz) return true;
  return authz->authorize_any(ctx.shard->image->acl_index(), requester(ctx), op, type);
}

std::optional<ErrorCode> config_denied(const RequestContext& ctx, int8_t resource_type, std::string_view name,
                                       AclOperation op) {
  constexpr int8_t kTopic = 2, kGroup = 32;
  if (resource_type == kTopic)
    return authorized_topic(ctx, op, name) ? std::nullopt : std::optional(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
  if (resource_type == kGroup)
    return authorized_group(ctx, op, name) ? std::nullopt : std::optional(ErrorCode::GROUP_AUTHORIZATION_FAILED);
  return authorized_cluster(ctx, op) ? std::nullopt : std::optional(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
}

int32_t authorized_operations(const RequestContext& ctx, ResourceType type, std::string_view name) {
  auto* authz = authorizer_of(ctx);
  if (!authz) return cluster::supported_operations(type);
  return authz->authorized_operations(ctx.shard->image->acl_index(), requester(ctx), type, name);
}

}  // namespace samsa::server
