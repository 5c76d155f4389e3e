// Record validation on produce (validate_records), the bounded down-conversion,
// the worker pool and the response budget (issue 18, finding 3 and 4).
#include <gtest/gtest.h>

#include <algorithm>
#include <asio.hpp>
#include <thread>

#include "protocol/batch_header.h"
#include "protocol/legacy.h"
#include "protocol/record_batch.h"
#include "server/response_budget.h"
#include "server/worker_pool.h"

namespace samsa::protocol {
namespace {

constexpr Compression kValidationCodecs[] = {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                                   Compression::zstd};

// The body of one record as the builder writes it, before its length prefix.
struct RawRecord {
  int32_t offset_delta = 0;
  int32_t key_len = 1;  // -1: null; bytes 'k' follow otherwise
  int32_t value_len = 1;
  int32_t header_count = 0;
};

Bytes encode(const RawRecord& r) {
  Writer w;
  w.i8(0);
  w.varlong(0);
  w.varint(r.offset_delta);
  w.varint(r.key_len);
  for (int i = 0; i < r.key_len; ++i) w.i8('k');
  w.varint(r.value_len);
  for (int i = 0; i < r.value_len; ++i) w.i8('v');
  w.varint(r.header_count);
  return w.buffer();
}

// Length prefix + body.
Bytes framed(const Bytes& body) {
  Writer w;
  w.varint(static_cast<int32_t>(body.size()));
  w.raw(body);
  return w.buffer();
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes batch_around(const Bytes& payload, int32_t count, Compression c = Compression::none) {
  return wrap_encoded_records(payload, count, c, 1700000000000);
}

// Checks that the batch passes the header/CRC check (what was stored before)
// and that validate_records refuses it with `want`, for every codec.
void expect_refused(const Bytes& payload, int32_t count, ErrorCode want, const char* what) {
  for (auto c : kValidationCodecs) {
    Bytes b = batch_around(payload, count, c);
    ASSERT_EQ(validate_batch(b), ErrorCode::NONE) << what << " " << compression_name(c);
    EXPECT_EQ(validate_records(b, kDefaultMaxDecompressed), want) << what << " " << compression_name(c);
  }
}

TEST(RecordValidation, WellFormedBatchesPassEveryCodec) {
  for (auto c : kValidationCodecs) {
    BatchBuilder b(0);
    b.set_compression(c);
    std::vector<RecordHeader> hs = {{"h", Bytes{1, 2}}, {"n", std::nullopt}};
    Bytes v(100, 'x');
    b.add(1, std::nullopt, std::span<const uint8_t>(v), hs);
    b.add(2, std::span<const uint8_t>(v), std::nullopt);
    Bytes batch = b.build();
    EXPECT_EQ(validate_records(batch, kDefaultMaxDecompressed), ErrorCode::NONE) << compression_name(c);
  }
  Bytes ok = concat({framed(encode({0})), framed(encode({1}))});
  for (auto c : kValidationCodecs) EXPECT_EQ(validate_records(batch_around(ok, 2, c), kDefaultMaxDecompressed), ErrorCode::NONE);
}

TEST(RecordValidation, VarintOverflow) {
  // Record length: six continuation bytes.
  expect_refused(Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0, 0, 0}, 1, ErrorCode::INVALID_RECORD,
                 "record length varint");
  // Timestamp delta: eleven bytes of varlong inside a record of the right length.
  Bytes body{0};
  for (int i = 0; i < 10; ++i) body.push_back(0xff);
  body.push_back(0x01);
  body.insert(body.end(), {0, 0, 0, 0});  // offset delta, key and value lengths, header count
  expect_refused(framed(body), 1, ErrorCode::INVALID_RECORD, "timestamp delta varlong");
  // Offset delta: fifth byte with high bits set.
  Bytes body2{0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 1, 0};
  expect_refused(framed(body2), 1, ErrorCode::INVALID_RECORD, "offset delta varint");
}

TEST(RecordValidation, NegativeAndOversizedLengths) {
  expect_refused(framed(encode({0, -2})), 1, ErrorCode::INVALID_RECORD, "key length -2");
  // The value length claims more bytes than the record has.
  Bytes body = encode({0, 1, 0});
  body.pop_back();  // header count
  body.pop_back();  // value length 0
  Writer w;
  w.varint(1000);
  body.insert(body.end(), w.buffer().begin(), w.buffer().end());
  body.push_back(0);
  expect_refused(framed(body), 1, ErrorCode::INVALID_RECORD, "value length beyond the record");
  // Record length beyond the batch, negative record length.
  Bytes big = encode({0});
  Writer lw;
  lw.varint(static_cast<int32_t>(big.size()) + 50);
  expect_refused(concat({lw.buffer(), big}), 1, ErrorCode::INVALID_RECORD, "record length beyond the batch");
  Writer neg;
  neg.varint(-5);
  expect_refused(concat({neg.buffer(), big}), 1, ErrorCode::INVALID_RECORD, "negative record length");
}

TEST(RecordValidation, HeaderCounts) {
  expect_refused(framed(encode({0, 1, 1, INT32_MAX})), 1, ErrorCode::INVALID_RECORD, "header count 2^31-1");
  expect_refused(framed(encode({0, 1, 1, -1})), 1, ErrorCode::INVALID_RECORD, "header count -1");
  Bytes nullkey = encode({0, 1, 1, 1});
  Writer w;
  w.varint(-1);  // header key: null is not allowed
  w.varint(-1);
  nullkey.insert(nullkey.end(), w.buffer().begin(), w.buffer().end());
  expect_refused(framed(nullkey), 1, ErrorCode::INVALID_RECORD, "null header key");
}

TEST(RecordValidation, RecordLengthMustBeConsumedExactly) {
  Bytes longer = encode({0});
  longer.push_back(0x42);  // a byte inside the record that no field accounts for
  expect_refused(framed(longer), 1, ErrorCode::INVALID_RECORD, "record longer than its fields");
  Bytes body = encode({0});
  Writer w;
  w.varint(static_cast<int32_t>(body.size()) - 1);
  expect_refused(concat({w.buffer(), body}), 1, ErrorCode::INVALID_RECORD, "record shorter than its fields");
}

TEST(RecordValidation, RecordCountMustMatch) {
  // Records large enough that the count passes validate_batch's minimum-size check.
  Bytes two = concat({framed(encode({0, 10, 10})), framed(encode({1, 10, 10}))});
  expect_refused(two, 3, ErrorCode::INVALID_RECORD, "count 3, 2 records");
  expect_refused(two, 1, ErrorCode::INVALID_RECORD, "count 1, 2 records");
  // Enough bytes for the count's minimum size, but fewer records.
  Bytes padded = concat({framed(encode({0, 20, 20}))});
  expect_refused(padded, 4, ErrorCode::INVALID_RECORD, "count 4, 1 large record");
}

TEST(RecordValidation, OffsetDeltasConsecutive) {
  expect_refused(concat({framed(encode({0})), framed(encode({2}))}), 2, ErrorCode::INVALID_RECORD, "0,2");
  expect_refused(concat({framed(encode({1})), framed(encode({0}))}), 2, ErrorCode::INVALID_RECORD, "1,0");
  expect_refused(concat({framed(encode({0})), framed(encode({0}))}), 2, ErrorCode::INVALID_RECORD, "0,0");
}

TEST(RecordValidation, CompactedTopicNeedsKeys) {
  Bytes b = batch_around(framed(encode({0, -1})), 1);
  EXPECT_EQ(validate_records(b, kDefaultMaxDecompressed, false), ErrorCode::NONE);
  EXPECT_EQ(validate_records(b, kDefaultMaxDecompressed, true), ErrorCode::INVALID_RECORD);
}

TEST(RecordValidation, CompressedPayloadThatDoesNotDecompress) {
  Bytes payload = framed(encode({0}));
  for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    Bytes good = batch_around(payload, 1, c);
    Bytes garbage = good;
    for (size_t i = batch::kHeaderSize; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 37);
    update_crc(garbage);
    ASSERT_EQ(validate_batch(garbage), ErrorCode::NONE);
    EXPECT_EQ(validate_records(garbage, kDefaultMaxDecompressed), ErrorCode::CORRUPT_MESSAGE) << compression_name(c);
    Bytes truncated = good;
    truncated.resize(truncated.size() - 3);
    store_be32(truncated.data() + batch::kLength, static_cast<int32_t>(truncated.size() - batch::kLogOverhead));
    update_crc(truncated);
    ASSERT_EQ(validate_batch(truncated), ErrorCode::NONE);
    EXPECT_EQ(validate_records(truncated, kDefaultMaxDecompressed), ErrorCode::CORRUPT_MESSAGE)
        << compression_name(c);
  }
}

TEST(RecordValidation, DecompressionBombBeyondTheBound) {
  // One record whose 8 MiB value compresses to a few KiB: refused under a 1 MiB
  // bound without ever holding more than the bound.
  BatchBuilder proto(0);
  Bytes value(8 << 20, 0);
  proto.add(1, std::nullopt, std::span<const uint8_t>(value));
  Bytes records(proto.build());
  Bytes payload(records.begin() + batch::kHeaderSize, records.end());
  for (auto c : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    Bytes b = batch_around(payload, 1, c);
    ASSERT_LT(b.size(), size_t{1} << 20) << compression_name(c);
    EXPECT_EQ(validate_records(b, size_t{1} << 20), ErrorCode::CORRUPT_MESSAGE) << compression_name(c);
    EXPECT_EQ(validate_records(b, size_t{16} << 20), ErrorCode::NONE) << compression_name(c);
  }
}

TEST(LegacyDownconvert, OutputBound) {
  Bytes all;
  for (int i = 0; i < 3; ++i) {
    BatchBuilder b(i * 10);
    Bytes v(1000, 'a');
    for (int j = 0; j < 10; ++j) b.add(1, std::nullopt, std::span<const uint8_t>(v));
    Bytes batch = b.build();
    all.insert(all.end(), batch.begin(), batch.end());
  }
  Bytes full;
  ASSERT_EQ(downconvert(all, 1, full), ErrorCode::NONE);
  Bytes part;
  // Room for one batch and a half: the first batch only.
  ASSERT_EQ(downconvert(all, 1, part, kDefaultMaxDecompressed, full.size() / 2), ErrorCode::NONE);
  EXPECT_EQ(part.size(), full.size() / 3);
  EXPECT_TRUE(std::equal(part.begin(), part.end(), full.begin()));
  Bytes none;
  EXPECT_EQ(downconvert(all, 1, none, kDefaultMaxDecompressed, 100), ErrorCode::MESSAGE_TOO_LARGE);
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace samsa::protocol

namespace samsa::server {
namespace {

TEST(ResponseBudget, BoundedButNeverBlocksALoneResponse) {
  ResponseBudget b(1000);
  auto r1 = b.try_acquire(600);
  ASSERT_TRUE(r1);
  EXPECT_FALSE(b.try_acquire(500));
  auto r2 = b.try_acquire(400);
  ASSERT_TRUE(r2);
  EXPECT_EQ(b.in_use(), 1000u);
  r1.reset();
  r2->shrink_to(100);
  EXPECT_EQ(b.in_use(), 100u);
  r2.reset();
  EXPECT_EQ(b.in_use(), 0u);
  auto huge = b.try_acquire(5000);  // nothing else held: granted, alone
  ASSERT_TRUE(huge);
  EXPECT_FALSE(b.try_acquire(1));
}

TEST(ResponseBudget, AcquireWaitsForARelease) {
  ResponseBudget b(100);
  asio::io_context io;
  auto held = b.try_acquire(100);
  std::shared_ptr<ResponseBudget::Reservation> got;
  bool timed_out = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto none = co_await b.acquire(50, std::chrono::milliseconds(20));
    timed_out = none == nullptr;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
    t.async_wait([&](std::error_code) { held.reset(); });
    got = co_await b.acquire(50, std::chrono::seconds(5));
  }, asio::detached);
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(timed_out);
  ASSERT_TRUE(got);
  EXPECT_EQ(b.in_use(), 50u);
}

TEST(WorkerPool, RunsOffTheCallerAndResumesOnIt) {
  WorkerPool pool(2, 4);
  asio::io_context io;
  auto caller = std::this_thread::get_id();
  int done = 0;
  for (int i = 0; i < 20; ++i) {  // more than the queue bound: callers wait for room
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      auto op = pool.run([i] { return std::make_pair(std::this_thread::get_id(), i * 2); });
      auto [worker, value] = co_await std::move(op);
      EXPECT_NE(worker, std::this_thread::get_id());
      EXPECT_EQ(std::this_thread::get_id(), caller);
      EXPECT_EQ(value, i * 2);
      ++done;
    }, asio::detached);
  }
  io.run_for(std::chrono::seconds(20));
  EXPECT_EQ(done, 20);
  EXPECT_EQ(pool.queued(), 0u);
}

}  // namespace
}  // namespace samsa::server
