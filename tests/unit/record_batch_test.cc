#include "protocol/record_batch.h"

#include <gtest/gtest.h>

#include <random>

#include "base/crc32c.h"

namespace samsa::protocol {
namespace {

constexpr Compression kBatchCodecs[] = {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                                   Compression::zstd};

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::vector<Record> sample_records() {
  std::vector<Record> rs;
  Record a;
  a.timestamp = 1700000000000;
  a.key = bytes_of("key-a");
  a.value = bytes_of("value-a");
  rs.push_back(a);
  Record b;  // null key
  b.timestamp = 1700000000005;
  b.value = bytes_of(std::string(3000, 'v'));
  rs.push_back(b);
  Record c;  // null value (tombstone), headers incl. a null header value
  c.timestamp = 1699999999990;  // earlier than the first: negative delta
  c.key = bytes_of("k");
  c.headers = {{"h1", bytes_of("x")}, {"", std::nullopt}, {"trace-id", bytes_of("")}};
  rs.push_back(c);
  Record d;  // empty key and value
  d.timestamp = 1700000000001;
  d.key = Bytes{};
  d.value = Bytes{};
  rs.push_back(d);
  return rs;
}

Bytes build(const std::vector<Record>& rs, Compression c = Compression::none, int64_t base = 0) {
  BatchBuilder b(base);
  b.set_compression(c);
  for (const auto& r : rs) b.add(r);
  return b.build();
}

TEST(RecordBatch, BuildValidateDecodeEveryCodec) {
  auto rs = sample_records();
  for (auto c : kBatchCodecs) {
    Bytes batch = build(rs, c, 1000);
    ASSERT_EQ(validate_batch(batch), ErrorCode::NONE) << compression_name(c);
    BatchHeader h = BatchHeader::parse(batch.data());
    EXPECT_EQ(h.compression(), static_cast<int>(c));
    EXPECT_EQ(h.record_count, 4);
    EXPECT_EQ(h.last_offset_delta, 3);
    EXPECT_EQ(h.base_timestamp, 1700000000000);
    EXPECT_EQ(h.max_timestamp, 1700000000005);
    EXPECT_EQ(h.producer_id, -1);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.leader_epoch, -1);
    std::vector<Record> out;
    ASSERT_EQ(decode_records(batch, kDefaultMaxDecompressed, out), ErrorCode::NONE) << compression_name(c);
    ASSERT_EQ(out.size(), rs.size());
    for (size_t i = 0; i < rs.size(); ++i) {
      Record want = rs[i];
      want.offset = 1000 + static_cast<int64_t>(i);
      EXPECT_EQ(out[i], want) << compression_name(c) << " record " << i;
    }
  }
}

TEST(RecordBatch, CompressionShrinksRepetitiveBatches) {
  std::vector<Record> rs(200);
  for (auto& r : rs) { r.timestamp = 5; r.value = bytes_of(std::string(500, 'z')); }
  size_t plain = build(rs).size();
  for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    EXPECT_LT(build(rs, c).size(), plain / 5) << compression_name(c);
  }
}

