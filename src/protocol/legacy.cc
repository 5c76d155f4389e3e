#include "protocol/legacy.h"

#include <zlib.h>

#include <vector>

#include "protocol/batch_header.h"
#include "protocol/compression.h"

namespace samsa::protocol {

namespace {

// One parsed legacy message; spans borrow from the message set being parsed.
struct LegacyMessage {
  int64_t offset = 0;
  int8_t magic = 0;
  int8_t attributes = 0;
  int64_t timestamp = kNoTimestamp;
  std::optional<std::span<const uint8_t>> key;
  std::optional<std::span<const uint8_t>> value;
  int codec() const { return attributes & legacy::kCodecMask; }
  bool log_append_time() const { return magic >= 1 && (attributes & legacy::kTimestampTypeBit); }
};

uint32_t crc32_ieee(std::span<const uint8_t> s) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; messages are far below 4 GiB (sizes are int32).
  return static_cast<uint32_t>(crc32(crc, s.data(), static_cast<uInt>(s.size())));
}

// Reads an int32-length nullable byte field bounded by the message.
bool read_legacy_bytes(Reader& r, std::optional<std::span<const uint8_t>>& out) {
  int32_t n = r.i32();
  if (!r.ok() || n < -1 || (n > 0 && static_cast<size_t>(n) > r.remaining())) return false;
  if (n == -1) { out.reset(); return true; }
  out = r.raw(static_cast<size_t>(n));
  return r.ok();
}

ErrorCode parse_message(std::span<const uint8_t> m, int64_t offset, LegacyMessage& out) {
  if (m.size() < legacy::kMinMessageSizeV0) return ErrorCode::CORRUPT_MESSAGE;
  out.offset = offset;
  out.magic = static_cast<int8_t>(m[legacy::kMagicOffset]);
  if (out.magic != 0 && out.magic != 1) return ErrorCode::CORRUPT_MESSAGE;
  if (out.magic == 1 && m.size() < legacy::kMinMessageSizeV1) return ErrorCode::CORRUPT_MESSAGE;
  if (crc32_ieee(m.subspan(legacy::kMagicOffset)) != static_cast<uint32_t>(load_be32(m.data())))
    return ErrorCode::CORRUPT_MESSAGE;
  out.attributes = static_cast<int8_t>(m[legacy::kAttributesOffset]);
  Reader r(m.subspan(legacy::kTimestampOffset));
  out.timestamp = out.magic == 1 ? r.i64() : kNoTimestamp;
  if (!read_legacy_bytes(r, out.key) || !read_legacy_bytes(r, out.value)) return ErrorCode::CORRUPT_MESSAGE;
  if (r.remaining() != 0) return ErrorCode::CORRUPT_MESSAGE;  // bytes the fields do not account for
  return ErrorCode::NONE;
}

// Parses the entries of a message set into `out`. `allow_partial_tail`: stop
// quietly at an entry that does not fit (outer sets); otherwise the set must
// be exact (inner sets, which were compressed whole).
ErrorCode parse_message_set(std::span<const uint8_t> set, bool allow_partial_tail, std::vector<LegacyMessage>& out) {
  size_t pos = 0;
  while (pos < set.size()) {
    size_t left = set.size() - pos;
    if (left < batch::kLogOverhead) return allow_partial_tail ? ErrorCode::NONE : ErrorCode::CORRUPT_MESSAGE;
    int64_t offset = load_be64(set.data() + pos);
    int32_t size = load_be32(set.data() + pos + batch::kLength);
    if (size < static_cast<int32_t>(legacy::kMinMessageSizeV0)) return ErrorCode::CORRUPT_MESSAGE;
    if (static_cast<size_t>(size) > left - batch::kLogOverhead) {
      return allow_partial_tail ? ErrorCode::NONE : ErrorCode::CORRUPT_MESSAGE;
    }
    LegacyMessage msg;
    ErrorCode e = parse_message(set.subspan(pos + batch::kLogOverhead, static_cast<size_t>(size)), offset, msg);
    if (e != ErrorCode::NONE) return e;
    out.push_back(msg);
    pos += batch::kLogOverhead + static_cast<size_t>(size);
  }
  return ErrorCode::NONE;
}

// xxHash32 of fewer than 16 bytes (all an LZ4 frame descriptor can be).
uint32_t xxh32_small(const uint8_t* p, size_t len, uint32_t seed) {
  constexpr uint32_t P1 = 0x9E3779B1U, P2 = 0x85EBCA77U, P3 = 0xC2B2AE3DU, P4 = 0x27D4EB2FU, P5 = 0x165667B1U;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  uint32_t h = seed + P5 + static_cast<uint32_t>(len);
  for (; len >= 4; len -= 4, p += 4) {
    uint32_t v = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    h = rotl(h + v * P3, 17) * P4;
  }
  for (; len > 0; --len, ++p) h = rotl(h + *p * P5, 11) * P1;
  h ^= h >> 15;
  h *= P2;
  h ^= h >> 13;
  h *= P3;
  h ^= h >> 16;
  return h;
}

// What one up-converted record needs; spans borrow from the input or from
// `UpconvertState::buffers`.
struct FlatRecord {
  int64_t timestamp;
  std::optional<std::span<const uint8_t>> key, value;
};

struct UpconvertState {
  std::vector<FlatRecord> records;
  std::vector<Bytes> buffers;  // decompressed inner sets, kept alive for the spans
  std::optional<Compression> codec;
  bool log_append_time = false;
  size_t budget;  // decompressed bytes still allowed
};

ErrorCode expand_wrapper(const LegacyMessage& w, int64_t now_ms, UpconvertState& st) {
  if (w.codec() == static_cast<int>(Compression::zstd)) return ErrorCode::UNSUPPORTED_COMPRESSION_TYPE;
  auto codec = compression_from_id(w.codec());
  if (!codec || !w.value) return ErrorCode::CORRUPT_MESSAGE;
  std::span<const uint8_t> compressed = *w.value;
  Bytes fixed;
  if (*codec == Compression::lz4 && w.magic == 0) {
    fixed.assign(compressed.begin(), compressed.end());
    fix_lz4_header_checksum(fixed);
    compressed = fixed;
  }
  Bytes& inner_bytes = st.buffers.emplace_back();
  if (!decompress(*codec, compressed, st.budget, inner_bytes)) return ErrorCode::CORRUPT_MESSAGE;
  st.budget -= inner_bytes.size();
  std::vector<LegacyMessage> inner;
  if (ErrorCode e = parse_message_set(inner_bytes, false, inner); e != ErrorCode::NONE) return e;
  for (const LegacyMessage& m : inner) {
    if (m.magic != w.magic || m.codec() != 0) return ErrorCode::CORRUPT_MESSAGE;
    int64_t ts = m.timestamp;
    if (w.log_append_time() || m.log_append_time()) {
      ts = now_ms;
      st.log_append_time = true;
    }
    st.records.push_back({ts, m.key, m.value});
  }
  if (!st.codec) st.codec = *codec;
  return ErrorCode::NONE;
}

}  // namespace

