#include "protocol/kraft_legacy.h"

#include "protocol/json_text.h"

namespace samsa::protocol::kraft {

namespace {

// uvarint count + int32s; the count is bounded by the bytes that remain.
std::vector<int32_t> read_ids(Reader& r) {
  uint32_t n = r.uvarint();
  std::vector<int32_t> v;
  if (n > r.remaining() / 4) {
    r.fail();
    return v;
  }
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) v.push_back(r.i32());
  return v;
}

}  // namespace

std::optional<LegacyValue> decode_legacy_value(std::span<const uint8_t> value) {
  Reader r(value);
  const int16_t type = r.i16();
  const int16_t version = r.i16();
  if (!r.ok() || version != 0) return std::nullopt;
  LegacyValue out;
  switch (type) {
    case legacy_type::kTopic: {
      TopicRecord t;
      t.name = r.string(true);
      t.topic_id = r.uuid();
      out.record = std::move(t);
      break;
    }
    case legacy_type::kPartition: {
      PartitionRecord p;
      p.topic_id = r.uuid();
      p.partition_id = r.i32();
      p.replicas = read_ids(r);
      p.isr = read_ids(r);
      p.leader = r.i32();
      p.leader_epoch = r.i32();
      p.partition_epoch = 0;  // the old format had none; a new partition's is 0
      out.record = std::move(p);
      break;
    }
    case legacy_type::kConfig: {
      ConfigRecord c;
      c.resource_type = r.i8();
      c.resource_name = r.string(true);
      c.name = r.string(true);
      c.value = r.nstring(true);
      out.record = std::move(c);
      break;
    }
    case legacy_type::kRemoveTopic: {
      RemoveTopicRecord t;
      t.topic_id = r.uuid();
      out.record = std::move(t);
      break;
    }
    case legacy_type::kRegisterBroker: {
      RegisterBrokerRecord b;
      b.broker_id = r.i32();
      auto& ep = b.end_points.emplace_back();
      ep.name = "PLAINTEXT";
      ep.host = r.string(true);
      const int32_t port = r.i32();
      if (port < 0 || port > 0xffff) return std::nullopt;
      ep.port = static_cast<uint16_t>(port);
      b.rack = r.nstring(true);
      b.fenced = false;  // the old format knew no fencing: a registered broker served
      out.record = std::move(b);
      break;
    }
    case legacy_type::kProducerIds: {
      ProducerIdsRecord p;
      p.broker_id = r.i32();
      p.next_producer_id = r.i64();
      out.record = std::move(p);
      break;
    }
    case legacy_type::kClusterId:
      out.cluster_id = r.string(true);
      break;
    default:
      return std::nullopt;
  }
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  return out;
}

std::optional<std::string> legacy_value_json(std::span<const uint8_t> value) {
  auto old = decode_legacy_value(value);
  if (!old) return std::nullopt;
  std::string o;
  if (old->record) {
    o = metadata_record_json(*old->record, 0);
    o.pop_back();  // the closing brace
  } else {
    o = "{\"type\":\"SAMSA_OLD_CLUSTER_ID_RECORD\",\"version\":0,\"data\":{\"clusterId\":";
    json_string(o, old->cluster_id.value_or(""));
    o += '}';
  }
  o += ",\"samsaOldFormat\":true}";
  return o;
}

}  // namespace samsa::protocol::kraft