// The exact bytes of a one-record batch, assembled by hand from the spec, so
// the builder cannot agree with the decoder on a wrong layout.
TEST(RecordBatch, MatchesHandAssembledBytes) {
  Bytes want = {
      0, 0, 0, 0, 0, 0, 0, 7,         // baseOffset 7
      0, 0, 0, 0,                     // batchLength (patched below)
      0xff, 0xff, 0xff, 0xff,         // partitionLeaderEpoch -1
      2,                              // magic
      0, 0, 0, 0,                     // crc (patched below)
      0, 0,                           // attributes
      0, 0, 0, 0,                     // lastOffsetDelta 0
      0, 0, 0, 0, 0, 0, 0, 100,       // baseTimestamp 100
      0, 0, 0, 0, 0, 0, 0, 100,       // maxTimestamp 100
      0, 0, 0, 0, 0, 0, 0, 42,        // producerId 42
      0, 3,                           // producerEpoch 3
      0, 0, 0, 9,                     // baseSequence 9
      0, 0, 0, 1,                     // recordCount 1
      // record: length 12 -> zigzag 24
      24, 0 /*attributes*/, 0 /*tsDelta*/, 0 /*offsetDelta*/, 2 /*key len 1*/, 'k', 4 /*value len 2*/, 'v', 'w',
      2 /*1 header*/, 2 /*key len 1*/, 'h', 1 /*null value*/,
  };
  store_be32(want.data() + batch::kLength, static_cast<int32_t>(want.size() - 12));
  store_be32(want.data() + batch::kCrc,
             static_cast<int32_t>(crc32c(want.data() + batch::kAttributes, want.size() - batch::kAttributes)));
  BatchBuilder b(7);
  b.set_producer(42, 3, 9);
  RecordHeader h{"h", std::nullopt};
  b.add(100, std::span<const uint8_t>(bytes_of("k")), std::span<const uint8_t>(bytes_of("vw")), {&h, 1});
  EXPECT_EQ(b.build(), want);
}

TEST(RecordBatch, CrcCorruptionDetectedAnywhereInCrcRange) {
  Bytes batch = build(sample_records(), Compression::none, 0);
  for (size_t pos : {size_t{21}, size_t{22}, size_t{23}, size_t{30}, size_t{45}, size_t{57}, size_t{61}, size_t{70},
                     batch.size() / 2, batch.size() - 1}) {
    Bytes bad = batch;
    bad[pos] ^= 0x01;
    EXPECT_EQ(validate_batch(bad), ErrorCode::CORRUPT_MESSAGE) << "byte " << pos;
  }
  // The CRC field itself.
  Bytes bad = batch;
  bad[batch::kCrc + 2] ^= 0x80;
  EXPECT_EQ(validate_batch(bad), ErrorCode::CORRUPT_MESSAGE);
  // baseOffset and leader epoch are outside the CRC: still valid.
  Bytes moved = batch;
  set_base_offset(moved, 123456789);
  set_leader_epoch(moved, 17);
  EXPECT_EQ(validate_batch(moved), ErrorCode::NONE);
  // batchLength out of line with the span.
  Bytes len = batch;
  store_be32(len.data() + batch::kLength, static_cast<int32_t>(batch.size() - 11));
  EXPECT_EQ(validate_batch(len), ErrorCode::CORRUPT_MESSAGE);
}

TEST(RecordBatch, TruncatedBatchesRejected) {
  for (auto c : {Compression::none, Compression::lz4}) {
    Bytes batch = build(sample_records(), c);
    for (size_t n = 0; n < batch.size(); ++n) {
      std::span<const uint8_t> cut(batch.data(), n);
      EXPECT_NE(validate_batch(cut), ErrorCode::NONE) << n;
      std::vector<Record> out;
      EXPECT_NE(decode_records(cut, kDefaultMaxDecompressed, out), ErrorCode::NONE) << n;
      EXPECT_TRUE(out.empty());
      if (n > 0) {
        EXPECT_FALSE(split_batches(cut)) << n;
      }
      EXPECT_TRUE(leading_complete_batches(cut).empty()) << n;
    }
  }
}

TEST(RecordBatch, MagicChecks) {
  Bytes batch = build(sample_records());
  Bytes v1 = batch;
  v1[batch::kMagic] = 1;
  EXPECT_EQ(validate_batch(v1), ErrorCode::INVALID_RECORD);
  v1[batch::kMagic] = 0;
  EXPECT_EQ(validate_batch(v1), ErrorCode::INVALID_RECORD);
  v1[batch::kMagic] = 3;
  EXPECT_EQ(validate_batch(v1), ErrorCode::CORRUPT_MESSAGE);
}

// Patches a header field and fixes the CRC, so only the rule under test fails.
Bytes patched(Bytes b, size_t at, int32_t v, int width = 4) {
  if (width == 4) store_be32(b.data() + at, v);
  else store_be16(b.data() + at, static_cast<int16_t>(v));
  update_crc(b);
  return b;
}

