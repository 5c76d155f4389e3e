// DescribeTopicPartitions (key 75, KIP-966): the partitions of some topics, or of every topic
// when the request lists none, answered from the shard's metadata image a page at a time, as
// Kafka's DescribeTopicPartitionsRequestHandler does:
// - topics are taken in name order, from the cursor's topic on (and that topic from the
//   cursor's partition on); a listed cursor topic is required, a negative cursor partition is
//   INVALID_REQUEST for every listed topic;
// - a page holds at most max(min(max.request.partition.size.limit, response_partition_limit), 1)
//   partitions; next_cursor names the first partition left out (or the first topic, at index 0,
//   when the page filled up exactly at a topic's end);
// - a listed topic the principal may not DESCRIBE is answered TOPIC_AUTHORIZATION_FAILED (zero
//   id, no partitions) after the others, in the page that reached its name; an unlisted one is
//   left out of an all-topics answer; a listed topic that does not exist is
//   UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an illegal name);
// - Samsa has no eligible leader replicas (KIP-966's ELR needs the controller's
//   eligible.leader.replicas.version feature): both ELR lists are empty, as Kafka answers with
//   the feature off; a partition has error 0 even without a leader (leader -1), as Kafka.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "cluster/topic_name.h"
#include "protocol/messages/describe_topic_partitions.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/broker_metrics.h"
#include "server/cluster_routing.h"
#include "server/handlers.h"
#include "storage/log_manager.h"

namespace samsa::server {

namespace {

using protocol::DescribeTopicPartitionsRequest;
using protocol::DescribeTopicPartitionsResponse;
using ResponseTopic = DescribeTopicPartitionsResponse::DescribeTopicPartitionsResponseTopic;

constexpr int32_t kDefaultPartitionLimit = 2000;  // max.request.partition.size.limit's default

// The answer to a request Kafka refuses as a whole: every listed topic with `error`.
DescribeTopicPartitionsResponse refuse(const DescribeTopicPartitionsRequest& req, ErrorCode error) {
  DescribeTopicPartitionsResponse resp;
  for (auto& t : req.topics) {
    auto& out = resp.topics.emplace_back();
    out.error_code = to_int(error);
    out.name = t.name;
  }
  return resp;
}

// Partitions [start, start + max) of `t`; returns the index of the first one left out, or -1.
int32_t describe_partitions(const RequestContext& ctx, const cluster::MetadataImage& image,
                            const cluster::TopicInfo& t, int32_t start, int32_t max, ResponseTopic& out) {
  const int32_t count = static_cast<int32_t>(t.partitions.size());
  const int32_t upper = static_cast<int32_t>(std::min<int64_t>(count, static_cast<int64_t>(start) + max));
  auto& broker = *ctx.broker;
  for (int32_t i = start; i < upper; ++i) {
    const auto& p = t.partitions[i];
    auto& op = out.partitions.emplace_back();
    op.error_code = 0;
    op.partition_index = p.partition;
    op.leader_id = visible_leader(image, p);
    op.leader_epoch = p.leader_epoch;
    op.replica_nodes = p.replicas;
    op.isr_nodes = p.isr;
    op.eligible_leader_replicas = std::vector<int32_t>{};
    op.last_known_elr = std::vector<int32_t>{};
    op.offline_replicas = offline_replicas(image, p);
    // This node's own replica in an offline log dir (or a log that failed to open) is offline too.
    const int32_t node = broker.node_id();
    storage::TopicPartition tp{t.name, p.partition};
    if (p.has_replica(node) &&
        std::find(op.offline_replicas.begin(), op.offline_replicas.end(), node) == op.offline_replicas.end() &&
        (broker.log_manager().offline(tp) || broker.partition_unavailable(tp)))
      op.offline_replicas.push_back(node);
  }
  return upper < count ? upper : -1;
}

}  // namespace

asio::awaitable<net::Response> handle_describe_topic_partitions(RequestContext& ctx, protocol::Reader& r) {
  DescribeTopicPartitionsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto image = ctx.shard->image;
  const bool all = req.topics.empty();
  const std::string cursor_topic = req.cursor ? req.cursor->topic_name : std::string();

  // The topics to describe, in name order (a set: listed twice is described once).
  std::set<std::string> names;
  if (all) {
    image->topics.for_each([&](const std::string& name, const std::shared_ptr<const cluster::TopicInfo>&) {
      if (name >= cursor_topic) names.insert(name);
    });
  } else {
    for (auto& t : req.topics)
      if (t.name >= cursor_topic) names.insert(t.name);
    if (req.cursor && !names.contains(req.cursor->topic_name))  // the cursor's topic must be listed
      co_return make_response(ctx, refuse(req, ErrorCode::INVALID_REQUEST));
  }
  if (req.cursor && req.cursor->partition_index < 0)
    co_return make_response(ctx, refuse(req, ErrorCode::INVALID_REQUEST));

  int32_t limit = kDefaultPartitionLimit;
  if (const auto& cfg = ctx.broker->settings().config)
    limit = cfg->get_int("max.request.partition.size.limit").value_or(limit);
  int32_t remaining = static_cast<int32_t>(std::max<int64_t>(std::min<int64_t>(limit, req.response_partition_limit), 1));

  DescribeTopicPartitionsResponse resp;
  std::vector<ResponseTopic> denied;  // listed topics without DESCRIBE: answered after the others
  for (const auto& name : names) {
    if (!authorized_topic(ctx, AclOperation::DESCRIBE, name)) {
      if (!all) {
        auto& d = denied.emplace_back();
        d.error_code = to_int(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
        d.name = name;
      }
      continue;
    }
    if (remaining == 0) {  // the page is full: the next one starts at this topic
      resp.next_cursor.emplace();
      resp.next_cursor->topic_name = name;
      resp.next_cursor->partition_index = 0;
      break;
    }
    const auto* t = image->find_topic(name);
    if (!t) {
      if (all) continue;  // gone since the names were taken
      auto& out = resp.topics.emplace_back();
      out.error_code = to_int(cluster::topic_name_error(name) ? ErrorCode::INVALID_TOPIC_EXCEPTION
                                                              : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      out.name = name;
      out.is_internal = cluster::is_internal_topic(name);
      continue;
    }
    auto& out = resp.topics.emplace_back();
    out.error_code = 0;
    out.name = t->name;
    out.topic_id = t->id;
    out.is_internal = t->internal;
    const int32_t start = req.cursor && name == cursor_topic ? req.cursor->partition_index : 0;
    const int32_t next = describe_partitions(ctx, *image, *t, start, remaining, out);
    if (next >= 0) {
      resp.next_cursor.emplace();
      resp.next_cursor->topic_name = name;
      resp.next_cursor->partition_index = next;
      break;
    }
    remaining -= static_cast<int32_t>(out.partitions.size());
  }
  for (auto& t : resp.topics)
    if (t.name) t.topic_authorized_operations = authorized_operations(ctx, ResourceType::TOPIC, *t.name);
  for (auto& d : denied) resp.topics.push_back(std::move(d));
  for (auto& t : resp.topics) record_response_error(ctx.api_key, static_cast<ErrorCode>(t.error_code));
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
