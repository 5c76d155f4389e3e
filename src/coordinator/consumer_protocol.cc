#include "coordinator/consumer_protocol.h"

#include <algorithm>

#include "protocol/wire.h"

namespace samsa::coordinator {

namespace {

using protocol::Reader;
using protocol::Writer;

// [topic string, partitions [int32]]; a topic takes at least 6 bytes, a partition 4.
bool read_named_partitions(Reader& r, NamedPartitions& out) {
  int32_t n = r.array_count(false, 6);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::string topic = r.string(false);
    int32_t np = r.array_count(false, 4);
    auto& ps = out[topic];
    for (int32_t j = 0; j < np && r.ok(); ++j) ps.insert(r.i32());
  }
  return r.ok();
}

void write_named_partitions(Writer& w, const NamedPartitions& a) {
  w.array_count(false, static_cast<int64_t>(a.size()));
  for (auto& [topic, ps] : a) {
    w.string(false, topic);
    w.array_count(false, static_cast<int64_t>(ps.size()));
    for (int32_t p : ps) w.i32(p);
  }
}

}  // namespace

std::optional<int16_t> consumer_protocol_version(std::span<const uint8_t> b) {
  Reader r(b);
  int16_t v = r.i16();
  if (!r.ok() || v < 0) return std::nullopt;
  return v;
}

// Fields after the topics are read when present: a message that ends early
// (some clients stop after the topics) keeps their defaults.
std::optional<ConsumerSubscription> decode_consumer_subscription(std::span<const uint8_t> b) {
  Reader r(b);
  ConsumerSubscription s;
  s.version = r.i16();
  if (!r.ok() || s.version < 0) return std::nullopt;
  int32_t n = r.array_count(false, 2);
  for (int32_t i = 0; i < n && r.ok(); ++i) s.topics.push_back(r.string(false));
  if (!r.ok() || n < 0) return std::nullopt;
  if (r.remaining() == 0) return s;
  r.nbytes(false);  // user data
  if (s.version >= 1 && r.remaining() > 0 && !read_named_partitions(r, s.owned)) return std::nullopt;
  if (s.version >= 2 && r.remaining() > 0) s.generation = r.i32();
  if (s.version >= 3 && r.remaining() > 0) s.rack_id = r.nstring(false);
  if (!r.ok()) return std::nullopt;
  return s;
}

std::vector<uint8_t> encode_consumer_subscription(const ConsumerSubscription& s) {
  Writer w;
  w.i16(s.version);
  w.array_count(false, static_cast<int64_t>(s.topics.size()));
  for (auto& t : s.topics) w.string(false, t);
  w.i32(-1);  // no user data
  if (s.version >= 1) write_named_partitions(w, s.owned);
  if (s.version >= 2) w.i32(s.generation);
  if (s.version >= 3) w.nstring(false, s.rack_id);
  return std::move(w.buffer());
}

std::vector<uint8_t> encode_consumer_assignment(const NamedPartitions& a, int16_t version) {
  Writer w;
  w.i16(std::clamp<int16_t>(version, 0, 3));
  write_named_partitions(w, a);
  w.i32(-1);  // no user data
  return std::move(w.buffer());
}

std::optional<NamedPartitions> decode_consumer_assignment(std::span<const uint8_t> b) {
  Reader r(b);
  int16_t v = r.i16();
  NamedPartitions out;
  if (!r.ok() || v < 0 || !read_named_partitions(r, out)) return std::nullopt;
  return out;
}

}  // namespace samsa::coordinator