TEST(RecordBatch, ClientCountAndFlagRules) {
  Bytes batch = build(sample_records());  // 4 records
  EXPECT_EQ(validate_batch(patched(batch, batch::kLastOffsetDelta, 2)), ErrorCode::INVALID_RECORD);
  EXPECT_EQ(validate_batch(patched(batch, batch::kLastOffsetDelta, -1)), ErrorCode::INVALID_RECORD);
  EXPECT_EQ(validate_batch(patched(batch, batch::kRecordCount, 3)), ErrorCode::INVALID_RECORD);
  EXPECT_EQ(validate_batch(patched(batch, batch::kRecordCount, -5)), ErrorCode::INVALID_RECORD);
  EXPECT_EQ(validate_batch(patched(batch, batch::kAttributes, batch::kControlBit, 2)), ErrorCode::INVALID_RECORD);
  EXPECT_EQ(validate_batch(patched(batch, batch::kAttributes, 5, 2)), ErrorCode::CORRUPT_MESSAGE);  // codec 5
  // A producer id needs a base sequence.
  Bytes pid = batch;
  store_be64(pid.data() + batch::kProducerId, 77);
  update_crc(pid);
  EXPECT_EQ(validate_batch(pid), ErrorCode::INVALID_RECORD);
  EXPECT_EQ(validate_batch(patched(pid, batch::kBaseSequence, 0)), ErrorCode::NONE);
  // An absurd count in an uncompressed batch fails the cheap size check.
  Bytes many = patched(patched(batch, batch::kRecordCount, 1 << 30), batch::kLastOffsetDelta, (1 << 30) - 1);
  EXPECT_EQ(validate_batch(many), ErrorCode::INVALID_RECORD);
  EXPECT_EQ(validate_batch(many, BatchOrigin::log), ErrorCode::CORRUPT_MESSAGE);
}

TEST(RecordBatch, CompactedBatchValidForLogNotClient) {
  BatchBuilder b(100);
  auto rs = sample_records();
  rs[0].offset = 101;
  rs[1].offset = 105;
  b.add_with_offset(rs[0]);
  b.add_with_offset(rs[1]);
  b.set_last_offset_delta(9);  // the batch still covers 100..109
  Bytes batch = b.build();
  EXPECT_EQ(validate_batch(batch, BatchOrigin::log), ErrorCode::NONE);
  EXPECT_EQ(validate_batch(batch, BatchOrigin::client), ErrorCode::INVALID_RECORD);
  std::vector<Record> out;
  ASSERT_EQ(decode_records(batch, kDefaultMaxDecompressed, out), ErrorCode::NONE);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].offset, 101);
  EXPECT_EQ(out[1].offset, 105);
  EXPECT_EQ(BatchHeader::parse(batch.data()).last_offset(), 109);
  // An empty batch left behind by compaction.
  BatchBuilder e(200);
  e.set_last_offset_delta(4);
  Bytes empty = e.build();
  EXPECT_EQ(validate_batch(empty, BatchOrigin::log), ErrorCode::NONE);
  EXPECT_EQ(validate_batch(empty, BatchOrigin::client), ErrorCode::INVALID_RECORD);
  out.clear();
  EXPECT_EQ(decode_records(empty, kDefaultMaxDecompressed, out), ErrorCode::NONE);
  EXPECT_TRUE(out.empty());
}

TEST(RecordBatch, DeclaredCountMustMatchRecords) {
  Bytes batch = build(sample_records());  // 4 records
  std::vector<Record> out;
  Bytes fewer = patched(patched(batch, batch::kRecordCount, 3), batch::kLastOffsetDelta, 2);
  EXPECT_EQ(validate_batch(fewer), ErrorCode::NONE);  // header alone is consistent
  EXPECT_EQ(decode_records(fewer, kDefaultMaxDecompressed, out), ErrorCode::INVALID_RECORD);
  Bytes more = patched(patched(batch, batch::kRecordCount, 5), batch::kLastOffsetDelta, 4);
  EXPECT_EQ(decode_records(more, kDefaultMaxDecompressed, out), ErrorCode::INVALID_RECORD);
  EXPECT_TRUE(out.empty());
  // A record whose length claims more than its fields: first record length +1.
  Bytes longer = batch;
  longer[batch::kHeaderSize] += 2;  // zigzag: +1
  update_crc(longer);
  EXPECT_EQ(decode_records(longer, kDefaultMaxDecompressed, out), ErrorCode::INVALID_RECORD);
}

