// Fetch (1) on __cluster_metadata-0 as the quorum uses it, and the split of
// its records into log entries.
#include <algorithm>

#include "protocol/api_registry.h"
#include "protocol/batch_header.h"
#include "protocol/messages/fetch.h"
#include "protocol/record_batch.h"
#include "raft/raft_wire_internal.h"

namespace samsa::raft {

namespace {

using protocol::BatchHeader;
namespace batch = protocol::batch;

bool is_metadata_topic(const WireContext* ctx, int16_t v, const std::string& name, const protocol::Uuid& id) {
  if (v < 13) return name == kMetadataTopic;
  protocol::Uuid want = ctx && ctx->topic_id != protocol::Uuid{} ? ctx->topic_id : kMetadataTopicId;
  return id == want;
}

protocol::Uuid topic_id_of(const WireContext& ctx) {
  return ctx.topic_id != protocol::Uuid{} ? ctx.topic_id : kMetadataTopicId;
}

// Appends the entry's batch to the records, which are the batches back to back.
void append_entry(protocol::Bytes& out, const LogEntry& e) { out.insert(out.end(), e.data.begin(), e.data.end()); }

}  // namespace

namespace wire {

WireRequest encode_fetch_request(const WireContext& ctx, const FetchRequest& m, int16_t version) {
  int16_t v = version < 0 ? kFetchVersion : version;
  if (v < kMinRaftFetchVersion || v > protocol::FetchRequest::max_version) return {};
  protocol::FetchRequest out;
  out.cluster_id = cluster_id_of(ctx);
  if (v >= 15) {
    out.replica_state.replica_id = m.replica_id.value;
    out.replica_state.replica_epoch = -1;  // controllers have no broker epoch
  } else {
    out.replica_id = m.replica_id.value;
  }
  out.max_wait_ms = static_cast<int32_t>(std::clamp<int64_t>(m.max_wait_ms, 0, INT32_MAX));
  out.min_bytes = 0;
  out.max_bytes = kFetchMaxBytes;
  auto& t = out.topics.emplace_back();
  t.topic = kMetadataTopic;
  t.topic_id = topic_id_of(ctx);
  auto& p = t.partitions.emplace_back();
  p.partition = 0;
  p.current_leader_epoch = m.current_leader_epoch.value;
  p.fetch_offset = m.fetch_offset.value;
  p.last_fetched_epoch = m.last_fetched_epoch.value;
  p.log_start_offset = -1;
  p.partition_max_bytes = kFetchMaxBytes;
  if (v >= 17) p.replica_directory_id = m.replica_directory_id;
  return {protocol::api_key::Fetch, v, encode_body(out, v)};
}

std::optional<MessageBody> decode_fetch_request(const WireContext* ctx, int16_t v, std::span<const uint8_t> body,
                                                DecodedRaftRequest& out) {
  if (v < kMinRaftFetchVersion) {
    out.error = "a quorum Fetch needs version 12 or later";
    return std::nullopt;
  }
  protocol::FetchRequest req;
  if (!decode_body(req, v, body, &out.error)) return std::nullopt;
  if (ctx && !cluster_matches(*ctx, req.cluster_id)) out.refusal = ErrorCode::INCONSISTENT_CLUSTER_ID;
  if (req.topics.size() != 1 || req.topics[0].partitions.size() != 1) return refuse(out);
  auto& t = req.topics[0];
  auto& p = t.partitions[0];
  if (!is_metadata_topic(ctx, v, t.topic, t.topic_id) || p.partition != 0) return refuse(out);
  FetchRequest m;
  m.replica_id = NodeId{v >= 15 ? req.replica_state.replica_id : req.replica_id};
  m.current_leader_epoch = Epoch{p.current_leader_epoch};
  m.fetch_offset = Offset{p.fetch_offset};
  m.last_fetched_epoch = Epoch{p.last_fetched_epoch};
  m.max_wait_ms = std::max(req.max_wait_ms, 0);
  if (v >= 17) m.replica_directory_id = p.replica_directory_id;
  return MessageBody{m};
}

protocol::Bytes encode_fetch_response(const WireContext& ctx, int16_t v, const FetchResponse& m) {
  if (v < kMinRaftFetchVersion) return {};  // the tagged fields it needs do not exist below v12
  if (is_top_level(m.error)) return error_only<protocol::FetchResponse>(v, m.error);
  protocol::FetchResponse out;
  auto& t = out.responses.emplace_back();
  t.topic = kMetadataTopic;
  t.topic_id = topic_id_of(ctx);
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.error_code = to_int(m.error);
  p.high_watermark = m.high_watermark.value;
  p.aborted_transactions = std::nullopt;
  if (m.diverging_epoch) {
    p.diverging_epoch.epoch = m.diverging_epoch->epoch.value;
    p.diverging_epoch.end_offset = m.diverging_epoch->end_offset.value;
  }
  p.current_leader.leader_id = m.leader_id ? m.leader_id->value : -1;
  p.current_leader.leader_epoch = m.leader_epoch.value;
  if (v >= 16 && m.leader_id && m.leader_endpoint) {
    auto& n = out.node_endpoints.emplace_back();
    n.node_id = m.leader_id->value;
    n.host = m.leader_endpoint->host;
    n.port = m.leader_endpoint->port;
  }
  if (m.snapshot_id) {
    p.snapshot_id.end_offset = m.snapshot_id->end_offset.value;
    p.snapshot_id.epoch = m.snapshot_id->epoch.value;
  }
  size_t bytes = 0;
  for (auto& e : m.records) bytes += e.data.size();
  p.records.owned.reserve(bytes);
  for (auto& e : m.records) append_entry(p.records.owned, e);
  return encode_body(out, v);
}

std::optional<MessageBody> decode_fetch_response(int16_t v, std::span<const uint8_t> body, std::string* why) {
  if (v < kMinRaftFetchVersion) {
    set_error(why, "a quorum Fetch needs version 12 or later");
    return std::nullopt;
  }
  protocol::FetchResponse resp;
  if (!decode_body(resp, v, body, why)) return std::nullopt;
  FetchResponse m;
  if (resp.error_code != 0 && resp.responses.empty()) {
    m.error = error_of(resp.error_code);
    return MessageBody{m};
  }
  if (resp.responses.size() != 1 || resp.responses[0].partitions.size() != 1) {
    set_error(why, "the answer must name exactly one partition");
    return std::nullopt;
  }
  auto& p = resp.responses[0].partitions[0];
  m.error = error_of(resp.error_code != 0 ? resp.error_code : p.error_code);
  m.leader_id = leader_of(p.current_leader.leader_id);
  m.leader_epoch = Epoch{p.current_leader.leader_epoch};
  m.high_watermark = Offset{p.high_watermark};
  // A tagged field at its default (-1/-1) was not sent: Kafka's "absent".
  if (p.diverging_epoch.epoch >= 0 || p.diverging_epoch.end_offset >= 0)
    m.diverging_epoch = EpochEndOffset{Epoch{p.diverging_epoch.epoch}, Offset{p.diverging_epoch.end_offset}};
  if (p.snapshot_id.epoch >= 0 || p.snapshot_id.end_offset >= 0)
    m.snapshot_id = SnapshotId{Offset{p.snapshot_id.end_offset}, Epoch{p.snapshot_id.epoch}};
  for (auto& n : resp.node_endpoints)
    if (m.leader_id && n.node_id == m.leader_id->value && n.port > 0 && n.port <= 65535 && !n.host.empty())
      m.leader_endpoint = FetchResponse::Endpoint{n.host, static_cast<uint16_t>(n.port)};
  if (p.records.is_null) return MessageBody{std::move(m)};
  auto entries = split_entries(p.records.memory(), why);
  if (!entries) return std::nullopt;
  m.records = std::move(*entries);
  return MessageBody{std::move(m)};
}

}  // namespace wire

std::optional<std::vector<LogEntry>> split_entries(std::span<const uint8_t> records, std::string* error) {
  std::vector<LogEntry> out;
  size_t pos = 0;
  while (pos < records.size()) {
    auto rest = records.subspan(pos);
    if (rest.size() < batch::kHeaderSize) {
      wire::set_error(error, "truncated batch header at byte " + std::to_string(pos));
      return std::nullopt;
    }
    auto h = BatchHeader::parse(rest.data());
    if (h.length < static_cast<int32_t>(batch::kHeaderSize - batch::kLogOverhead) || h.total_size() > rest.size()) {
      wire::set_error(error, "truncated or mis-sized batch at byte " + std::to_string(pos));
      return std::nullopt;
    }
    auto span = rest.first(h.total_size());
    if (auto e = protocol::validate_batch(span, protocol::BatchOrigin::log); e != ErrorCode::NONE) {
      wire::set_error(error, "bad batch at byte " + std::to_string(pos) + ": " + std::string(error_name(e)));
      return std::nullopt;
    }
    // The core's entries cover dense offset ranges: [offset, offset + records).
    if (h.record_count < 1 || h.last_offset_delta != h.record_count - 1 || h.base_offset < 0 ||
        h.base_offset > INT64_MAX - h.record_count) {
      wire::set_error(error, "batch at byte " + std::to_string(pos) + " does not cover a dense offset range");
      return std::nullopt;
    }
    LogEntry e;
    e.offset = Offset{h.base_offset};
    e.epoch = Epoch{h.leader_epoch};
    e.records = h.record_count;
    e.control = h.is_control();
    e.data.assign(span.begin(), span.end());
    if (!out.empty() && (e.offset != out.back().end() || e.epoch < out.back().epoch)) {
      wire::set_error(error, "batch at byte " + std::to_string(pos) + " does not follow the one before");
      return std::nullopt;
    }
    out.push_back(std::move(e));
    pos += span.size();
  }
  return out;
}

}  // namespace samsa::raft
