#include "server/reassign_handlers.h"

#include "cluster/controller.h"
#include "protocol/messages/alter_partition_reassignments.h"
#include "protocol/messages/list_partition_reassignments.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/controller_forwarding.h"
#include "server/relay_to_controller.h"

namespace samsa::server {

namespace {

using AlterRequest = protocol::AlterPartitionReassignmentsRequest;
using AlterResponse = protocol::AlterPartitionReassignmentsResponse;
using ListRequest = protocol::ListPartitionReassignmentsRequest;
using ListResponse = protocol::ListPartitionReassignmentsResponse;

// The version a broker forwards in: Alter v1 carries KIP-860's flag; List has v0 only.
constexpr int16_t kForwardVersion = 0;
constexpr int16_t kAlterForwardVersion = 1;

asio::awaitable<AlterResponse> alter_on_controller(Broker* broker, bool controller_listener, AlterRequest req) {
  auto elsewhere = relay_unless_controller<AlterRequest, AlterResponse>(broker, controller_listener, req, kAlterForwardVersion);
  if (auto answer = co_await std::move(elsewhere)) co_return std::move(*answer);
  std::vector<cluster::ReassignmentItem> items;
  for (auto& t : req.topics)
    for (auto& p : t.partitions)
      items.push_back({t.name, p.partition_index, p.replicas, req.allow_replication_factor_change});
  auto op = broker->controller().alter_reassignments(std::move(items));
  auto results = co_await std::move(op);
  AlterResponse resp;
  resp.allow_replication_factor_change = req.allow_replication_factor_change;
  size_t i = 0;
  bool not_controller = !results.empty();
  for (auto& t : req.topics) {
    auto& out = resp.responses.emplace_back();
    out.name = t.name;
    for (auto& p : t.partitions) {
      auto& r = results[i++];
      auto& po = out.partitions.emplace_back();
      po.partition_index = p.partition_index;
      po.error_code = to_int(r.error);
      if (r.error != ErrorCode::NONE) po.error_message = r.message;
      not_controller = not_controller && r.error == ErrorCode::NOT_CONTROLLER;
    }
  }
  // Leadership lost before the write: the whole request goes elsewhere.
  if (not_controller) set_top_level_error(resp, ErrorCode::NOT_CONTROLLER, cluster::kNotControllerMessage);
  co_return resp;
}

asio::awaitable<ListResponse> list_on_controller(Broker* broker, bool controller_listener, ListRequest req) {
  auto elsewhere = relay_unless_controller<ListRequest, ListResponse>(broker, controller_listener, req, kForwardVersion);
  if (auto answer = co_await std::move(elsewhere)) co_return std::move(*answer);
  std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> filter;
  if (req.topics) {
    filter.emplace();
    for (auto& t : *req.topics) filter->emplace_back(t.name, t.partition_indexes);
  }
  auto op = broker->controller().list_reassignments(std::move(filter));
  auto listed = co_await std::move(op);
  ListResponse resp;
  if (listed.error != ErrorCode::NONE) {
    set_top_level_error(resp, listed.error, listed.message);
    co_return resp;
  }
  for (auto& p : listed.partitions) {
    if (resp.topics.empty() || resp.topics.back().name != p.topic) resp.topics.emplace_back().name = p.topic;
    auto& out = resp.topics.back().partitions.emplace_back();
    out.partition_index = p.partition;
    out.replicas = p.replicas;
    out.adding_replicas = p.adding;
    out.removing_replicas = p.removing;
  }
  co_return resp;
}

// Partitions named by one request: each becomes at most one record, bounded
// as every controller operation.
size_t named_partitions(const AlterRequest& req) {
  size_t n = 0;
  for (auto& t : req.topics) n += t.partitions.size();
  return n;
}

}  // namespace

asio::awaitable<net::Response> handle_alter_partition_reassignments(RequestContext& ctx, protocol::Reader& r) {
  AlterRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  AlterResponse resp;
  if (!authorized_cluster(ctx, AclOperation::ALTER)) {
    set_top_level_error(resp, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    co_return make_response(ctx, resp);
  }
  if (named_partitions(req) > static_cast<size_t>(cluster::kMaxRecordsPerOp)) {
    set_top_level_error(resp, ErrorCode::POLICY_VIOLATION, cluster::kExcessiveBatchMessage);
    co_return make_response(ctx, resp);
  }
  const bool controller_listener = ctx.conn && ctx.broker->on_controller_listener(*ctx.conn);
  auto op = ctx.broker->on_controller(alter_on_controller(ctx.broker, controller_listener, std::move(req)));
  resp = co_await std::move(op);
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_list_partition_reassignments(RequestContext& ctx, protocol::Reader& r) {
  ListRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  ListResponse resp;
  if (!authorized_cluster(ctx, AclOperation::DESCRIBE)) {
    set_top_level_error(resp, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    co_return make_response(ctx, resp);
  }
  const bool controller_listener = ctx.conn && ctx.broker->on_controller_listener(*ctx.conn);
  auto op = ctx.broker->on_controller(list_on_controller(ctx.broker, controller_listener, std::move(req)));
  resp = co_await std::move(op);
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
