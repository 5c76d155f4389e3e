// Metadata (key 3) and DescribeCluster (key 60).
#include <spdlog/spdlog.h>

#include "cluster/topic_name.h"
#include "protocol/messages/describe_cluster.h"
#include "protocol/messages/metadata.h"
#include "server/broker.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {

using protocol::MetadataRequest;
using protocol::MetadataResponse;

void describe_topic(const cluster::TopicInfo& t, MetadataResponse::MetadataResponseTopic& out) {
  out.error_code = 0;
  out.name = t.name;
  out.topic_id = t.id;
  out.is_internal = t.internal;
  for (auto& p : t.partitions) {
    MetadataResponse::MetadataResponsePartition mp;
    mp.partition_index = p.partition;
    mp.leader_id = p.leader;
    mp.leader_epoch = p.leader_epoch;
    mp.replica_nodes = p.replicas;
    mp.isr_nodes = p.isr;
    mp.error_code = p.leader < 0 ? to_int(ErrorCode::LEADER_NOT_AVAILABLE) : 0;
    out.partitions.push_back(std::move(mp));
  }
}

}  // namespace

asio::awaitable<net::Response> handle_metadata(RequestContext& ctx, protocol::Reader& r) {
  MetadataRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  bool all = !req.topics.has_value() || (ctx.api_version == 0 && req.topics->empty());
  bool may_create = broker.settings().auto_create_topics && (ctx.api_version < 4 || req.allow_auto_topic_creation);

  // Auto-create what is missing first, so the answer reflects the new topics.
  if (!all) {
    for (auto& t : *req.topics) {
      if (!t.name || t.name->empty() || ctx.shard->image->find_topic(*t.name)) continue;
      if (!may_create || cluster::topic_name_error(*t.name)) continue;
      cluster::TopicSpec spec;
      spec.name = *t.name;
      auto op = broker.create_topic(spec, false);
      auto res = co_await std::move(op);
      if (res.error != ErrorCode::NONE && res.error != ErrorCode::TOPIC_ALREADY_EXISTS)
        spdlog::warn("auto-creating topic {} failed: {}", *t.name, res.message);
    }
  }
  auto image = ctx.shard->image;
  MetadataResponse resp;
  for (auto& [id, b] : image->brokers) {
    MetadataResponse::MetadataResponseBroker mb;
    mb.node_id = b.id;
    mb.host = b.host;
    mb.port = b.port;
    mb.rack = b.rack;
    resp.brokers.push_back(std::move(mb));
  }
  resp.cluster_id = image->cluster_id;
  resp.controller_id = broker.node_id();
  if (all) {
    for (auto& [name, t] : image->topics) describe_topic(*t, resp.topics.emplace_back());
  } else {
    for (auto& t : *req.topics) {
      auto& out = resp.topics.emplace_back();
      const cluster::TopicInfo* info = nullptr;
      if (t.name && !t.name->empty()) {
        info = image->find_topic(*t.name);
        out.name = *t.name;
      } else {
        info = image->find_topic(t.topic_id);
        out.name = std::nullopt;
        out.topic_id = t.topic_id;
      }
      if (info) {
        describe_topic(*info, out);
      } else if (t.name && cluster::topic_name_error(*t.name)) {
        out.error_code = to_int(ErrorCode::INVALID_TOPIC_EXCEPTION);
      } else {
        out.error_code = to_int(t.name ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::UNKNOWN_TOPIC_ID);
      }
    }
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_describe_cluster(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeClusterRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto image = ctx.shard->image;
  protocol::DescribeClusterResponse resp;
  resp.cluster_id = image->cluster_id;
  resp.controller_id = ctx.broker->node_id();
  resp.endpoint_type = req.endpoint_type;
  for (auto& [id, b] : image->brokers) {
    protocol::DescribeClusterResponse::DescribeClusterBroker db;
    db.broker_id = b.id;
    db.host = b.host;
    db.port = b.port;
    db.rack = b.rack;
    resp.brokers.push_back(std::move(db));
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