TEST(RecordBatch, DecompressionBoundApplies) {
  std::vector<Record> rs(1);
  rs[0].value = Bytes(8u << 20, 0);
  for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    Bytes batch = build(rs, c);
    ASSERT_LT(batch.size(), 1u << 20);
    std::vector<Record> out;
    EXPECT_EQ(decode_records(batch, 1 << 20, out), ErrorCode::CORRUPT_MESSAGE) << compression_name(c);
    EXPECT_EQ(decode_records(batch, 9 << 20, out), ErrorCode::NONE) << compression_name(c);
  }
}

TEST(RecordBatch, SplitBatches) {
  Bytes a = build(sample_records(), Compression::none, 0);
  Bytes b = build(sample_records(), Compression::zstd, 4);
  Bytes blob = a;
  blob.insert(blob.end(), b.begin(), b.end());
  blob.insert(blob.end(), a.begin(), a.end());
  auto parts = split_batches(blob);
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[1].size(), b.size());
  for (auto p : *parts) EXPECT_EQ(validate_batch(p), ErrorCode::NONE);
  EXPECT_TRUE(split_batches({}) && split_batches({})->empty());
  Bytes trailing = blob;
  trailing.push_back(0);
  EXPECT_FALSE(split_batches(trailing));
  EXPECT_EQ(leading_complete_batches(trailing).size(), 3u);
  Bytes cut(blob.begin(), blob.end() - 10);
  EXPECT_FALSE(split_batches(cut));
  EXPECT_EQ(leading_complete_batches(cut).size(), 2u);
  Bytes negative = a;
  store_be32(negative.data() + batch::kLength, -1);
  EXPECT_FALSE(split_batches(negative));
  EXPECT_TRUE(leading_complete_batches(negative).empty());
}

TEST(RecordBatch, LogAppendTimePatch) {
  for (auto c : {Compression::none, Compression::snappy}) {
    Bytes batch = build(sample_records(), c, 50);
    set_log_append_time(batch, 1800000000000);
    EXPECT_EQ(validate_batch(batch), ErrorCode::NONE);
    BatchHeader h = BatchHeader::parse(batch.data());
    EXPECT_TRUE(h.is_log_append_time());
    EXPECT_EQ(h.compression(), static_cast<int>(c));
    EXPECT_EQ(h.max_timestamp, 1800000000000);
    std::vector<Record> out;
    ASSERT_EQ(decode_records(batch, kDefaultMaxDecompressed, out), ErrorCode::NONE);
    for (auto& r : out) EXPECT_EQ(r.timestamp, 1800000000000);
    set_base_offset(batch, 9000);
    out.clear();
    ASSERT_EQ(decode_records(batch, kDefaultMaxDecompressed, out), ErrorCode::NONE);
    EXPECT_EQ(out.front().offset, 9000);
    EXPECT_EQ(out.back().offset, 9003);
  }
}