void fix_lz4_header_checksum(std::span<uint8_t> f) {
  if (f.size() < 7) return;
  uint8_t flg = f[4];
  size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
  if (f.size() < 4 + desc + 1) return;
  f[4 + desc] = static_cast<uint8_t>(xxh32_small(f.data() + 4, desc, 0) >> 8);
}

void append_legacy_message(Bytes& set, int64_t offset, int8_t magic, int8_t attributes, int64_t timestamp,
                           std::optional<std::span<const uint8_t>> key,
                           std::optional<std::span<const uint8_t>> value) {
  size_t size = (magic >= 1 ? legacy::kMinMessageSizeV1 : legacy::kMinMessageSizeV0) + (key ? key->size() : 0) +
                (value ? value->size() : 0);
  Writer w;
  w.i64(offset);
  w.i32(static_cast<int32_t>(size));
  w.u32(0);  // crc, patched below
  w.i8(magic);
  w.i8(attributes);
  if (magic >= 1) w.i64(timestamp);
  for (const auto* f : {&key, &value}) {
    if (!*f) { w.i32(-1); continue; }
    w.i32(static_cast<int32_t>((*f)->size()));
    w.raw(**f);
  }
  Bytes& b = w.buffer();
  uint32_t crc = crc32_ieee(std::span<const uint8_t>(b).subspan(batch::kLogOverhead + legacy::kMagicOffset));
  store_be32(b.data() + batch::kLogOverhead, static_cast<int32_t>(crc));
  set.insert(set.end(), b.begin(), b.end());
}

