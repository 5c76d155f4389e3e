// The consumer group endpoints of the console: one group's members with their
// assignments and lag (DescribeGroups + the broker's lag), and the offset reset
// with a preview (ListOffsets, then OffsetCommit as Kafka's
// kafka-consumer-groups --reset-offsets does: generation -1, no member id).
// In a cluster the group requests go to its coordinator and the ListOffsets to
// each partition's leader (call_kafka_routed); the lag and its status come
// from the coordinator's tracker when it is this broker, else the lag is
// computed from the committed offsets and the leaders' high watermarks, and its
// status is UNKNOWN (the window of commits lives on the coordinator).
#include <algorithm>
#include <map>

#include "cluster/metadata_image.h"
#include "coordinator/placement.h"
#include "observe/lag_rules.h"
#include "protocol/messages/describe_groups.h"
#include "protocol/messages/list_offsets.h"
#include "protocol/messages/offset_commit.h"
#include "protocol/messages/offset_fetch.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/console_api.h"
#include "server/consumer_lag.h"
#include "server/leader_offsets.h"

namespace samsa::server::console {

using net::HttpRequest;
using net::HttpResponse;
using observe::JsonWriter;

namespace {

// ConsumerProtocolAssignment (any version): topic -> partitions; empty when
// the bytes are not one (another protocol type). Bounded by the bytes.
std::vector<std::pair<std::string, std::vector<int32_t>>> decode_assignment(const protocol::Bytes& b) {
  std::vector<std::pair<std::string, std::vector<int32_t>>> out;
  if (b.size() < 6) return out;
  protocol::Reader r(b.data(), b.size());
  r.i16();  // version
  int32_t topics = r.i32();
  for (int32_t i = 0; r.ok() && i < topics && static_cast<size_t>(i) < b.size(); ++i) {
    std::string topic = r.string(false);
    int32_t n = r.i32();
    if (!r.ok() || n < 0 || static_cast<size_t>(n) * 4 > r.remaining()) return {};
    std::vector<int32_t> parts;
    for (int32_t j = 0; j < n; ++j) parts.push_back(r.i32());
    out.emplace_back(std::move(topic), std::move(parts));
  }
  if (!r.ok()) return {};
  return out;
}


// The coordinator of `group` in this shard's image, when it is another broker.
std::optional<NodeId> coordinator_elsewhere(Broker& broker, Shard& here, const std::string& group) {
  if (!here.image) return std::nullopt;
  const auto* t = here.image->find_topic("__consumer_offsets");
  if (!t || t->partitions.empty()) return std::nullopt;
  TopicPartition tp{"__consumer_offsets",
                    coordinator::offsets_partition_for(group, static_cast<int32_t>(t->partitions.size()))};
  const auto* b = coordinator_broker(*here.image, tp);
  if (!b || b->id == broker.node_id()) return std::nullopt;
  return NodeId(b->id);
}

// DescribeGroups of one group, at its coordinator.
asio::awaitable<std::optional<protocol::DescribeGroupsResponse>> describe_at_coordinator(Broker& broker, Shard& here,
                                                                                        const ConsoleCaller& caller,
                                                                                        std::string group) {
  protocol::DescribeGroupsRequest dg;
  dg.groups.push_back(group);
  auto op = call_kafka_routed<protocol::DescribeGroupsResponse>(
      broker, here, caller, 5, dg, [&](const protocol::DescribeGroupsResponse& r) -> std::optional<NodeId> {
        if (r.groups.empty() || r.groups.front().error_code != kNotCoordinator) return std::nullopt;
        return coordinator_elsewhere(broker, here, group);
      });
  co_return co_await std::move(op);
}

// The group's committed offsets (OffsetFetch v7 of every topic, at its coordinator).
asio::awaitable<std::map<TopicPartition, int64_t>> committed_at_coordinator(Broker& broker, Shard& here,
                                                                           const ConsoleCaller& caller,
                                                                           std::string group) {
  protocol::OffsetFetchRequest of;
  of.group_id = group;
  of.topics = std::nullopt;  // every topic
  auto op = call_kafka_routed<protocol::OffsetFetchResponse>(
      broker, here, caller, 7, of, [&](const protocol::OffsetFetchResponse& r) -> std::optional<NodeId> {
        if (r.error_code != kNotCoordinator) return std::nullopt;
        return coordinator_elsewhere(broker, here, group);
      });
  auto resp = co_await std::move(op);
  std::map<TopicPartition, int64_t> out;
  if (!resp || resp->error_code != 0) co_return out;
  for (auto& t : resp->topics)
    for (auto& p : t.partitions)
      if (p.error_code == 0 && p.committed_offset >= 0) out[TopicPartition{t.name, p.partition_index}] = p.committed_offset;
  co_return out;
}

asio::awaitable<std::optional<GroupLag>> lag_of(Broker& broker, std::string group) {
  auto op = compute_consumer_lag(broker);
  auto groups = co_await std::move(op);
  for (auto& g : groups)
    if (g.group == group) co_return std::move(g);
  co_return std::nullopt;
}

struct RemoteLag {
  TopicPartition tp;
  int64_t committed = -1;
  int64_t high_watermark = -1;
  int64_t lag = 0;
};

asio::awaitable<std::optional<std::map<int32_t, std::pair<int16_t, int64_t>>>> offsets_at(
    Broker& broker, Shard& here, const ConsoleCaller& caller, std::string topic, std::vector<int32_t> partitions,
    int64_t timestamp);

// A group coordinated elsewhere: its committed offsets there against each
// partition's high watermark at its leader (the latest offset).
asio::awaitable<std::vector<RemoteLag>> remote_lag(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                   std::string group) {
  auto committed_op = committed_at_coordinator(broker, here, caller, group);
  auto committed = co_await std::move(committed_op);
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (auto& [tp, _] : committed) by_topic[tp.topic].push_back(tp.partition);
  std::vector<RemoteLag> out;
  for (auto& [topic, parts] : by_topic) {
    auto ends_op = offsets_at(broker, here, caller, topic, parts, -1);
    auto ends = co_await std::move(ends_op);
    for (int32_t p : parts) {
      RemoteLag r;
      r.tp = TopicPartition{topic, p};
      r.committed = committed[r.tp];
      if (ends && ends->count(p) && (*ends)[p].first == 0) r.high_watermark = (*ends)[p].second;
      r.lag = r.high_watermark >= 0 ? std::max<int64_t>(0, r.high_watermark - r.committed) : 0;
      out.push_back(r);
    }
  }
  co_return out;
}

// ListOffsets v7 of every partition of `topic` at `timestamp` (-2 earliest, -1 latest).
asio::awaitable<std::optional<std::map<int32_t, std::pair<int16_t, int64_t>>>> offsets_at(
    Broker& broker, Shard& here, const ConsoleCaller& caller, std::string topic, std::vector<int32_t> partitions,
    int64_t timestamp) {
  auto request = [&](const std::vector<int32_t>& parts) {
    protocol::ListOffsetsRequest req;
    protocol::ListOffsetsRequest::ListOffsetsTopic t;
    t.name = topic;
    for (int32_t p : parts) t.partitions.push_back({p, -1, timestamp, 1, {}});
    req.topics.push_back(std::move(t));
    return req;
  };
  const protocol::ListOffsetsRequest all = request(partitions);  // outlives the call (taken by reference)
  auto op = call_kafka<protocol::ListOffsetsResponse>(broker, here, caller, 7, all);
  auto resp = co_await std::move(op);
  if (!resp) co_return std::nullopt;
  std::map<int32_t, std::pair<int16_t, int64_t>> out;
  // The partitions led elsewhere (the ACLs passed here), asked of their leaders.
  std::vector<TopicPartition> elsewhere;
  for (auto& rt : resp->topics)
    for (auto& rp : rt.partitions) {
      out[rp.partition_index] = {rp.error_code, rp.offset};
      if (rp.error_code == kNotLeader) elsewhere.push_back(TopicPartition{topic, rp.partition_index});
    }
  auto remote_op = offsets_at_leaders(broker, here, std::move(elsewhere), timestamp, std::chrono::milliseconds(5000));
  auto remote = co_await std::move(remote_op);
  for (auto& [tp, answer] : remote) out[tp.partition] = answer;  // the others keep NOT_LEADER_OR_FOLLOWER
  co_return out;
}

}  // namespace

asio::awaitable<HttpResponse> describe_group(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                             const HttpRequest& req) {
  auto group = field(req, "group");
  if (!group) co_return json_error(400, "group is required");
  auto op = describe_at_coordinator(broker, here, caller, *group);
  auto resp = co_await std::move(op);
  if (!resp || resp->groups.empty()) co_return no_answer();
  auto& g = resp->groups.front();
  JsonWriter w;
  w.begin_object().key("group").value(*group);
  write_error(w, g.error_code, std::nullopt);
  w.key("state").value(g.group_state).key("protocol_type").value(g.protocol_type).key("protocol").value(g.protocol_data);
  w.key("members").begin_array();
  for (auto& m : g.members) {
    w.begin_object().key("member_id").value(m.member_id).key("client_id").value(m.client_id);
    w.key("client_host").value(m.client_host).key("assignment").begin_array();
    for (auto& [topic, parts] : decode_assignment(m.member_assignment)) {
      w.begin_object().key("topic").value(topic).key("partitions").begin_array();
      for (int32_t p : parts) w.value(p);
      w.end_array().end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();
  // The lag only to whom may describe the group (the same rule as DescribeGroups).
  if (g.error_code == 0 && coordinator_elsewhere(broker, here, *group)) {
    auto lag_op = remote_lag(broker, here, caller, *group);
    auto parts = co_await std::move(lag_op);
    int64_t total = 0;
    for (auto& p : parts) total += p.lag;
    w.key("lag_status").value("UNKNOWN").key("total_lag").value(total).key("partitions").begin_array();
    for (auto& p : parts) {
      w.begin_object().key("topic").value(p.tp.topic).key("partition").value(p.tp.partition);
      w.key("committed_offset").value(p.committed).key("high_watermark").value(p.high_watermark);
      w.key("lag").value(p.lag).key("status").value("UNKNOWN").end_object();
    }
    w.end_array();
  } else if (g.error_code == 0) {
    auto lag_op = lag_of(broker, *group);
    auto lag = co_await std::move(lag_op);
    w.key("lag_status").value(lag ? observe::lag_status_name(lag->status) : "NOTFOUND");
    w.key("total_lag").value(lag ? lag->total_lag : int64_t{0});
    w.key("partitions").begin_array();
    if (lag)
      for (auto& p : lag->partitions) {
        w.begin_object().key("topic").value(p.tp.topic).key("partition").value(p.tp.partition);
        w.key("committed_offset").value(p.committed).key("high_watermark").value(p.high_watermark);
        w.key("lag").value(p.lag).key("status").value(observe::lag_status_name(p.status)).end_object();
      }
    w.end_array();
  }
  w.end_object();
  co_return json(200, w.take());
}

// group=G&topic=T&to=earliest|latest|offset[&offset=N][&apply=true]: the new
// offset of each partition of T (an explicit offset is clamped into the log,
// as Kafka's tool does), committed only with apply=true and only while the
// group has no active members ("can only be reset if the group is inactive").
asio::awaitable<HttpResponse> reset_offsets(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                            const HttpRequest& req) {
  auto group = field(req, "group");
  auto topic = field(req, "topic");
  auto to = field(req, "to").value_or("");
  auto explicit_offset = int_field(req, "offset");
  const bool apply = field(req, "apply").value_or("") == "true";
  if (!group || !topic) co_return json_error(400, "group and topic are required");
  if (to != "earliest" && to != "latest" && !(to == "offset" && explicit_offset))
    co_return json_error(400, "to must be earliest, latest or offset (with offset=N)");
  const auto* t = here.image ? here.image->find_topic(*topic) : nullptr;
  if (!t) co_return json_error(404, "no such topic: " + *topic);
  std::vector<int32_t> partitions;
  for (auto& p : t->partitions) partitions.push_back(p.partition);

  auto first_op = offsets_at(broker, here, caller, *topic, partitions, -2);
  auto first = co_await std::move(first_op);
  auto last_op = offsets_at(broker, here, caller, *topic, partitions, -1);
  auto last = co_await std::move(last_op);
  if (!first || !last) co_return no_answer();
  std::map<int32_t, int64_t> current;
  std::string state = "Empty";
  if (coordinator_elsewhere(broker, here, *group)) {  // the group's state and offsets at its coordinator
    auto describe_op = describe_at_coordinator(broker, here, caller, *group);
    auto described = co_await std::move(describe_op);
    if (!described || described->groups.empty() || described->groups.front().error_code != 0) co_return no_answer();
    state = described->groups.front().group_state;
    auto committed_op = committed_at_coordinator(broker, here, caller, *group);
    auto committed = co_await std::move(committed_op);
    for (auto& [tp, offset] : committed)
      if (tp.topic == *topic) current[tp.partition] = offset;
  } else {
    auto lag_op = lag_of(broker, *group);
    auto lag = co_await std::move(lag_op);
    if (lag) {
      state = lag->state;
      for (auto& p : lag->partitions)
        if (p.tp.topic == *topic) current[p.tp.partition] = p.committed;
    }
  }
  const bool inactive = state == "Empty" || state == "Dead";

  JsonWriter w;
  w.begin_object().key("group").value(*group).key("topic").value(*topic).key("to").value(to);
  w.key("state").value(state).key("inactive").value(inactive);
  protocol::OffsetCommitRequest::OffsetCommitRequestTopic commit;
  commit.name = *topic;
  std::map<int32_t, int16_t> list_errors;
  w.key("partitions").begin_array();
  for (int32_t p : partitions) {
    auto [e1, start] = (*first)[p];
    auto [e2, end] = (*last)[p];
    int64_t target = to == "earliest" ? start : to == "latest" ? end : std::clamp(*explicit_offset, start, end);
    int16_t err = e1 != 0 ? e1 : e2;
    w.begin_object().key("partition").value(p);
    w.key("current_offset").value(current.count(p) ? current[p] : int64_t{-1});
    w.key("log_start_offset").value(start).key("log_end_offset").value(end).key("new_offset").value(target);
    if (err != 0) write_error(w, err, std::nullopt);
    w.end_object();
    if (err == 0) commit.partitions.push_back({p, target, -1, -1, std::string(), {}});
    else list_errors[p] = err;
  }
  w.end_array();
  if (!apply) {
    w.key("applied").value(false).end_object();
    co_return json(200, w.take());
  }
  if (!inactive) {
    w.key("applied").value(false);
    w.key("error").value("GROUP_NOT_EMPTY");
    w.key("message").value("Assignments can only be reset if the group '" + *group +
                           "' is inactive, but the current state is " + state + ".");
    w.end_object();
    co_return json(200, w.take());
  }
  protocol::OffsetCommitRequest oc;
  oc.group_id = *group;
  oc.generation_id_or_member_epoch = -1;
  oc.topics.push_back(std::move(commit));
  auto op = call_kafka_routed<protocol::OffsetCommitResponse>(
      broker, here, caller, 8, oc, [&](const protocol::OffsetCommitResponse& r) -> std::optional<NodeId> {
        if (r.topics.empty() || r.topics.front().partitions.empty()) return std::nullopt;
        if (r.topics.front().partitions.front().error_code != kNotCoordinator) return std::nullopt;
        return coordinator_elsewhere(broker, here, *group);
      });
  auto resp = co_await std::move(op);
  if (!resp) co_return no_answer();
  w.key("applied").value(true).key("results").begin_array();
  for (auto& rt : resp->topics)
    for (auto& rp : rt.partitions) {
      w.begin_object().key("partition").value(rp.partition_index);
      write_error(w, rp.error_code, std::nullopt);
      w.end_object();
    }
  for (auto& [p, err] : list_errors) {
    w.begin_object().key("partition").value(p);
    write_error(w, err, std::nullopt);
    w.end_object();
  }
  w.end_array().end_object();
  co_return json(200, w.take());
}

}  // namespace samsa::server::console
