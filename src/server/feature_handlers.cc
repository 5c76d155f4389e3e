// UpdateFeatures (57, KIP-584): finalized feature levels, on broker listeners and on the
// CONTROLLER listener. The update runs on this node's controller when it is the active one
// (shard 0); a broker that is not relays the same request (v1) to the active controller
// (relay_to_controller.h); a CONTROLLER listener whose node does not lead answers
// NOT_CONTROLLER. ALTER on the cluster, as Kafka. The levels are read back through ApiVersions.
#include "cluster/controller.h"
#include "protocol/messages/update_features.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/handlers.h"
#include "server/relay_to_controller.h"

namespace samsa::server {

namespace {

using UpdateRequest = protocol::UpdateFeaturesRequest;
using UpdateResponse = protocol::UpdateFeaturesResponse;

constexpr int16_t kUpdateForwardVersion = 1;

asio::awaitable<UpdateResponse> update_on_controller(Broker* broker, bool controller_listener, UpdateRequest req,
                                                     int16_t version) {
  auto elsewhere = relay_unless_controller<UpdateRequest, UpdateResponse>(broker, controller_listener, req,
                                                                          kUpdateForwardVersion);
  if (auto answer = co_await std::move(elsewhere)) co_return std::move(*answer);
  std::vector<cluster::FeatureUpdate> updates;
  for (auto& u : req.feature_updates) {
    // v0's allow_downgrade is a safe downgrade.
    const int8_t type = version == 0 ? (u.allow_downgrade ? 2 : 1) : u.upgrade_type;
    updates.push_back({u.feature, u.max_version_level, type});
  }
  auto op = broker->controller().update_features(std::move(updates), req.validate_only);
  auto result = co_await std::move(op);
  UpdateResponse resp;
  set_top_level_error(resp, result.error, result.message);
  if (result.error == ErrorCode::NONE) resp.error_message = std::nullopt;
  co_return resp;
}

}  // namespace

asio::awaitable<net::Response> handle_update_features(RequestContext& ctx, protocol::Reader& r) {
  UpdateRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  UpdateResponse resp;
  if (!authorized_cluster(ctx, AclOperation::ALTER)) {
    set_top_level_error(resp, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
  } else {
    const bool controller_listener = ctx.conn && ctx.broker->on_controller_listener(*ctx.conn);
    auto op = ctx.broker->on_controller(update_on_controller(ctx.broker, controller_listener, req, ctx.api_version));
    resp = co_await std::move(op);
  }
  // Before v2 each feature carries the request's error (one error for all, Kafka's rule).
  resp.results.clear();
  if (ctx.api_version < 2) {
    for (auto& u : req.feature_updates) {
      auto& out = resp.results.emplace_back();
      out.feature = u.feature;
      out.error_code = resp.error_code;
      out.error_message = resp.error_message;
    }
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