TEST(RecordBatch, EndTxnMarkers) {
  for (auto type : {ControlType::abort, ControlType::commit}) {
    Bytes batch = build_end_txn_marker({type, 12}, 4242, 7, 1700000000000, 55, 3);
    EXPECT_EQ(validate_batch(batch, BatchOrigin::log), ErrorCode::NONE);
    EXPECT_EQ(validate_batch(batch, BatchOrigin::client), ErrorCode::INVALID_RECORD);
    BatchHeader h = BatchHeader::parse(batch.data());
    EXPECT_TRUE(h.is_control());
    EXPECT_TRUE(h.is_transactional());
    EXPECT_EQ(h.producer_id, 4242);
    EXPECT_EQ(h.producer_epoch, 7);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.leader_epoch, 3);
    EXPECT_EQ(h.base_offset, 55);
    RecordIterator it;
    ASSERT_EQ(it.open(batch), ErrorCode::NONE);
    RecordView rv;
    ASSERT_TRUE(it.next(rv));
    EXPECT_EQ(rv.key->size(), 4u);
    EXPECT_EQ(rv.value->size(), 6u);
    EXPECT_EQ(control_record_type(rv.key), static_cast<int16_t>(type));
    auto m = parse_end_txn_marker(rv.key, rv.value);
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, (EndTxnMarker{type, 12}));
    EXPECT_FALSE(it.next(rv));
    EXPECT_EQ(it.error(), ErrorCode::NONE);
  }
  EXPECT_FALSE(parse_end_txn_marker(std::nullopt, std::nullopt));
}

TEST(RecordBatch, IteratorGivesBorrowedViewsAndHeaders) {
  Bytes batch = build(sample_records());
  RecordIterator it;
  ASSERT_EQ(it.open(batch), ErrorCode::NONE);
  RecordView rv;
  int n = 0;
  while (it.next(rv)) {
    if (n == 2) {
      EXPECT_FALSE(rv.value);
      auto hs = decode_headers(rv);
      ASSERT_EQ(hs.size(), 3u);
      EXPECT_EQ(hs[0].key, "h1");
      EXPECT_EQ(hs[1].key, "");
      EXPECT_FALSE(hs[1].value);
      EXPECT_TRUE(hs[2].value && hs[2].value->empty());
    }
    if (n == 0) {
      EXPECT_GE(rv.key->data(), batch.data());  // points into the batch: no copy
      EXPECT_LT(rv.key->data(), batch.data() + batch.size());
    }
    ++n;
  }
  EXPECT_EQ(n, 4);
  EXPECT_EQ(it.error(), ErrorCode::NONE);
}

// Garbage and mutated batches (with the CRC fixed up, so the record decoder is
// reached) must never crash and never decode more than they hold.
TEST(RecordBatch, FuzzNeverCrashes) {
  std::mt19937 rng(20240601);
  std::vector<Bytes> seeds;
  for (auto c : kBatchCodecs) seeds.push_back(build(sample_records(), c, 3));
  size_t decoded_ok = 0;
  for (int iter = 0; iter < 6000; ++iter) {
    Bytes b;
    if (iter % 4 == 0) {
      b.resize(rng() % 200);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      if (b.size() > batch::kMagic && rng() % 2) b[batch::kMagic] = 2;
      if (b.size() >= 12 && rng() % 2) store_be32(b.data() + batch::kLength, static_cast<int32_t>(b.size() - 12));
    } else {
      b = seeds[rng() % seeds.size()];
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        size_t at = batch::kAttributes + rng() % (b.size() - batch::kAttributes);
        b[at] = static_cast<uint8_t>(rng());
      }
      if (rng() % 3 == 0) b.resize(b.size() - rng() % b.size());
      if (b.size() >= batch::kHeaderSize) {
        if (rng() % 2) store_be32(b.data() + batch::kLength, static_cast<int32_t>(b.size() - 12));
        update_crc(b);
      }
    }
    (void)validate_batch(b);
    (void)validate_batch(b, BatchOrigin::log);
    (void)split_batches(b);
    (void)leading_complete_batches(b);
    std::vector<Record> out;
    if (decode_records(b, 1 << 20, out) == ErrorCode::NONE) {
      ++decoded_ok;
      size_t total = 0;
      for (auto& r : out) total += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
      EXPECT_LE(total, size_t{1} << 20);
    } else {
      EXPECT_TRUE(out.empty());
    }
  }
  EXPECT_GT(decoded_ok, 0u);  // some mutations (e.g. in values) stay decodable
}

}  // namespace
}  // namespace samsa::protocol
