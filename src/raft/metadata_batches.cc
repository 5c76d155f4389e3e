#include "raft/metadata_batches.h"

#include <cassert>

#include "protocol/record_batch.h"

namespace samsa::raft {

namespace kraft = protocol::kraft;

namespace {

protocol::BatchBuilder builder_at(const BatchPlacement& at) {
  protocol::BatchBuilder b(at.base_offset.value);
  b.set_leader_epoch(at.epoch.value);
  return b;
}

// A control batch of one record: key = version 0 + type, value = `message`
// encoded at Kafka's control record version (0), which its Version field says.
template <typename Message>
protocol::Bytes control_batch(Message message, const BatchPlacement& at) {
  static_assert(Message::is_control);
  message.version = kraft::kControlRecordVersion;
  uint8_t key[4];
  protocol::store_be16(key, 0);
  protocol::store_be16(key + 2, Message::api_key);
  protocol::Writer w;
  message.encode(w, kraft::kControlRecordVersion);
  protocol::BatchBuilder b = builder_at(at);
  b.set_control(true);
  b.add(at.timestamp_ms, std::span<const uint8_t>(key), std::span<const uint8_t>(w.buffer()));
  return b.build();
}

// The key and value of the single record of a valid control batch of `type`.
template <typename Message>
std::optional<Message> parse_control(std::span<const uint8_t> batch) {
  auto summary = summarize_batch(batch);
  if (!summary || !summary->control || summary->record_count != 1) return std::nullopt;
  protocol::RecordIterator it;
  if (it.open(batch, kMaxMetadataBatchBytes) != ErrorCode::NONE) return std::nullopt;
  protocol::RecordView rv;
  if (!it.next(rv) || protocol::control_record_type(rv.key) != Message::api_key || !rv.value) return std::nullopt;
  protocol::Reader r(*rv.value);
  Message m;
  m.decode(r, kraft::kControlRecordVersion);
  if (!r.ok()) return std::nullopt;
  return m;
}

}  // namespace

// ---- building ----

protocol::Bytes build_data_batch(std::span<const protocol::Bytes> values, const BatchPlacement& at) {
  assert(!values.empty());
  protocol::BatchBuilder b = builder_at(at);
  for (const auto& v : values) b.add(at.timestamp_ms, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

protocol::Bytes build_leader_change_batch(const LeaderChange& change, const BatchPlacement& at) {
  kraft::LeaderChangeMessage m;
  m.leader_id = change.leader.value;
  for (NodeId v : change.voters) m.voters.push_back({v.value, {}, {}});
  for (NodeId v : change.granting_voters) m.granting_voters.push_back({v.value, {}, {}});
  return control_batch(m, at);
}

protocol::Bytes build_snapshot_header_batch(int64_t last_contained_log_timestamp, const BatchPlacement& at) {
  kraft::SnapshotHeaderRecord m;
  m.last_contained_log_timestamp = last_contained_log_timestamp;
  return control_batch(m, at);
}

protocol::Bytes build_snapshot_footer_batch(const BatchPlacement& at) {
  return control_batch(kraft::SnapshotFooterRecord{}, at);
}

protocol::Bytes build_kraft_version_batch(int16_t kraft_version, const BatchPlacement& at) {
  kraft::KRaftVersionRecord m;
  m.k_raft_version = kraft_version;
  return control_batch(m, at);
}

protocol::Bytes build_voters_batch(const kraft::VotersRecord& voters, const BatchPlacement& at) {
  return control_batch(voters, at);
}

// ---- reading ----

std::optional<BatchSummary> summarize_batch(std::span<const uint8_t> batch) {
  if (protocol::validate_batch(batch, protocol::BatchOrigin::log) != ErrorCode::NONE) return std::nullopt;
  auto h = protocol::BatchHeader::parse(batch.data());
  BatchSummary s;
  s.base_offset = Offset(h.base_offset);
  s.epoch = Epoch(h.leader_epoch);
  s.offsets = h.last_offset_delta + 1;
  s.record_count = h.record_count;
  s.control = h.is_control();
  s.max_timestamp = h.max_timestamp;
  s.size = batch.size();
  if (s.offsets < 1 || h.base_offset < 0) return std::nullopt;  // validate_batch(log) allows both
  return s;
}

std::optional<LogEntry> entry_from_batch(std::span<const uint8_t> batch) {
  auto s = summarize_batch(batch);
  if (!s) return std::nullopt;
  return LogEntry{s->base_offset, s->epoch, s->offsets, s->control, protocol::Bytes(batch.begin(), batch.end())};
}

std::optional<int16_t> control_type_of(std::span<const uint8_t> batch) {
  auto s = summarize_batch(batch);
  if (!s || !s->control) return std::nullopt;
  protocol::RecordIterator it;
  if (it.open(batch, kMaxMetadataBatchBytes) != ErrorCode::NONE) return std::nullopt;
  protocol::RecordView rv;
  if (!it.next(rv)) return std::nullopt;
  return protocol::control_record_type(rv.key);
}

ErrorCode for_each_value(std::span<const uint8_t> batch,
                         const std::function<void(Offset, std::span<const uint8_t>)>& fn) {
  auto s = summarize_batch(batch);
  if (!s || s->control) return ErrorCode::CORRUPT_MESSAGE;
  protocol::RecordIterator it;
  if (ErrorCode e = it.open(batch, kMaxMetadataBatchBytes); e != ErrorCode::NONE) return e;
  protocol::RecordView rv;
  while (it.next(rv)) {
    if (!rv.value) return ErrorCode::CORRUPT_MESSAGE;
    fn(Offset(rv.offset), *rv.value);
  }
  return it.error();
}

std::optional<std::vector<protocol::Bytes>> batch_values(std::span<const uint8_t> batch) {
  std::vector<protocol::Bytes> out;
  ErrorCode e = for_each_value(batch, [&](Offset, std::span<const uint8_t> v) { out.emplace_back(v.begin(), v.end()); });
  if (e != ErrorCode::NONE) return std::nullopt;
  return out;
}

std::optional<kraft::LeaderChangeMessage> parse_leader_change(std::span<const uint8_t> batch) {
  return parse_control<kraft::LeaderChangeMessage>(batch);
}
std::optional<kraft::SnapshotHeaderRecord> parse_snapshot_header(std::span<const uint8_t> batch) {
  return parse_control<kraft::SnapshotHeaderRecord>(batch);
}
std::optional<kraft::SnapshotFooterRecord> parse_snapshot_footer(std::span<const uint8_t> batch) {
  return parse_control<kraft::SnapshotFooterRecord>(batch);
}
std::optional<kraft::KRaftVersionRecord> parse_kraft_version(std::span<const uint8_t> batch) {
  return parse_control<kraft::KRaftVersionRecord>(batch);
}
std::optional<kraft::VotersRecord> parse_voters(std::span<const uint8_t> batch) {
  return parse_control<kraft::VotersRecord>(batch);
}

}  // namespace samsa::raft