ErrorCode upconvert(std::span<const uint8_t> message_set, int64_t now_ms, Bytes& out_batches,
                    size_t max_decompressed) {
  out_batches.clear();
  std::vector<LegacyMessage> outer;
  if (ErrorCode e = parse_message_set(message_set, true, outer); e != ErrorCode::NONE) return e;
  UpconvertState st;
  st.budget = max_decompressed;
  for (const LegacyMessage& m : outer) {
    if (m.codec() != 0) {
      if (ErrorCode e = expand_wrapper(m, now_ms, st); e != ErrorCode::NONE) return e;
      continue;
    }
    int64_t ts = m.timestamp;
    if (m.log_append_time()) {
      ts = now_ms;
      st.log_append_time = true;
    }
    st.records.push_back({ts, m.key, m.value});
  }
  if (st.records.empty()) return ErrorCode::NONE;
  BatchBuilder b(0);
  b.set_compression(st.codec.value_or(Compression::none));
  if (st.log_append_time) b.set_log_append_time(now_ms);
  for (const FlatRecord& r : st.records) b.add(r.timestamp, r.key, r.value);
  out_batches = b.build();
  return ErrorCode::NONE;
}

namespace {

// Down-converts one valid, non-control v2 batch, appending to `out`.
ErrorCode downconvert_batch(std::span<const uint8_t> batch, int8_t magic, size_t max_decompressed, Bytes& out) {
  RecordIterator it;
  if (ErrorCode e = it.open(batch, max_decompressed); e != ErrorCode::NONE) return ErrorCode::CORRUPT_MESSAGE;
  const BatchHeader& h = it.header();
  std::vector<RecordView> views;
  views.reserve(static_cast<size_t>(h.record_count));  // bounded by open()
  RecordView rv;
  while (it.next(rv)) views.push_back(rv);
  if (it.error() != ErrorCode::NONE) return ErrorCode::CORRUPT_MESSAGE;
  if (views.empty()) return ErrorCode::NONE;

  bool lat = magic >= 1 && h.is_log_append_time();
  int8_t ts_attr = lat ? legacy::kTimestampTypeBit : 0;
  auto codec = static_cast<Compression>(h.compression());
  if (codec == Compression::none || codec == Compression::zstd) {
    for (const RecordView& v : views) append_legacy_message(out, v.offset, magic, ts_attr, v.timestamp, v.key, v.value);
    return ErrorCode::NONE;
  }
  // One wrapper per batch. Magic 1: inner offsets relative to the first
  // record, wrapper at the last absolute offset. Magic 0: all absolute.
  Bytes inner;
  int64_t first = views.front().offset;
  for (const RecordView& v : views) {
    int64_t inner_offset = magic >= 1 ? v.offset - first : v.offset;
    append_legacy_message(inner, inner_offset, magic, 0, v.timestamp, v.key, v.value);
  }
  Bytes compressed = compress(codec, inner);
  auto wrapper_attr = static_cast<int8_t>(static_cast<int8_t>(codec) | ts_attr);
  append_legacy_message(out, views.back().offset, magic, wrapper_attr, h.max_timestamp, std::nullopt,
                        std::span<const uint8_t>(compressed));
  return ErrorCode::NONE;
}

}  // namespace

ErrorCode downconvert(std::span<const uint8_t> v2_batches, int8_t to_magic, Bytes& out, size_t max_decompressed,
                      size_t max_output) {
  out.clear();
  if (to_magic != 0 && to_magic != 1) return ErrorCode::INVALID_REQUEST;
  for (std::span<const uint8_t> b : leading_complete_batches(v2_batches)) {
    if (ErrorCode e = validate_batch(b, BatchOrigin::log); e != ErrorCode::NONE) return ErrorCode::CORRUPT_MESSAGE;
    BatchHeader h = BatchHeader::parse(b.data());
    if (h.is_control() || h.record_count == 0) continue;
    size_t before = out.size();
    if (ErrorCode e = downconvert_batch(b, to_magic, max_decompressed, out); e != ErrorCode::NONE) return e;
    if (out.size() > max_output) {
      out.resize(before);
      out.shrink_to_fit();
      return before == 0 ? ErrorCode::MESSAGE_TOO_LARGE : ErrorCode::NONE;
    }
  }
  return ErrorCode::NONE;
}

}  // namespace samsa::protocol
