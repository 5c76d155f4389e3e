#include "server/controller_handlers.h"

#include "server/alter_partition_handler.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/relay_to_controller.h"
#include "server/handlers.h"
#include "server/not_controller.h"
#include "server/election_handlers.h"
#include "server/reassign_handlers.h"

namespace samsa::server {

namespace {

asio::awaitable<bool> controller_here_on_shard0(Broker* broker) { co_return broker->controller_here(); }

// A request another broker forwarded to this node as the active controller
// (broker_forwarding.cc), or an admin client sent to its CONTROLLER listener:
// served by the broker listener's handler, which runs it on this node's
// controller because it leads. A node that does not lead answers
// NOT_CONTROLLER in the API's own shape (not_controller.h), as Kafka's
// ControllerApis: the sender finds the leader and retries, and the request
// never hops between controllers. The check and the operation are two visits
// to shard 0: a leadership lost in between forwards once more, to the new
// leader.
template <typename Req, HandlerFn Serve>
asio::awaitable<net::Response> when_leading(RequestContext& ctx, protocol::Reader& r) {
  auto here = ctx.broker->on_controller(controller_here_on_shard0(ctx.broker));
  if (co_await std::move(here)) co_return co_await Serve(ctx, r);
  Req req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  co_return make_response(ctx, not_controller_answer(req));
}

constexpr HandlerEntry kControllerHandlers[] = {
    {19, when_leading<protocol::CreateTopicsRequest, handle_create_topics>},
    {20, when_leading<protocol::DeleteTopicsRequest, handle_delete_topics>},
    {30, when_leading<protocol::CreateAclsRequest, handle_create_acls>},
    {31, when_leading<protocol::DeleteAclsRequest, handle_delete_acls>},
    {33, when_leading<protocol::AlterConfigsRequest, handle_alter_configs>},
    {37, when_leading<protocol::CreatePartitionsRequest, handle_create_partitions>},
    {44, when_leading<protocol::IncrementalAlterConfigsRequest, handle_incremental_alter_configs>},
    {43, handle_elect_leaders},                   // NOT_CONTROLLER at the top level when not leading
    {45, handle_alter_partition_reassignments},
    {46, handle_list_partition_reassignments},
    {49, when_leading<protocol::AlterClientQuotasRequest, handle_alter_client_quotas>},
    {51, when_leading<protocol::AlterUserScramCredentialsRequest, handle_alter_user_scram_credentials>},
    {56, handle_alter_partition},  // alter_partition_handler.cc
    {57, handle_update_features},  // feature_handlers.cc: NOT_CONTROLLER at the top level when not leading
    {62, handle_broker_registration},
    {63, handle_broker_heartbeat},
    {64, handle_unregister_broker},
    {67, handle_allocate_producer_ids},  // producer_ids_handler.cc
};

cluster::BrokerRegistration registration_of(const protocol::BrokerRegistrationRequest& req) {
  cluster::BrokerRegistration reg;
  reg.id = NodeId(req.broker_id);
  reg.cluster_id = req.cluster_id;
  reg.incarnation_id = req.incarnation_id;
  for (auto& l : req.listeners) reg.listeners.push_back({l.name, l.host, l.port, l.security_protocol});
  for (auto& f : req.features) reg.features.push_back({f.name, f.min_supported_version, f.max_supported_version});
  reg.rack = req.rack;
  reg.previous_broker_epoch = req.previous_broker_epoch;
  return reg;
}

// Runs `serve` on the controller's shard and encodes its answer.
template <typename Req, typename Serve>
asio::awaitable<net::Response> handle_with(RequestContext& ctx, protocol::Reader& r, Serve serve) {
  Req req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  auto op = broker.on_controller(serve(broker.controller(), std::move(req)));
  auto resp = co_await std::move(op);
  co_return make_response(ctx, resp);
}

}  // namespace

asio::awaitable<protocol::BrokerRegistrationResponse> serve_broker_registration(
    cluster::Controller& controller, protocol::BrokerRegistrationRequest req) {
  protocol::BrokerRegistrationResponse resp;
  if (req.listeners.size() > kMaxBrokerListeners || req.features.size() > kMaxBrokerFeatures) {
    resp.error_code = to_int(ErrorCode::INVALID_REQUEST);
    co_return resp;
  }
  auto op = controller.register_broker(registration_of(req));
  auto r = co_await std::move(op);
  resp.error_code = to_int(r.error);
  resp.broker_epoch = r.error == ErrorCode::NONE ? r.broker_epoch : -1;
  co_return resp;
}

asio::awaitable<protocol::BrokerHeartbeatResponse> serve_broker_heartbeat(cluster::Controller& controller,
                                                                          protocol::BrokerHeartbeatRequest req) {
  cluster::BrokerHeartbeat hb;
  hb.id = NodeId(req.broker_id);
  hb.broker_epoch = req.broker_epoch;
  hb.metadata_offset = req.current_metadata_offset;
  hb.want_fence = req.want_fence;
  hb.want_shutdown = req.want_shut_down;
  auto op = controller.heartbeat(hb);
  auto r = co_await std::move(op);
  protocol::BrokerHeartbeatResponse resp;
  resp.error_code = to_int(r.error);
  if (r.error == ErrorCode::NONE) {
    resp.is_caught_up = r.is_caught_up;
    resp.is_fenced = r.is_fenced;
    resp.should_shut_down = r.should_shutdown;
  }
  co_return resp;
}

asio::awaitable<protocol::UnregisterBrokerResponse> serve_unregister_broker(cluster::Controller& controller,
                                                                            protocol::UnregisterBrokerRequest req) {
  auto op = controller.unregister_broker(NodeId(req.broker_id));
  auto r = co_await std::move(op);
  protocol::UnregisterBrokerResponse resp;
  resp.error_code = to_int(r.error);
  if (r.error != ErrorCode::NONE && !r.message.empty()) resp.error_message = r.message;
  co_return resp;
}

asio::awaitable<net::Response> handle_broker_registration(RequestContext& ctx, protocol::Reader& r) {
  return handle_with<protocol::BrokerRegistrationRequest>(ctx, r, serve_broker_registration);
}

asio::awaitable<net::Response> handle_broker_heartbeat(RequestContext& ctx, protocol::Reader& r) {
  return handle_with<protocol::BrokerHeartbeatRequest>(ctx, r, serve_broker_heartbeat);
}

namespace {
// On shard 0: the active controller unregisters; a broker listener elsewhere
// relays the request to it (Kafka's brokers forward UnregisterBroker).
asio::awaitable<protocol::UnregisterBrokerResponse> unregister_on_controller(Broker* broker, bool controller_listener,
                                                                             protocol::UnregisterBrokerRequest req) {
  auto elsewhere = relay_unless_controller<protocol::UnregisterBrokerRequest, protocol::UnregisterBrokerResponse>(
      broker, controller_listener, req, 0);
  if (auto answer = co_await std::move(elsewhere)) co_return std::move(*answer);
  co_return co_await serve_unregister_broker(broker->controller(), std::move(req));
}
}  // namespace

// ALTER on the cluster (Kafka's ControllerApis), on either listener.
asio::awaitable<net::Response> handle_unregister_broker(RequestContext& ctx, protocol::Reader& r) {
  protocol::UnregisterBrokerRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  protocol::UnregisterBrokerResponse resp;
  if (!authorized_cluster(ctx, AclOperation::ALTER)) {
    resp.error_code = to_int(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    co_return make_response(ctx, resp);
  }
  const bool controller_listener = ctx.conn && ctx.broker->on_controller_listener(*ctx.conn);
  auto op = ctx.broker->on_controller(unregister_on_controller(ctx.broker, controller_listener, std::move(req)));
  resp = co_await std::move(op);
  co_return make_response(ctx, resp);
}

std::span<const HandlerEntry> controller_listener_handlers() { return kControllerHandlers; }

}  // namespace samsa::server
