// The server's side of authorization: the checks handlers make before they
// act, against the shard's metadata image (its ACLs) with the connection's
// principal and address. Without an authorizer (authorizer.class.name empty)
// every check passes, as in Kafka.
//
// Called on the connection's shard; reads only the shard's image and the
// broker's immutable Authorizer.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error_code.h"
#include "cluster/acl_authorizer.h"
#include "config/broker_config.h"
#include "server/request_context.h"

namespace samsa::server {

using cluster::AclOperation;
using cluster::ResourceType;

// The broker's authorizer from authorizer.class.name, super.users and
// allow.everyone.if.no.acl.found: null when none is configured, an error
// message when the configuration cannot be used.
std::optional<std::string> make_authorizer(const config::BrokerConfig& config,
                                           std::shared_ptr<const cluster::Authorizer>& out);

bool authorizer_enabled(const RequestContext& ctx);
bool authorized(const RequestContext& ctx, AclOperation op, ResourceType type, std::string_view name);
inline bool authorized_cluster(const RequestContext& ctx, AclOperation op) {
  return authorized(ctx, op, ResourceType::CLUSTER, cluster::kClusterResourceName);
}
inline bool authorized_topic(const RequestContext& ctx, AclOperation op, std::string_view topic) {
  return authorized(ctx, op, ResourceType::TOPIC, topic);
}
inline bool authorized_group(const RequestContext& ctx, AclOperation op, std::string_view group) {
  return authorized(ctx, op, ResourceType::GROUP, group);
}
inline bool authorized_txn(const RequestContext& ctx, AclOperation op, std::string_view transactional_id) {
  return authorized(ctx, op, ResourceType::TRANSACTIONAL_ID, transactional_id);
}
// Topic auto-creation (Metadata, Produce): CREATE on the cluster or on the topic.
inline bool may_auto_create(const RequestContext& ctx, std::string_view topic) {
  return authorized_cluster(ctx, AclOperation::CREATE) || authorized_topic(ctx, AclOperation::CREATE, topic);
}
// Describe/alter configs of a ConfigResource (2 topic, 32 group, else the
// cluster): the error to answer when `op` (DESCRIBE_CONFIGS, ALTER_CONFIGS) is refused.
std::optional<ErrorCode> config_denied(const RequestContext& ctx, int8_t resource_type, std::string_view name,
                                       AclOperation op);
// May the principal do `op` on at least one resource of `type` (KIP-679)?
bool authorized_any(const RequestContext& ctx, AclOperation op, ResourceType type);
// Kafka's authorized-operations field for a resource (all the type supports
// when no authorizer is configured).
int32_t authorized_operations(const RequestContext& ctx, ResourceType type, std::string_view name);

}  // namespace samsa::server
