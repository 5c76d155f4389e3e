// CreateTopics (19), DeleteTopics (20), CreatePartitions (37): all go to the
// controller on shard 0, which appends the change to the metadata log. Each
// topic's partitions are charged to the client's controller_mutation_rate
// first (MutationQuota, quota_throttle.h).
#include <algorithm>

#include "cluster/topic_name.h"
#include "protocol/messages/create_partitions.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_topics.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/handlers.h"
#include "server/quota_throttle.h"

namespace samsa::server {

namespace {
std::optional<std::string> message_of(const cluster::OpResult& r) {
  if (r.error == ErrorCode::NONE || r.message.empty()) return std::nullopt;
  return r.message;
}

// The first versions refused (rather than delayed) over controller_mutation_rate.
constexpr int16_t kCreateTopicsStrictQuotaVersion = 6;
constexpr int16_t kDeleteTopicsStrictQuotaVersion = 5;
constexpr int16_t kCreatePartitionsStrictQuotaVersion = 3;

template <typename Resp>
net::Response answer_with_quota(RequestContext& ctx, Resp& resp, const MutationQuota& quota) {
  resp.throttle_time_ms = quota.throttle_ms();
  net::Response out = make_response(ctx, resp);
  quota.apply(out);
  return out;
}
}  // namespace

asio::awaitable<net::Response> handle_create_topics(RequestContext& ctx, protocol::Reader& r) {
  protocol::CreateTopicsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  protocol::CreateTopicsResponse resp;
  // Kafka's cap on the partitions of one request, from the counts asked for:
  // nothing proportional to them is built before it.
  int64_t asked = 0;
  for (auto& t : req.topics) {
    if (!t.assignments.empty()) asked += static_cast<int64_t>(t.assignments.size());
    else if (t.num_partitions == -1) asked += broker.settings().num_partitions;
    else if (t.num_partitions > 0) asked += t.num_partitions;
  }
  const bool excessive = asked > cluster::kMaxPartitionsPerRequest;
  std::set<std::string> seen, dup;
  for (auto& t : req.topics)
    if (!seen.insert(t.name).second) dup.insert(t.name);
  std::vector<cluster::TopicSpec> specs;
  std::vector<size_t> spec_out;  // index in resp.topics of each spec
  const bool cluster_create = authorized_cluster(ctx, AclOperation::CREATE);
  MutationQuota quota(ctx, kCreateTopicsStrictQuotaVersion);
  for (auto& t : req.topics) {
    auto& out = resp.topics.emplace_back();
    out.name = t.name;
    if (!cluster_create && !authorized_topic(ctx, AclOperation::CREATE, t.name)) {
      out.error_code = to_int(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
      out.error_message = "Authorization failed.";
      continue;
    }
    if (excessive) {
      out.error_code = to_int(ErrorCode::POLICY_VIOLATION);
      out.error_message = cluster::kExcessivePartitionsMessage;
      continue;
    }
    if (dup.count(t.name)) {
      out.error_code = to_int(ErrorCode::INVALID_REQUEST);
      out.error_message = "Create topics request from client contains multiple entries for the topic " + t.name;
      continue;
    }
    cluster::TopicSpec spec;
    spec.name = t.name;
    spec.num_partitions = t.num_partitions;
    spec.replication_factor = t.replication_factor;
    for (auto& a : t.assignments) spec.assignments[a.partition_index] = a.broker_ids;
    bool bad_config = false;
    for (auto& c : t.configs) {
      if (!c.value) {
        out.error_code = to_int(ErrorCode::INVALID_CONFIG);
        out.error_message = "Null value not supported for topic configs: " + c.name;
        bad_config = true;
        break;
      }
      spec.configs[c.name] = *c.value;
    }
    if (bad_config) continue;
    if (!req.validate_only) {
      const int64_t partitions = !spec.assignments.empty()       ? static_cast<int64_t>(spec.assignments.size())
                                 : spec.num_partitions == -1 ? broker.settings().num_partitions
                                                             : spec.num_partitions;
      auto admit = quota.admit(partitions);
      if (!co_await std::move(admit)) {
        out.error_code = to_int(ErrorCode::THROTTLING_QUOTA_EXCEEDED);
        out.error_message = kThrottlingQuotaExceededMessage;
        continue;
      }
    }
    specs.push_back(std::move(spec));
    spec_out.push_back(resp.topics.size() - 1);
  }
  if (!specs.empty()) {
    auto create = broker.create_topics(specs, req.validate_only);
    auto results = co_await std::move(create);
    for (size_t i = 0; i < specs.size(); ++i) {
      auto& spec = specs[i];
      auto& res = results[i];
      auto& out = resp.topics[spec_out[i]];
      out.error_code = to_int(res.error);
      out.error_message = message_of(res);
      out.topic_id = res.topic_id;
      if (res.error != ErrorCode::NONE) continue;
      out.num_partitions = spec.num_partitions == -1 && spec.assignments.empty() ? broker.settings().num_partitions
                           : spec.assignments.empty() ? spec.num_partitions
                                                      : static_cast<int32_t>(spec.assignments.size());
      out.replication_factor = spec.replication_factor == -1 ? broker.settings().default_replication_factor
                                                              : spec.replication_factor;
      if (!spec.assignments.empty()) out.replication_factor = static_cast<int16_t>(spec.assignments.begin()->second.size());
    }
  }
  co_return answer_with_quota(ctx, resp, quota);
}

asio::awaitable<net::Response> handle_delete_topics(RequestContext& ctx, protocol::Reader& r) {
  protocol::DeleteTopicsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  protocol::DeleteTopicsResponse resp;
  MutationQuota quota(ctx, kDeleteTopicsStrictQuotaVersion);
  std::vector<std::pair<std::optional<std::string>, protocol::Uuid>> targets;
  if (ctx.api_version >= 6) {
    for (auto& t : req.topics) targets.emplace_back(t.name, t.topic_id);
  } else {
    for (auto& n : req.topic_names) targets.emplace_back(n, protocol::Uuid{});
  }
  for (auto& [name, id] : targets) {
    auto& out = resp.responses.emplace_back();
    out.name = name;
    out.topic_id = id;
    auto image = ctx.shard->image;
    const cluster::TopicInfo* info = name ? image->find_topic(*name) : image->find_topic(id);
    if ((name && !authorized_topic(ctx, AclOperation::DELETE, *name)) ||
        (!name && info && !authorized_topic(ctx, AclOperation::DELETE, info->name))) {
      out.error_code = to_int(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
      continue;
    }
    if (!info) {
      out.error_code = to_int(name ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::UNKNOWN_TOPIC_ID);
      continue;
    }
    if (!broker.settings().delete_topic_enable) {
      out.error_code = to_int(ErrorCode::TOPIC_DELETION_DISABLED);
      continue;
    }
    if (info->internal) {  // the coordinators' state: Kafka's tools refuse this too
      out.name = info->name;
      out.error_code = to_int(ErrorCode::INVALID_TOPIC_EXCEPTION);
      out.error_message = "Topic " + info->name + " is a kafka internal topic and is not allowed to be marked for deletion.";
      continue;
    }
    std::string topic = info->name;
    out.name = topic;
    out.topic_id = info->id;
    auto admit = quota.admit(static_cast<int64_t>(info->partitions.size()));
    if (!co_await std::move(admit)) {
      out.error_code = to_int(ErrorCode::THROTTLING_QUOTA_EXCEEDED);
      out.error_message = kThrottlingQuotaExceededMessage;
      continue;
    }
    auto op = broker.delete_topic(topic);
    auto res = co_await std::move(op);
    out.error_code = to_int(res.error);
    out.error_message = message_of(res);
  }
  co_return answer_with_quota(ctx, resp, quota);
}

asio::awaitable<net::Response> handle_create_partitions(RequestContext& ctx, protocol::Reader& r) {
  protocol::CreatePartitionsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  protocol::CreatePartitionsResponse resp;
  // Kafka bounds the records one request writes; the partitions asked for are
  // counted against the image before anything is built.
  auto image = ctx.shard->image;
  int64_t adding = 0;
  for (auto& t : req.topics) {
    auto* info = image->find_topic(t.name);
    int64_t current = info ? static_cast<int64_t>(info->partitions.size()) : 0;
    adding += std::max<int64_t>(0, static_cast<int64_t>(t.count) - current);
  }
  const bool excessive = adding > cluster::kMaxRecordsPerOp;
  MutationQuota quota(ctx, kCreatePartitionsStrictQuotaVersion);
  for (auto& t : req.topics) {
    auto& out = resp.results.emplace_back();
    out.name = t.name;
    if (excessive) {
      out.error_code = to_int(ErrorCode::POLICY_VIOLATION);
      out.error_message = cluster::kExcessiveBatchMessage;
      continue;
    }
    if (!authorized_topic(ctx, AclOperation::ALTER, t.name)) {
      out.error_code = to_int(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
      out.error_message = "Authorization failed.";
      continue;
    }
    if (cluster::is_internal_topic(t.name)) {
      // The coordinators place a group or transactional id by the partition
      // count: more partitions would move them away from their state.
      out.error_code = to_int(ErrorCode::INVALID_REQUEST);
      out.error_message = "The number of partitions of the internal topic " + t.name + " cannot be changed.";
      continue;
    }
    if (!req.validate_only) {
      const auto* info = image->find_topic(t.name);
      const int64_t current = info ? static_cast<int64_t>(info->partitions.size()) : 0;
      auto admit = quota.admit(static_cast<int64_t>(t.count) - current);
      if (!co_await std::move(admit)) {
        out.error_code = to_int(ErrorCode::THROTTLING_QUOTA_EXCEEDED);
        out.error_message = kThrottlingQuotaExceededMessage;
        continue;
      }
    }
    std::vector<std::vector<int32_t>> assignments;
    if (t.assignments)
      for (auto& a : *t.assignments) assignments.push_back(a.broker_ids);
    std::string name = t.name;
    int32_t count = t.count;
    bool validate_only = req.validate_only;
    auto op = broker.create_partitions(name, count, assignments, validate_only);
    auto res = co_await std::move(op);
    out.error_code = to_int(res.error);
    out.error_message = message_of(res);
  }
  co_return answer_with_quota(ctx, resp, quota);
}

}  // namespace samsa::server
