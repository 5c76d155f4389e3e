// Metadata (key 3) and DescribeCluster (key 60).
// Metadata v13's top-level error code (KIP-1102) is always 0 here, as Kafka's brokers answer
// it: authorization stays per topic (TOPIC_AUTHORIZATION_FAILED), and REBOOTSTRAP_REQUIRED is
// never sent (a broker has no stale-metadata condition to report).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "cluster/topic_name.h"
#include "protocol/messages/describe_cluster.h"
#include "protocol/messages/metadata.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/handlers.h"
#include "storage/log_manager.h"

namespace samsa::server {

namespace {

using protocol::MetadataRequest;
using protocol::MetadataResponse;

// `offline(partition)`: this node's replica is in an offline log dir. Replicas
// on brokers that are fenced or gone are listed offline (Kafka's
// getOfflineReplicas); a leader that is not registered is named -1 with
// LEADER_NOT_AVAILABLE, and so is this node when its own replica is offline.
void describe_topic(const cluster::MetadataImage& image, const cluster::TopicInfo& t,
                    MetadataResponse::MetadataResponseTopic& out, const std::function<bool(int32_t)>& offline,
                    int32_t node_id) {
  out.error_code = 0;
  out.name = t.name;
  out.topic_id = t.id;
  out.is_internal = t.internal;
  for (auto& p : t.partitions) {
    MetadataResponse::MetadataResponsePartition mp;
    mp.partition_index = p.partition;
    mp.leader_id = visible_leader(image, p);
    mp.leader_epoch = p.leader_epoch;
    mp.replica_nodes = p.replicas;
    mp.isr_nodes = p.isr;
    mp.offline_replicas = offline_replicas(image, p);
    mp.error_code = mp.leader_id < 0 ? to_int(ErrorCode::LEADER_NOT_AVAILABLE) : 0;
    if (p.leader == node_id && offline(p.partition)) {
      mp.leader_id = -1;
      mp.isr_nodes.erase(std::remove(mp.isr_nodes.begin(), mp.isr_nodes.end(), node_id), mp.isr_nodes.end());
      if (std::find(mp.offline_replicas.begin(), mp.offline_replicas.end(), node_id) == mp.offline_replicas.end())
        mp.offline_replicas.push_back(node_id);
      mp.error_code = to_int(ErrorCode::LEADER_NOT_AVAILABLE);
    }
    out.partitions.push_back(std::move(mp));
  }
}

}  // namespace

// Kafka answers each listener with the brokers' endpoints of the same listener
// name; a broker without one is reached at its first endpoint.
void broker_endpoint(const RequestContext& ctx, const cluster::BrokerInfo& b, std::string& host, int32_t& port) {
  host = b.host;
  port = b.port;
  if (b.id == ctx.broker->node_id()) {
    advertised_for(ctx, host, port);
    return;
  }
  if (ctx.conn == nullptr || !ctx.conn->listener) return;
  if (auto* e = b.endpoint(ctx.conn->listener->name)) {
    host = e->host;
    port = e->port;
  }
}

asio::awaitable<net::Response> handle_metadata(RequestContext& ctx, protocol::Reader& r) {
  MetadataRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  bool all = !req.topics.has_value() || (ctx.api_version == 0 && req.topics->empty());
  bool may_create = broker.settings().auto_create_topics && (ctx.api_version < 4 || req.allow_auto_topic_creation);

  // Auto-create what is missing first, so the answer reflects the new topics.
  // Authorization: DESCRIBE to see a topic, CREATE (cluster or topic) to create one.
  std::set<std::string> create_denied;
  if (!all) {
    for (auto& t : *req.topics) {
      if (!t.name || t.name->empty() || ctx.shard->image->find_topic(*t.name)) continue;
      if (!may_create || cluster::topic_name_error(*t.name) || cluster::is_cluster_metadata_topic(*t.name)) continue;
      if (!authorized_topic(ctx, AclOperation::DESCRIBE, *t.name)) continue;
      if (!may_auto_create(ctx, *t.name)) {
        create_denied.insert(*t.name);
        continue;
      }
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
  const int32_t node = broker.node_id();
  auto* manager = &broker.log_manager();
  // Offline: in an offline log dir, or a log that could not be opened.
  auto offline_in = [manager, &broker](const std::string& topic) {
    return [manager, &broker, topic](int32_t partition) {
      storage::TopicPartition tp{topic, partition};
      return manager->offline(tp) || broker.partition_unavailable(tp);
    };
  };
  for (auto* b : live_brokers(*image)) {
    MetadataResponse::MetadataResponseBroker mb;
    mb.node_id = b->id;
    broker_endpoint(ctx, *b, mb.host, mb.port);
    mb.rack = b->rack;
    resp.brokers.push_back(std::move(mb));
  }
  resp.cluster_id = image->cluster_id;
  resp.controller_id = controller_id_for_clients(*image, ctx.broker->node_id());
  if (req.include_cluster_authorized_operations)
    resp.cluster_authorized_operations = authorized_operations(ctx, ResourceType::CLUSTER, cluster::kClusterResourceName);
  if (all) {
    image->topics.for_each([&](const std::string&, const std::shared_ptr<const cluster::TopicInfo>& t) {
      if (!authorized_topic(ctx, AclOperation::DESCRIBE, t->name)) return;  // not even listed
      describe_topic(*image, *t, resp.topics.emplace_back(), offline_in(t->name), node);
    });
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
      std::string_view asked = t.name && !t.name->empty() ? std::string_view(*t.name)
                               : info                     ? std::string_view(info->name)
                                                          : std::string_view();
      if ((!asked.empty() && !authorized_topic(ctx, AclOperation::DESCRIBE, asked)) ||
          (t.name && create_denied.contains(*t.name))) {
        out.error_code = to_int(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
      } else if (info) {
        describe_topic(*image, *info, out, offline_in(info->name), node);
      } else if (t.name && cluster::topic_name_error(*t.name)) {
        out.error_code = to_int(ErrorCode::INVALID_TOPIC_EXCEPTION);
      } else {
        out.error_code = to_int(t.name ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::UNKNOWN_TOPIC_ID);
      }
    }
  }
  if (req.include_topic_authorized_operations)
    for (auto& t : resp.topics)
      if (t.error_code == 0 && t.name) t.topic_authorized_operations = authorized_operations(ctx, ResourceType::TOPIC, *t.name);
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_describe_cluster(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeClusterRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto image = ctx.shard->image;
  protocol::DescribeClusterResponse resp;
  if (!authorized_cluster(ctx, AclOperation::DESCRIBE)) {
    resp.error_code = to_int(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    co_return make_response(ctx, resp);
  }
  if (req.include_cluster_authorized_operations)
    resp.cluster_authorized_operations = authorized_operations(ctx, ResourceType::CLUSTER, cluster::kClusterResourceName);
  resp.cluster_id = image->cluster_id;
  resp.controller_id = controller_id_for_clients(*image, ctx.broker->node_id());
  resp.endpoint_type = req.endpoint_type;
  // Live brokers only, unless the admin client asks for the fenced ones too (KIP-1073).
  for (auto& [id, b] : image->brokers) {
    if (b.fenced && !req.include_fenced_brokers) continue;
    protocol::DescribeClusterResponse::DescribeClusterBroker db;
    db.broker_id = b.id;
    broker_endpoint(ctx, b, db.host, db.port);
    db.rack = b.rack;
    db.is_fenced = b.fenced;
    resp.brokers.push_back(std::move(db));
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
