#include "server/election_handlers.h"

#include <map>
#include <set>

#include "cluster/controller.h"
#include "protocol/messages/elect_leaders.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/relay_to_controller.h"

namespace samsa::server {

namespace {

using Request = protocol::ElectLeadersRequest;
using Response = protocol::ElectLeadersResponse;
using PartitionList = std::vector<std::pair<std::string, std::vector<int32_t>>>;

// The version a broker relays in: the newest, which carries the election type.
constexpr int16_t kRelayVersion = 2;

// Every partition the request names, each once, topics in first-seen order.
PartitionList named_partitions(const Request& req) {
  PartitionList out;
  std::map<std::string, size_t> topic_at;
  std::set<std::pair<std::string, int32_t>> seen;
  for (auto& t : *req.topic_partitions) {
    for (auto p : t.partitions) {
      if (!seen.emplace(t.topic, p).second) continue;
      auto [it, fresh] = topic_at.emplace(t.topic, out.size());
      if (fresh) out.emplace_back(t.topic, std::vector<int32_t>{});
      out[it->second].second.push_back(p);
    }
  }
  return out;
}

// One error for every partition the request names (or none for a null list),
// and at the top level.
Response refuse(const Request& req, ErrorCode e, const std::string& message) {
  Response resp;
  resp.error_code = to_int(e);
  if (!req.topic_partitions) return resp;
  for (auto& [topic, ids] : named_partitions(req)) {
    auto& t = resp.replica_election_results.emplace_back();
    t.topic = topic;
    for (auto id : ids) t.partition_result.push_back({id, to_int(e), message, {}});
  }
  return resp;
}

asio::awaitable<Response> elect_on_controller(Broker* broker, bool controller_listener, Request req) {
  auto elsewhere = relay_unless_controller<Request, Response>(broker, controller_listener, req, kRelayVersion);
  if (auto answer = co_await std::move(elsewhere)) co_return std::move(*answer);
  std::optional<PartitionList> wanted;
  if (req.topic_partitions) wanted = named_partitions(req);
  auto type = req.election_type == 1 ? cluster::ElectionType::unclean : cluster::ElectionType::preferred;
  auto op = broker->controller().elect_leaders(type, std::move(wanted));
  auto results = co_await std::move(op);
  Response resp;
  bool not_controller = !results.empty();
  std::map<std::string, size_t> topic_at;
  for (auto& r : results) {
    auto [it, fresh] = topic_at.emplace(r.topic, resp.replica_election_results.size());
    if (fresh) resp.replica_election_results.emplace_back().topic = r.topic;
    auto& out = resp.replica_election_results[it->second].partition_result.emplace_back();
    out.partition_id = r.partition;
    out.error_code = to_int(r.error);
    if (r.error != ErrorCode::NONE) out.error_message = r.message;
    not_controller = not_controller && r.error == ErrorCode::NOT_CONTROLLER;
  }
  // Leadership lost before the write: the whole request goes elsewhere.
  if (not_controller) resp.error_code = to_int(ErrorCode::NOT_CONTROLLER);
  co_return resp;
}

}  // namespace

asio::awaitable<net::Response> handle_elect_leaders(RequestContext& ctx, protocol::Reader& r) {
  Request req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  if (!authorized_cluster(ctx, AclOperation::ALTER))
    co_return make_response(ctx, refuse(req, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed."));
  if (req.election_type != 0 && req.election_type != 1)
    co_return make_response(ctx, refuse(req, ErrorCode::INVALID_REQUEST,
                                        "Unknown election type " + std::to_string(req.election_type)));
  const bool controller_listener = ctx.conn && ctx.broker->on_controller_listener(*ctx.conn);
  auto op = ctx.broker->on_controller(elect_on_controller(ctx.broker, controller_listener, std::move(req)));
  Response resp = co_await std::move(op);
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
