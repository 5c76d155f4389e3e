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
};

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
  if (version == 1) in.be(8);  // expire timestamp
  if (!in.good) return std::nullopt;
  return v;
}

}  // namespace samsa::coordinator
