// The message browser's endpoints: read a partition from an offset or a
// timestamp (ListOffsets + Fetch), produce one test record (Produce, acks=all),
// both through the Kafka handlers so the ACLs and errors are Kafka's; a
// partition led by another broker is read and written there
// (call_kafka_routed).
#include <algorithm>

#include "net/scram.h"
#include "protocol/messages/fetch.h"
#include "protocol/messages/list_offsets.h"
#include "protocol/messages/produce.h"
#include "protocol/record_batch.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/console_api.h"

namespace samsa::server::console {

using net::HttpRequest;
using net::HttpResponse;
using observe::JsonWriter;

namespace {

constexpr int64_t kEarliest = -2;
constexpr int64_t kLatest = -1;

// Where a read or write of topic-partition goes when another broker leads it
// and the local answer (`error`) let the caller through: a follower reads here
// only up to its own high watermark, so the leader answers even when this
// broker did.
std::optional<NodeId> route_to_leader(Broker& broker, Shard& here, const std::string& topic, int32_t partition,
                                      int16_t error) {
  if (error == static_cast<int16_t>(ErrorCode::TOPIC_AUTHORIZATION_FAILED) || !here.image) return std::nullopt;
  auto leader = leader_elsewhere(*here.image, TopicPartition{topic, partition}, broker.node_id());
  if (!leader) return std::nullopt;
  return NodeId(*leader);
}

struct OffsetAnswer {
  int16_t error = 0;
  int64_t offset = -1;
};

// ListOffsets v7 for one partition: a timestamp, or kEarliest / kLatest.
asio::awaitable<std::optional<OffsetAnswer>> list_offset(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                        std::string topic, int32_t partition, int64_t timestamp) {
  protocol::ListOffsetsRequest req;
  req.topics.push_back({topic, {{partition, -1, timestamp, 1, {}}}, {}});
  auto op = call_kafka_routed<protocol::ListOffsetsResponse>(
      broker, here, caller, 7, req, [&](const protocol::ListOffsetsResponse& r) -> std::optional<NodeId> {
        if (r.topics.empty() || r.topics.front().partitions.empty()) return std::nullopt;
        return route_to_leader(broker, here, topic, partition, r.topics.front().partitions.front().error_code);
      });
  auto resp = co_await std::move(op);
  if (!resp || resp->topics.empty() || resp->topics.front().partitions.empty()) co_return std::nullopt;
  auto& p = resp->topics.front().partitions.front();
  co_return OffsetAnswer{p.error_code, p.offset};
}

void write_bytes(JsonWriter& w, const std::optional<std::span<const uint8_t>>& b) {
  if (!b) {
    w.null();
    return;
  }
  w.value(net::base64_encode(protocol::Bytes(b->begin(), b->end())));
}

// The records of a Fetch answer from `start` on, at most `limit`, as JSON
// (keys, values and header values base64: the page shows them as text, JSON or hex).
int64_t write_records(JsonWriter& w, std::span<const uint8_t> bytes, int64_t start, int32_t limit) {
  int64_t next = start;
  int32_t n = 0;
  w.key("records").begin_array();
  for (auto batch : protocol::leading_complete_batches(bytes)) {
    if (n >= limit) break;
    protocol::RecordIterator it;
    if (it.open(batch) != ErrorCode::NONE) break;
    const auto& h = it.header();
    if (h.is_control()) {  // commit/abort markers take an offset but are no data
      next = std::max(next, h.base_offset + h.last_offset_delta + 1);
      continue;
    }
    protocol::RecordView r;
    while (n < limit && it.next(r)) {
      if (r.offset < start) continue;
      w.begin_object().key("offset").value(r.offset).key("timestamp").value(r.timestamp);
      w.key("key");
      write_bytes(w, r.key);
      w.key("value");
      write_bytes(w, r.value);
      w.key("headers").begin_array();
      for (auto& hv : protocol::decode_headers(r)) {
        w.begin_object().key("key").value(hv.key).key("value");
        write_bytes(w, hv.value);
        w.end_object();
      }
      w.end_array().end_object();
      next = r.offset + 1;
      ++n;
    }
  }
  w.end_array();
  return next;
}

}  // namespace

// ?partition=P&offset=O | &timestamp=T | (neither: the last `limit`) &limit=N
asio::awaitable<HttpResponse> browse_records(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                             std::string topic, const HttpRequest& req) {
  auto partition = int_field(req, "partition");
  if (!partition || *partition < 0 || *partition > INT32_MAX) co_return json_error(400, "partition is required");
  const auto p = static_cast<int32_t>(*partition);
  const auto limit = static_cast<int32_t>(std::clamp<int64_t>(int_field(req, "limit").value_or(50), 1, kMaxBrowseRecords));
  auto start = int_field(req, "offset");
  std::optional<OffsetAnswer> found;
  if (!start) {
    auto ts = int_field(req, "timestamp");
    auto op = list_offset(broker, here, caller, topic, p, ts ? std::max<int64_t>(0, *ts) : kLatest);
    found = co_await std::move(op);
    if (!found) co_return no_answer();
    if (found->error == 0 && !ts) {  // the last `limit` records: from max(earliest, latest - limit)
      auto first_op = list_offset(broker, here, caller, topic, p, kEarliest);
      auto first = co_await std::move(first_op);
      if (!first) co_return no_answer();
      found->offset = std::max(first->offset, found->offset - limit);
    }
    if (found->error == 0 && found->offset < 0) {  // no record at or after the timestamp: the end
      auto end_op = list_offset(broker, here, caller, topic, p, kLatest);
      auto end = co_await std::move(end_op);
      if (!end) co_return no_answer();
      found = end;
    }
    start = found->offset;
  }
  JsonWriter w;
  w.begin_object().key("topic").value(topic).key("partition").value(p).key("start_offset").value(*start);
  if (found && found->error != 0) {
    write_error(w, found->error, std::nullopt);
    w.key("records").begin_array().end_array().end_object();
    co_return json(200, w.take());
  }
  protocol::FetchRequest f;
  f.max_wait_ms = 0;
  f.min_bytes = 0;
  f.max_bytes = kFetchMaxBytes;
  protocol::FetchRequest::FetchPartition fp;
  fp.partition = p;
  fp.fetch_offset = std::max<int64_t>(0, *start);
  fp.partition_max_bytes = kFetchMaxBytes;
  f.topics.push_back({topic, {}, {fp}, {}});
  auto op = call_kafka_routed<protocol::FetchResponse>(
      broker, here, caller, 12, f, [&](const protocol::FetchResponse& r) -> std::optional<NodeId> {
        if (r.responses.empty() || r.responses.front().partitions.empty()) return std::nullopt;
        return route_to_leader(broker, here, topic, p, r.responses.front().partitions.front().error_code);
      });
  auto resp = co_await std::move(op);
  if (!resp) co_return no_answer();
  if (resp->error_code != 0 || resp->responses.empty() || resp->responses.front().partitions.empty()) {
    write_error(w, resp->error_code != 0 ? resp->error_code : int16_t{-1}, std::nullopt);
    w.key("records").begin_array().end_array().end_object();
    co_return json(200, w.take());
  }
  auto& pd = resp->responses.front().partitions.front();
  write_error(w, pd.error_code, std::nullopt);
  w.key("high_watermark").value(pd.high_watermark).key("log_start_offset").value(pd.log_start_offset);
  int64_t next = write_records(w, pd.records.memory(), fp.fetch_offset, limit);
  w.key("next_offset").value(next).end_object();
  co_return json(200, w.take());
}

// partition=P&key=K&value=V&headers=k=v lines. An empty key is a null key.
asio::awaitable<HttpResponse> produce_record(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                             std::string topic, const HttpRequest& req) {
  auto partition = int_field(req, "partition").value_or(0);
  if (partition < 0 || partition > INT32_MAX) co_return json_error(400, "bad partition");
  std::string key = field(req, "key").value_or("");
  std::string value = field(req, "value").value_or("");
  std::vector<protocol::RecordHeader> headers;
  for (auto& [k, v] : pairs_field(req, "headers")) headers.emplace_back(k, protocol::Bytes(v.begin(), v.end()));
  auto as_span = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  protocol::BatchBuilder b;
  b.add(broker.clock().now_ms(), key.empty() ? std::nullopt : std::optional(as_span(key)), as_span(value), headers);
  protocol::ProduceRequest pr;
  pr.acks = -1;
  pr.timeout_ms = 30000;
  protocol::ProduceRequest::PartitionProduceData pd;
  pd.index = static_cast<int32_t>(partition);
  pd.records.owned = b.build();
  pr.topic_data.push_back({topic, {std::move(pd)}, {}});
  const auto index = static_cast<int32_t>(partition);
  auto op = call_kafka_routed<protocol::ProduceResponse>(
      broker, here, caller, 9, pr, [&](const protocol::ProduceResponse& r) -> std::optional<NodeId> {
        if (r.responses.empty() || r.responses.front().partition_responses.empty()) return std::nullopt;
        return route_to_leader(broker, here, topic, index, r.responses.front().partition_responses.front().error_code);
      });
  auto resp = co_await std::move(op);
  if (!resp || resp->responses.empty() || resp->responses.front().partition_responses.empty()) co_return no_answer();
  auto& r = resp->responses.front().partition_responses.front();
  JsonWriter w;
  w.begin_object().key("topic").value(topic).key("partition").value(r.index);
  write_error(w, r.error_code, r.error_message);
  w.key("offset").value(r.base_offset).end_object();
  co_return json(200, w.take());
}

}  // namespace samsa::server::console
