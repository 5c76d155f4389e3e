// DescribeAcls (29), CreateAcls (30), DeleteAcls (31). Describe reads the
// shard's image; create and delete go to the active controller as one
// metadata batch per request: this node's on shard 0 when it leads, else
// forwarded and answered once this node's image shows the change
// (Broker::create_acls / delete_acls, broker_forwarding.cc). The active
// controller also serves them on its CONTROLLER listener. Without an authorizer every answer is
// SECURITY_DISABLED, as in Kafka; the caller needs DESCRIBE (describe) or
// ALTER (create, delete) on the cluster.
#include <map>
#include <tuple>

#include "protocol/messages/create_acls.h"
#include "protocol/messages/delete_acls.h"
#include "protocol/messages/describe_acls.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {

constexpr const char* kNoAuthorizer = "No Authorizer is configured.";

// Why CreateAcls / DeleteAcls is refused as a whole: no authorizer, or no ALTER on the cluster.
std::optional<std::pair<ErrorCode, std::optional<std::string>>> alter_refused(const RequestContext& ctx) {
  if (!authorizer_enabled(ctx)) return std::make_pair(ErrorCode::SECURITY_DISABLED, std::optional<std::string>(kNoAuthorizer));
  if (!authorized_cluster(ctx, AclOperation::ALTER))
    return std::make_pair(ErrorCode::CLUSTER_AUTHORIZATION_FAILED, std::optional<std::string>());
  return std::nullopt;
}

// Every result of a refused request carries the refusal.
template <typename Result>
void refuse_all(std::vector<Result>& results, size_t n, const std::pair<ErrorCode, std::optional<std::string>>& why) {
  for (size_t i = 0; i < n; ++i) {
    auto& out = results.emplace_back();
    out.error_code = to_int(why.first);
    out.error_message = why.second;
  }
}

template <typename F>
cluster::AclFilter filter_of(const F& f) {
  cluster::AclFilter out;
  out.resource_type = cluster::resource_type_of(f.resource_type_filter);
  out.resource_name = f.resource_name_filter;
  out.pattern_type = cluster::pattern_type_of(f.pattern_type_filter);
  out.principal = f.principal_filter;
  out.host = f.host_filter;
  out.operation = cluster::operation_of(f.operation);
  out.permission = cluster::permission_of(f.permission_type);
  return out;
}

}  // namespace

asio::awaitable<net::Response> handle_describe_acls(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeAclsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  protocol::DescribeAclsResponse resp;
  auto fail = [&](ErrorCode e, std::optional<std::string> msg) {
    resp.error_code = to_int(e);
    resp.error_message = std::move(msg);
    return make_response(ctx, resp);
  };
  if (!authorizer_enabled(ctx)) co_return fail(ErrorCode::SECURITY_DISABLED, kNoAuthorizer);
  if (!authorized_cluster(ctx, AclOperation::DESCRIBE))
    co_return fail(ErrorCode::CLUSTER_AUTHORIZATION_FAILED, std::nullopt);
  auto filter = filter_of(req);
  if (filter.has_unknown()) co_return fail(ErrorCode::INVALID_REQUEST, "Filter contain UNKNOWN elements");
  // Grouped by resource pattern, in a stable order.
  using Key = std::tuple<int8_t, std::string, int8_t>;
  std::map<Key, std::vector<protocol::DescribeAclsResponse::AclDescription>> by_resource;
  auto image = ctx.shard->image;
  image->acl_index().for_each([&](const protocol::Uuid&, const cluster::AclBinding& b) {
    if (!filter.matches(b)) return;
    auto& acl = by_resource[{static_cast<int8_t>(b.resource_type), b.resource_name,
                             static_cast<int8_t>(b.pattern_type)}].emplace_back();
    acl.principal = b.principal;
    acl.host = b.host;
    acl.operation = static_cast<int8_t>(b.operation);
    acl.permission_type = static_cast<int8_t>(b.permission);
  });
  for (auto& [key, acls] : by_resource) {
    auto& res = resp.resources.emplace_back();
    res.resource_type = std::get<0>(key);
    res.resource_name = std::get<1>(key);
    res.pattern_type = std::get<2>(key);
    res.acls = std::move(acls);
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_create_acls(RequestContext& ctx, protocol::Reader& r) {
  protocol::CreateAclsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  protocol::CreateAclsResponse resp;
  if (auto refused = alter_refused(ctx)) {
    refuse_all(resp.results, req.creations.size(), *refused);
    co_return make_response(ctx, resp);
  }
  std::vector<cluster::AclBinding> bindings;
  for (auto& c : req.creations) {
    cluster::AclBinding b;
    b.resource_type = cluster::resource_type_of(c.resource_type);
    b.resource_name = c.resource_name;
    b.pattern_type = cluster::pattern_type_of(c.resource_pattern_type);
    b.principal = c.principal;
    b.host = c.host;
    b.operation = cluster::operation_of(c.operation);
    b.permission = cluster::permission_of(c.permission_type);
    bindings.push_back(std::move(b));
  }
  auto& broker = *ctx.broker;
  auto op = broker.create_acls(std::move(bindings));
  auto results = co_await std::move(op);
  for (auto& res : results) {
    auto& out = resp.results.emplace_back();
    out.error_code = to_int(res.error);
    if (res.error != ErrorCode::NONE && !res.message.empty()) out.error_message = res.message;
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_delete_acls(RequestContext& ctx, protocol::Reader& r) {
  protocol::DeleteAclsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  protocol::DeleteAclsResponse resp;
  if (auto refused = alter_refused(ctx)) {
    refuse_all(resp.filter_results, req.filters.size(), *refused);
    co_return make_response(ctx, resp);
  }
  std::vector<cluster::AclFilter> filters;
  for (auto& f : req.filters) filters.push_back(filter_of(f));
  auto& broker = *ctx.broker;
  auto op = broker.delete_acls(std::move(filters));
  auto results = co_await std::move(op);
  for (auto& res : results) {
    auto& out = resp.filter_results.emplace_back();
    out.error_code = res.error;
    if (res.error != 0 && !res.message.empty()) out.error_message = res.message;
    for (auto& b : res.removed) cluster::copy_binding(b, out.matching_acls.emplace_back());
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
