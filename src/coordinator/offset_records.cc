#include "coordinator/offset_records.h"

namespace samsa::coordinator {

namespace {

void put16(std::vector<uint8_t>& o, int16_t v) {
  o.push_back(uint8_t(uint16_t(v) >> 8));
  o.push_back(uint8_t(v));
}
void put32(std::vector<uint8_t>& o, int32_t v) {
  for (int s = 24; s >= 0; s -= 8) o.push_back(uint8_t(uint32_t(v) >> s));
}
void put64(std::vector<uint8_t>& o, int64_t v) {
  for (int s = 56; s >= 0; s -= 8) o.push_back(uint8_t(uint64_t(v) >> s));
}
void put_string(std::vector<uint8_t>& o, const std::string& s) {
  put16(o, static_cast<int16_t>(std::min<size_t>(s.size(), INT16_MAX)));
  o.insert(o.end(), s.begin(), s.begin() + std::min<size_t>(s.size(), INT16_MAX));
}

void put_nullable(std::vector<uint8_t>& o, const std::optional<std::string>& s) {
  if (s) put_string(o, *s);
  else put16(o, -1);
}
void put_bytes(std::vector<uint8_t>& o, const std::vector<uint8_t>& b) {
  put32(o, static_cast<int32_t>(b.size()));
  o.insert(o.end(), b.begin(), b.end());
}

// Bounds-checked big-endian reader; ok() turns false on any overrun.
struct In {
  std::span<const uint8_t> b;
  size_t pos = 0;
  bool good = true;
  bool need(size_t n) {
    if (!good || b.size() - pos < n) good = false;
    return good;
  }
  int64_t be(int bytes) {
    if (!need(bytes)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | b[pos++];
    return bytes == 2 ? int16_t(v) : bytes == 4 ? int32_t(v) : int64_t(v);
  }
  std::string str() {
    int64_t n = be(2);
    if (n < 0 || !need(size_t(n))) {
      good = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(b.data() + pos), size_t(n));
    pos += size_t(n);
    return s;
  }
  std::optional<std::string> nullable_str() {
    if (!need(2)) return std::nullopt;
    if (b[pos] == 0xff && b[pos + 1] == 0xff) {
      pos += 2;
      return std::nullopt;
    }
    return str();
  }
  std::vector<uint8_t> bytes() {
    int64_t n = be(4);
    if (n < 0 || !need(size_t(n))) {
      good = false;
      return {};
    }
    std::vector<uint8_t> v(b.begin() + pos, b.begin() + pos + size_t(n));
    pos += size_t(n);
    return v;
  }
  size_t left() const { return b.size() - pos; }
};

// The smallest member record of a group metadata value version: its empty
// strings, timeouts and empty byte arrays.
size_t min_member_bytes(int64_t version) {
  size_t n = 2 + 2 + 2 + 4 + 4 + 4;  // member id, client id, host, session timeout, subscription, assignment
  if (version >= 1) n += 4;           // rebalance timeout
  if (version >= 3) n += 2;           // group instance id
  return n;
}

}  // namespace

std::vector<uint8_t> encode_offset_key(const OffsetKey& k) {
  std::vector<uint8_t> o;
  put16(o, 1);
  put_string(o, k.group);
  put_string(o, k.topic);
  put32(o, k.partition);
  return o;
}

std::vector<uint8_t> encode_offset_value(const CommittedOffset& v) {
  std::vector<uint8_t> o;
  if (v.expire_timestamp) {  // Kafka's choice too: the old version that still has the field
    put16(o, 1);
    put64(o, v.offset);
    put_string(o, v.metadata);
    put64(o, v.commit_timestamp);
    put64(o, *v.expire_timestamp);
    return o;
  }
  put16(o, 3);
  put64(o, v.offset);
  put32(o, v.leader_epoch);
  put_string(o, v.metadata);
  put64(o, v.commit_timestamp);
  return o;
}

std::optional<std::variant<OffsetKey, GroupKey>> decode_key(std::span<const uint8_t> b) {
  In in{b};
  int64_t version = in.be(2);
  if (!in.good) return std::nullopt;
  if (version == 0 || version == 1) {
    OffsetKey k;
    k.group = in.str();
    k.topic = in.str();
    k.partition = static_cast<int32_t>(in.be(4));
    if (!in.good) return std::nullopt;
    return k;
  }
  if (version == 2) {
    GroupKey k;
    k.group = in.str();
    if (!in.good) return std::nullopt;
    return k;
  }
  return std::nullopt;
}

// Versions 0-3 (v1 carries an expire timestamp, v3 a leader epoch).
std::optional<CommittedOffset> decode_offset_value(std::span<const uint8_t> b) {
  In in{b};
  int64_t version = in.be(2);
  if (!in.good || version < 0 || version > 3) return std::nullopt;
  CommittedOffset v;
  v.offset = in.be(8);
  if (version >= 3) v.leader_epoch = static_cast<int32_t>(in.be(4));
  v.metadata = in.str();
  v.commit_timestamp = in.be(8);
  if (version == 1) v.expire_timestamp = in.be(8);
  if (!in.good) return std::nullopt;
  return v;
}

std::vector<uint8_t> encode_group_key(const GroupKey& k) {
  std::vector<uint8_t> o;
  put16(o, 2);
  put_string(o, k.group);
  return o;
}

std::vector<uint8_t> encode_group_value(const GroupMetadataValue& v) {
  std::vector<uint8_t> o;
  put16(o, 3);
  put_string(o, v.protocol_type);
  put32(o, v.generation);
  put_nullable(o, v.protocol);
  put_nullable(o, v.leader);
  put64(o, v.current_state_timestamp);
  put32(o, static_cast<int32_t>(v.members.size()));
  for (auto& m : v.members) {
    put_string(o, m.member_id);
    put_nullable(o, m.group_instance_id);
    put_string(o, m.client_id);
    put_string(o, m.client_host);
    put32(o, m.rebalance_timeout_ms);
    put32(o, m.session_timeout_ms);
    put_bytes(o, m.subscription);
    put_bytes(o, m.assignment);
  }
  return o;
}

// v0: no rebalance timeout (it is the session timeout), no state timestamp,
// no instance ids; v1 adds the rebalance timeout, v2 the state timestamp,
// v3 group instance ids.
std::optional<GroupMetadataValue> decode_group_value(std::span<const uint8_t> b) {
  In in{b};
  int64_t version = in.be(2);
  if (!in.good || version < 0 || version > 3) return std::nullopt;
  GroupMetadataValue v;
  v.protocol_type = in.str();
  v.generation = static_cast<int32_t>(in.be(4));
  v.protocol = in.nullable_str();
  v.leader = in.nullable_str();
  if (version >= 2) v.current_state_timestamp = in.be(8);
  int64_t n = in.be(4);
  if (!in.good || n < 0 || size_t(n) > in.left() / min_member_bytes(version)) return std::nullopt;
  v.members.reserve(size_t(n));
  for (int64_t i = 0; i < n && in.good; ++i) {
    GroupMemberRecord m;
    m.member_id = in.str();
    if (version >= 3) m.group_instance_id = in.nullable_str();
    m.client_id = in.str();
    m.client_host = in.str();
    if (version >= 1) m.rebalance_timeout_ms = static_cast<int32_t>(in.be(4));
    m.session_timeout_ms = static_cast<int32_t>(in.be(4));
    if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
    m.subscription = in.bytes();
    m.assignment = in.bytes();
    v.members.push_back(std::move(m));
  }
  if (!in.good) return std::nullopt;
  return v;
}

}  // namespace samsa::coordinator
