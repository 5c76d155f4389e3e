#include "protocol/legacy.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

namespace samsa::protocol {
namespace {

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }
std::optional<std::span<const uint8_t>> span_of(const std::optional<Bytes>& b) {
  if (!b) return std::nullopt;
  return std::span<const uint8_t>(*b);
}

// ---- an independent legacy reader (deep iteration per KIP-31), test-only ----------

struct Msg {
  int64_t offset = 0;
  int64_t timestamp = -1;
  int8_t attributes = 0;
  std::optional<Bytes> key, value;
};

std::optional<Bytes> read_field(const uint8_t*& p) {
  int32_t n = load_be32(p);
  p += 4;
  if (n < 0) return std::nullopt;
  Bytes b(p, p + n);
  p += n;
  return b;
}

// Shallow entries of an exact set; crc checked.
std::vector<Msg> shallow(std::span<const uint8_t> set, int8_t magic) {
  std::vector<Msg> out;
  size_t pos = 0;
  while (pos < set.size()) {
    EXPECT_GE(set.size() - pos, 12u);
    Msg m;
    m.offset = load_be64(set.data() + pos);
    int32_t size = load_be32(set.data() + pos + 8);
    const uint8_t* p = set.data() + pos + 12;
    uint32_t crc = static_cast<uint32_t>(load_be32(p));
    EXPECT_EQ(crc, static_cast<uint32_t>(crc32(0, p + 4, static_cast<uInt>(size - 4))));
    EXPECT_EQ(p[4], magic);
    m.attributes = static_cast<int8_t>(p[5]);
    p += 6;
    if (magic == 1) { m.timestamp = load_be64(p); p += 8; }
    m.key = read_field(p);
    m.value = read_field(p);
    EXPECT_EQ(p, set.data() + pos + 12 + size);
    pos += 12 + static_cast<size_t>(size);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Msg> deep(std::span<const uint8_t> set, int8_t magic) {
  std::vector<Msg> out;
  for (Msg& w : shallow(set, magic)) {
    int codec = w.attributes & 7;
    if (codec == 0) { out.push_back(std::move(w)); continue; }
    Bytes inner_bytes;
    EXPECT_TRUE(decompress(static_cast<Compression>(codec), *w.value, 1 << 26, inner_bytes));
    auto inner = shallow(inner_bytes, magic);
    int64_t last_rel = inner.empty() ? 0 : inner.back().offset;
    for (Msg& m : inner) {
      if (magic == 1) {
        m.offset = w.offset - last_rel + m.offset;
        if (w.attributes & 8) m.timestamp = w.timestamp;
      }
      out.push_back(std::move(m));
    }
  }
  return out;
}

// ---- fixtures --------------------------------------------------------------------

std::vector<Record> sample_records(int64_t base_offset = 0) {
  std::vector<Record> rs(5);
  for (size_t i = 0; i < rs.size(); ++i) {
    rs[i].offset = base_offset + static_cast<int64_t>(i);
    rs[i].timestamp = 1600000000000 + static_cast<int64_t>(i) * 7;
    if (i != 1) rs[i].key = bytes_of("key" + std::to_string(i));
    if (i != 3) rs[i].value = bytes_of(std::string(100 + i * 50, static_cast<char>('a' + i)));
  }
  return rs;
}

// A legacy set of `rs`, optionally wrapped in one compressed message.
Bytes legacy_set(const std::vector<Record>& rs, int8_t magic, Compression c) {
  Bytes plain;
  for (size_t i = 0; i < rs.size(); ++i) {
    int64_t off = (c != Compression::none && magic == 1) ? static_cast<int64_t>(i) : rs[i].offset;
    append_legacy_message(plain, off, magic, 0, rs[i].timestamp, span_of(rs[i].key), span_of(rs[i].value));
  }
  if (c == Compression::none) return plain;
  Bytes z = compress(c, plain), set;
  append_legacy_message(set, rs.back().offset, magic, static_cast<int8_t>(c), rs.back().timestamp, std::nullopt,
                        std::span<const uint8_t>(z));
  return set;
}

std::vector<Record> decode_all(std::span<const uint8_t> batches) {
  std::vector<Record> out;
  auto parts = split_batches(batches);
  EXPECT_TRUE(parts);
  if (!parts) return out;
  for (auto b : *parts) {
    EXPECT_EQ(validate_batch(b, BatchOrigin::log), ErrorCode::NONE);
    EXPECT_EQ(decode_records(b, kDefaultMaxDecompressed, out), ErrorCode::NONE);
  }
  return out;
}

// ---- tests -----------------------------------------------------------------------

TEST(Legacy, MessageLayoutMatchesHandAssembledBytes) {
  Bytes got;
  append_legacy_message(got, 5, 1, 0, 1000, std::span<const uint8_t>(bytes_of("k")), std::nullopt);
  Bytes want = {0, 0, 0, 0, 0, 0, 0, 5,  // offset
                0, 0, 0, 23,             // message size
                0, 0, 0, 0,              // crc (below)
                1, 0,                    // magic, attributes
                0, 0, 0, 0, 0, 0, 0x03, 0xe8,  // timestamp 1000
                0, 0, 0, 1, 'k',               // key
                0xff, 0xff, 0xff, 0xff};       // null value
  store_be32(want.data() + 12, static_cast<int32_t>(crc32(0, want.data() + 16, static_cast<uInt>(want.size() - 16))));
  EXPECT_EQ(got, want);
  Bytes v0;
  append_legacy_message(v0, 0, 0, 0, 1000, std::nullopt, std::span<const uint8_t>(bytes_of("ab")));
  EXPECT_EQ(v0.size(), 12u + 14 + 2);
}

TEST(Legacy, UpconvertUncompressedMagic0And1) {
  auto rs = sample_records(40);  // client offsets are ignored
  for (int8_t magic : {0, 1}) {
    Bytes batch;
    ASSERT_EQ(upconvert(legacy_set(rs, magic, Compression::none), 123, batch), ErrorCode::NONE);
    ASSERT_EQ(validate_batch(batch), ErrorCode::NONE);  // a valid client batch
    BatchHeader h = BatchHeader::parse(batch.data());
    EXPECT_EQ(h.compression(), 0);
    EXPECT_EQ(h.base_offset, 0);
    EXPECT_FALSE(h.is_log_append_time());
    auto out = decode_all(batch);
    ASSERT_EQ(out.size(), rs.size());
    for (size_t i = 0; i < rs.size(); ++i) {
      EXPECT_EQ(out[i].offset, static_cast<int64_t>(i));
      EXPECT_EQ(out[i].key, rs[i].key);
      EXPECT_EQ(out[i].value, rs[i].value);
      EXPECT_EQ(out[i].timestamp, magic == 0 ? kNoTimestamp : rs[i].timestamp) << int(magic);
    }
  }
}

TEST(Legacy, UpconvertCompressedWrappers) {
  auto rs = sample_records(1000);
  for (int8_t magic : {0, 1}) {
    for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4}) {
      Bytes batch;
      ASSERT_EQ(upconvert(legacy_set(rs, magic, c), 5, batch), ErrorCode::NONE) << compression_name(c);
      ASSERT_EQ(validate_batch(batch), ErrorCode::NONE);
      EXPECT_EQ(BatchHeader::parse(batch.data()).compression(), static_cast<int>(c));
      auto out = decode_all(batch);
      ASSERT_EQ(out.size(), rs.size());
      for (size_t i = 0; i < rs.size(); ++i) {
        EXPECT_EQ(out[i].key, rs[i].key);
        EXPECT_EQ(out[i].value, rs[i].value);
        EXPECT_EQ(out[i].timestamp, magic == 0 ? kNoTimestamp : rs[i].timestamp);
      }
    }
  }
}

TEST(Legacy, UpconvertMixedSetTakesFirstWrapperCodec) {
  auto rs = sample_records();
  Bytes set = legacy_set({rs[0]}, 1, Compression::none);
  Bytes w1 = legacy_set({rs[1], rs[2]}, 1, Compression::snappy);
  Bytes w2 = legacy_set({rs[3], rs[4]}, 1, Compression::gzip);
  set.insert(set.end(), w1.begin(), w1.end());
  set.insert(set.end(), w2.begin(), w2.end());
  Bytes batch;
  ASSERT_EQ(upconvert(set, 0, batch), ErrorCode::NONE);
  EXPECT_EQ(BatchHeader::parse(batch.data()).compression(), static_cast<int>(Compression::snappy));
  auto out = decode_all(batch);
  ASSERT_EQ(out.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(out[i].value, rs[i].value);
}

TEST(Legacy, Lz4HeaderChecksumFixup) {
  Bytes frame = compress(Compression::lz4, bytes_of(std::string(1000, 'q')));
  Bytes fixed = frame;
  fix_lz4_header_checksum(fixed);
  EXPECT_EQ(fixed, frame);  // liblz4 writes the correct checksum: our xxh32 agrees
  // A magic 0 wrapper with a wrong header checksum (as pre-KIP-57 clients wrote) still reads.
  auto rs = sample_records();
  Bytes plain = legacy_set(rs, 0, Compression::none);
  Bytes z = compress(Compression::lz4, plain);
  z[6] ^= 0xff;  // HC byte: FLG, BD, then HC
  Bytes bad;
  EXPECT_FALSE(decompress(Compression::lz4, z, 1 << 20, bad));
  Bytes set;
  append_legacy_message(set, 4, 0, static_cast<int8_t>(Compression::lz4), 0, std::nullopt, std::span<const uint8_t>(z));
  Bytes batch;
  ASSERT_EQ(upconvert(set, 0, batch), ErrorCode::NONE);
  EXPECT_EQ(decode_all(batch).size(), rs.size());
}

TEST(Legacy, UpconvertRejectsBadInput) {
  auto rs = sample_records();
  Bytes batch;
  // Message CRC.
  Bytes set = legacy_set(rs, 1, Compression::none);
  set[40] ^= 1;
  EXPECT_EQ(upconvert(set, 0, batch), ErrorCode::CORRUPT_MESSAGE);
  // Inner message CRC (compress a corrupted inner set, wrapper CRC valid).
  Bytes inner = legacy_set(rs, 1, Compression::none);
  inner[30] ^= 1;
  Bytes z = compress(Compression::gzip, inner), wrapped;
  append_legacy_message(wrapped, 4, 1, 1, 0, std::nullopt, std::span<const uint8_t>(z));
  EXPECT_EQ(upconvert(wrapped, 0, batch), ErrorCode::CORRUPT_MESSAGE);
  // zstd cannot travel in legacy formats.
  Bytes zs = compress(Compression::zstd, legacy_set(rs, 1, Compression::none)), zw;
  append_legacy_message(zw, 4, 1, 4, 0, std::nullopt, std::span<const uint8_t>(zs));
  EXPECT_EQ(upconvert(zw, 0, batch), ErrorCode::UNSUPPORTED_COMPRESSION_TYPE);
  // Nested compression.
  Bytes nested_inner = legacy_set(rs, 1, Compression::gzip);
  Bytes nz = compress(Compression::gzip, nested_inner), nested;
  append_legacy_message(nested, 0, 1, 1, 0, std::nullopt, std::span<const uint8_t>(nz));
  EXPECT_EQ(upconvert(nested, 0, batch), ErrorCode::CORRUPT_MESSAGE);
  // Inner magic differs from the wrapper's.
  Bytes m0 = compress(Compression::gzip, legacy_set(rs, 0, Compression::none)), mixed;
  append_legacy_message(mixed, 0, 1, 1, 0, std::nullopt, std::span<const uint8_t>(m0));
  EXPECT_EQ(upconvert(mixed, 0, batch), ErrorCode::CORRUPT_MESSAGE);
  // Compressed wrapper with a null value.
  Bytes nullw;
  append_legacy_message(nullw, 0, 1, 2, 0, std::nullopt, std::nullopt);
  EXPECT_EQ(upconvert(nullw, 0, batch), ErrorCode::CORRUPT_MESSAGE);
  // Decompression bound.
  std::vector<Record> big(1);
  big[0].value = Bytes(4 << 20, 0);
  EXPECT_EQ(upconvert(legacy_set(big, 1, Compression::lz4), 0, batch, 1 << 20), ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(upconvert(legacy_set(big, 1, Compression::lz4), 0, batch, 8 << 20), ErrorCode::NONE);
  // Magic 2 inside a legacy set.
  Bytes v2 = legacy_set(rs, 1, Compression::none);
  v2[16] = 2;
  EXPECT_EQ(upconvert(v2, 0, batch), ErrorCode::CORRUPT_MESSAGE);
}

TEST(Legacy, UpconvertIgnoresPartialTailAndEmptySet) {
  auto rs = sample_records();
  Bytes set = legacy_set(rs, 0, Compression::none);
  Bytes cut(set.begin(), set.end() - 5);
  Bytes batch;
  ASSERT_EQ(upconvert(cut, 0, batch), ErrorCode::NONE);
  EXPECT_EQ(decode_all(batch).size(), rs.size() - 1);
  ASSERT_EQ(upconvert({}, 0, batch), ErrorCode::NONE);
  EXPECT_TRUE(batch.empty());
}

TEST(Legacy, UpconvertLogAppendTimeClaimUsesNow) {
  Bytes set;
  append_legacy_message(set, 0, 1, legacy::kTimestampTypeBit, 5, std::nullopt,
                        std::span<const uint8_t>(bytes_of("v")));
  Bytes batch;
  ASSERT_EQ(upconvert(set, 777, batch), ErrorCode::NONE);
  BatchHeader h = BatchHeader::parse(batch.data());
  EXPECT_TRUE(h.is_log_append_time());
  EXPECT_EQ(h.max_timestamp, 777);
  EXPECT_EQ(decode_all(batch).at(0).timestamp, 777);
}

// v2 batches with every codec, a control batch and a truncated tail.
Bytes v2_log(const std::vector<Record>& rs, bool log_append_time = false) {
  Bytes log;
  int64_t next = 100;
  for (auto c : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    BatchBuilder b(next);
    b.set_compression(c);
    if (log_append_time) b.set_log_append_time(1700000000000);
    for (const auto& r : rs) b.add(r);
    Bytes batch = b.build();
    log.insert(log.end(), batch.begin(), batch.end());
    next += static_cast<int64_t>(rs.size());
    Bytes marker = build_end_txn_marker({ControlType::commit, 1}, 9, 0, 5, next);
    log.insert(log.end(), marker.begin(), marker.end());
    next += 1;
  }
  return log;
}

TEST(Legacy, DownconvertAbsoluteOffsetsEveryCodec) {
  auto rs = sample_records();
  rs[2].headers = {{"h", bytes_of("dropped")}};
  Bytes log = v2_log(rs);
  Bytes batch_tail = BatchBuilder(9999).build();
  log.insert(log.end(), batch_tail.begin(), batch_tail.end() - 3);  // truncated trailing batch
  for (int8_t magic : {0, 1}) {
    Bytes set;
    ASSERT_EQ(downconvert(log, magic, set), ErrorCode::NONE);
    auto shallow_msgs = shallow(set, magic);
    // none and zstd: 5 plain messages each; gzip/snappy/lz4: one wrapper each.
    EXPECT_EQ(shallow_msgs.size(), 5u + 1 + 1 + 1 + 5);
    auto msgs = deep(set, magic);
    ASSERT_EQ(msgs.size(), 25u);
    for (size_t b = 0; b < 5; ++b) {
      for (size_t i = 0; i < 5; ++i) {
        const Msg& m = msgs[b * 5 + i];
        EXPECT_EQ(m.offset, 100 + static_cast<int64_t>(b * 6 + i)) << int(magic) << " batch " << b;
        EXPECT_EQ(m.key, rs[i].key);
        EXPECT_EQ(m.value, rs[i].value);
        if (magic == 1) {
          EXPECT_EQ(m.timestamp, rs[i].timestamp);
        }
      }
    }
  }
}

TEST(Legacy, DownconvertLogAppendTime) {
  Bytes set;
  ASSERT_EQ(downconvert(v2_log(sample_records(), true), 1, set), ErrorCode::NONE);
  for (const Msg& m : shallow(set, 1)) EXPECT_TRUE(m.attributes & legacy::kTimestampTypeBit);
  for (const Msg& m : deep(set, 1)) EXPECT_EQ(m.timestamp, 1700000000000);
}

TEST(Legacy, RoundTripV2ToLegacyAndBack) {
  auto rs = sample_records();
  for (int8_t magic : {0, 1}) {
    for (auto c : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4}) {
      BatchBuilder b(0);
      b.set_compression(c);
      for (const auto& r : rs) b.add(r);
      Bytes legacy_bytes, back;
      ASSERT_EQ(downconvert(b.build(), magic, legacy_bytes), ErrorCode::NONE);
      ASSERT_EQ(upconvert(legacy_bytes, 0, back), ErrorCode::NONE);
      EXPECT_EQ(BatchHeader::parse(back.data()).compression(), static_cast<int>(c));
      auto out = decode_all(back);
      ASSERT_EQ(out.size(), rs.size());
      for (size_t i = 0; i < rs.size(); ++i) {
        Record want = rs[i];
        if (magic == 0) want.timestamp = kNoTimestamp;
        EXPECT_EQ(out[i], want) << int(magic) << " " << compression_name(c) << " " << i;
      }
    }
  }
}

TEST(Legacy, DownconvertErrors) {
  Bytes out;
  EXPECT_EQ(downconvert({}, 2, out), ErrorCode::INVALID_REQUEST);
  Bytes log = v2_log(sample_records());
  log[70] ^= 1;  // inside the first batch's records
  EXPECT_EQ(downconvert(log, 1, out), ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(downconvert({}, 0, out), ErrorCode::NONE);
  EXPECT_TRUE(out.empty());
}

TEST(Legacy, FuzzNeverCrashes) {
  std::mt19937 rng(777);
  auto rs = sample_records();
  std::vector<Bytes> legacy_seeds, v2_seeds;
  for (int8_t magic : {0, 1}) {
    for (auto c : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4}) {
      legacy_seeds.push_back(legacy_set(rs, magic, c));
    }
  }
  v2_seeds.push_back(v2_log(rs));
  for (int iter = 0; iter < 4000; ++iter) {
    Bytes in;
    int kind = iter % 3;
    if (kind == 0) {
      in.resize(rng() % 300);
      for (auto& x : in) x = static_cast<uint8_t>(rng());
    } else {
      in = kind == 1 ? legacy_seeds[rng() % legacy_seeds.size()] : v2_seeds[0];
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) in[rng() % in.size()] = static_cast<uint8_t>(rng());
      if (rng() % 3 == 0) in.resize(rng() % in.size());
      // Re-seal the first entry's checksum so parsing goes past it.
      if (kind == 1 && in.size() >= 26 && rng() % 2) {
        int32_t size = load_be32(in.data() + 8);
        if (size >= 14 && static_cast<size_t>(size) + 12 <= in.size()) {
          store_be32(in.data() + 12, static_cast<int32_t>(crc32(0, in.data() + 16, static_cast<uInt>(size - 4))));
        }
      }
      if (kind == 2 && rng() % 2) {
        auto parts = leading_complete_batches(in);
        for (auto p : parts) update_crc(std::span<uint8_t>(const_cast<uint8_t*>(p.data()), p.size()));
      }
    }
    Bytes out;
    if (upconvert(in, 1, out, 1 << 20) == ErrorCode::NONE && !out.empty()) {
      EXPECT_EQ(validate_batch(out), ErrorCode::NONE);
    }
    for (int8_t magic : {0, 1}) (void)downconvert(in, magic, out, 1 << 20);
  }
}

}  // namespace
}  // namespace samsa::protocol
