#include "protocol/record_batch.h"

#include <algorithm>

#include "base/crc32c.h"

namespace samsa::protocol {

namespace {

using namespace batch;

// Smallest batchLength that still lets split_batches reach the magic byte, so
// that a legacy message in a v2 blob is reported as such by validate_batch.
constexpr int32_t kMinSplitLength = static_cast<int32_t>(kMagic + 1 - kLogOverhead);

uint32_t batch_crc(std::span<const uint8_t> batch) {
  return crc32c(batch.data() + kAttributes, batch.size() - kAttributes);
}

// Count/offset rules, see BatchOrigin.
ErrorCode check_counts(const BatchHeader& h, size_t payload_size, BatchOrigin origin) {
  bool compressed = h.compression() != 0;
  if (origin == BatchOrigin::client) {
    // Kafka's LogValidator.validateBatch for client appends.
    if (int64_t{h.last_offset_delta} + 1 <= 0) return ErrorCode::INVALID_RECORD;
    if (h.record_count <= 0) return ErrorCode::INVALID_RECORD;
    if (int64_t{h.last_offset_delta} + 1 != h.record_count) return ErrorCode::INVALID_RECORD;
    if (h.is_control()) return ErrorCode::INVALID_RECORD;
    if (h.producer_id >= 0 && h.base_sequence < 0) return ErrorCode::INVALID_RECORD;
    if (!compressed && static_cast<uint64_t>(h.record_count) * kMinRecordSize > payload_size) {
      return ErrorCode::INVALID_RECORD;
    }
    return ErrorCode::NONE;
  }
  if (h.record_count < 0 || h.last_offset_delta < 0) return ErrorCode::CORRUPT_MESSAGE;
  if (int64_t{h.record_count} > int64_t{h.last_offset_delta} + 1) return ErrorCode::CORRUPT_MESSAGE;
  if (!compressed && static_cast<uint64_t>(h.record_count) * kMinRecordSize > payload_size) {
    return ErrorCode::CORRUPT_MESSAGE;
  }
  return ErrorCode::NONE;
}

// Reads a varint length that may be -1 (null) and must fit in what remains.
// Returns -2 on any problem (the reader is failed).
int64_t read_nullable_length(Reader& r) {
  int32_t n = r.varint();
  if (!r.ok() || n < -1 || (n > 0 && static_cast<size_t>(n) > r.remaining())) { r.fail(); return -2; }
  return n;
}

std::optional<std::span<const uint8_t>> read_nullable_bytes(Reader& r) {
  int64_t n = read_nullable_length(r);
  if (n < 0) return std::nullopt;
  return r.raw(static_cast<size_t>(n));
}

// Walks `count` headers; false if malformed (header keys may not be null).
bool walk_headers(Reader& r, int32_t count, std::vector<HeaderView>* out) {
  for (int32_t i = 0; i < count; ++i) {
    int64_t klen = read_nullable_length(r);
    if (klen < 0) return false;
    auto k = r.raw(static_cast<size_t>(klen));
    int64_t vlen = read_nullable_length(r);
    if (vlen < -1) return false;
    std::optional<std::span<const uint8_t>> v;
    if (vlen >= 0) v = r.raw(static_cast<size_t>(vlen));
    if (!r.ok()) return false;
    if (out) out->push_back({std::string_view(reinterpret_cast<const char*>(k.data()), k.size()), v});
  }
  return r.ok();
}

Bytes copy_bytes(std::span<const uint8_t> s) { return Bytes(s.begin(), s.end()); }

}  // namespace

// ---- validation and splitting ---------------------------------------------------------

ErrorCode validate_batch(std::span<const uint8_t> b, BatchOrigin origin) {
  if (b.size() <= kMagic) return ErrorCode::CORRUPT_MESSAGE;
  int8_t magic = static_cast<int8_t>(b[kMagic]);
  if (magic == 0 || magic == 1) return ErrorCode::INVALID_RECORD;
  if (magic != kMagicV2) return ErrorCode::CORRUPT_MESSAGE;
  if (b.size() < kHeaderSize) return ErrorCode::CORRUPT_MESSAGE;
  BatchHeader h = BatchHeader::parse(b.data());
  if (h.length < 0 || h.total_size() != b.size()) return ErrorCode::CORRUPT_MESSAGE;
  if (batch_crc(b) != h.crc) return ErrorCode::CORRUPT_MESSAGE;
  if (!compression_from_id(h.compression())) return ErrorCode::CORRUPT_MESSAGE;
  return check_counts(h, b.size() - kHeaderSize, origin);
}

std::optional<std::vector<std::span<const uint8_t>>> split_batches(std::span<const uint8_t> records) {
  std::vector<std::span<const uint8_t>> out;
  size_t pos = 0;
  while (pos < records.size()) {
    size_t left = records.size() - pos;
    if (left < kLogOverhead) return std::nullopt;
    int32_t len = load_be32(records.data() + pos + kLength);
    if (len < kMinSplitLength || static_cast<size_t>(len) > left - kLogOverhead) return std::nullopt;
    size_t total = static_cast<size_t>(len) + kLogOverhead;
    out.push_back(records.subspan(pos, total));
    pos += total;
  }
  return out;
}

std::vector<std::span<const uint8_t>> leading_complete_batches(std::span<const uint8_t> records) {
  std::vector<std::span<const uint8_t>> out;
  size_t pos = 0;
  while (records.size() - pos >= kLogOverhead) {
    int32_t len = load_be32(records.data() + pos + kLength);
    if (len < kMinSplitLength || static_cast<size_t>(len) > records.size() - pos - kLogOverhead) break;
    size_t total = static_cast<size_t>(len) + kLogOverhead;
    out.push_back(records.subspan(pos, total));
    pos += total;
  }
  return out;
}

// ---- decoding -------------------------------------------------------------------------

ErrorCode RecordIterator::open(std::span<const uint8_t> b, size_t max_decompressed) {
  error_ = ErrorCode::NONE;
  remaining_records_ = 0;
  reader_ = Reader(nullptr, 0);
  if (b.size() < kHeaderSize || static_cast<int8_t>(b[kMagic]) != kMagicV2) return error_ = ErrorCode::CORRUPT_MESSAGE;
  header_ = BatchHeader::parse(b.data());
  if (header_.length < 0 || header_.total_size() != b.size()) return error_ = ErrorCode::CORRUPT_MESSAGE;
  auto codec = compression_from_id(header_.compression());
  if (!codec) return error_ = ErrorCode::CORRUPT_MESSAGE;
  if (header_.record_count < 0) return error_ = ErrorCode::INVALID_RECORD;
  std::span<const uint8_t> payload = b.subspan(kHeaderSize);
  if (header_.record_count == 0 && payload.empty()) return ErrorCode::NONE;
  if (*codec != Compression::none) {
    if (!decompress(*codec, payload, max_decompressed, scratch_)) return error_ = ErrorCode::CORRUPT_MESSAGE;
    payload = scratch_;
  }
  if (static_cast<uint64_t>(header_.record_count) * kMinRecordSize > payload.size()) {
    return error_ = ErrorCode::INVALID_RECORD;
  }
  reader_ = Reader(payload);
  remaining_records_ = header_.record_count;
  return ErrorCode::NONE;
}

bool RecordIterator::next(RecordView& out) {
  if (error_ != ErrorCode::NONE) return false;
  if (remaining_records_ == 0) {
    // Kafka: "Incorrect declared batch size, records still remaining".
    if (reader_.remaining() != 0) { reader_ = Reader(nullptr, 0); return fail(ErrorCode::INVALID_RECORD); }
    return false;
  }
  int32_t len = reader_.varint();
  if (!reader_.ok() || len < 0 || static_cast<size_t>(len) > reader_.remaining()) {
    return fail(ErrorCode::INVALID_RECORD);
  }
  Reader r(reader_.raw(static_cast<size_t>(len)));
  r.i8();  // record attributes: unused
  int64_t ts_delta = r.varlong();
  int32_t offset_delta = r.varint();
  auto key = read_nullable_bytes(r);
  auto value = read_nullable_bytes(r);
  int32_t header_count = r.varint();
  if (!r.ok() || header_count < 0 || static_cast<size_t>(header_count) > r.remaining() / 2) {
    return fail(ErrorCode::INVALID_RECORD);
  }
  const uint8_t* headers_begin = r.pos();
  if (!walk_headers(r, header_count, nullptr) || r.remaining() != 0) return fail(ErrorCode::INVALID_RECORD);
  // Wrapping arithmetic: both operands are untrusted and must not overflow (UB).
  out.offset_delta = offset_delta;
  out.offset = static_cast<int64_t>(static_cast<uint64_t>(header_.base_offset) +
                                    static_cast<uint64_t>(int64_t{offset_delta}));
  out.timestamp = header_.is_log_append_time() ? header_.max_timestamp
                                               : static_cast<int64_t>(static_cast<uint64_t>(header_.base_timestamp) +
                                                                      static_cast<uint64_t>(ts_delta));
  out.key = key;
  out.value = value;
  out.header_count = header_count;
  out.headers = std::span<const uint8_t>(headers_begin, static_cast<size_t>(r.pos() - headers_begin));
  --remaining_records_;
  return true;
}

std::vector<HeaderView> decode_headers(const RecordView& rv) {
  std::vector<HeaderView> out;
  out.reserve(static_cast<size_t>(rv.header_count));
  Reader r(rv.headers);
  walk_headers(r, rv.header_count, &out);
  return out;
}

ErrorCode decode_records(std::span<const uint8_t> batch, size_t max_decompressed, std::vector<Record>& out) {
  RecordIterator it;
  if (ErrorCode e = it.open(batch, max_decompressed); e != ErrorCode::NONE) return e;
  size_t original = out.size();
  out.reserve(original + static_cast<size_t>(it.header().record_count));  // bounded by open()
  RecordView rv;
  while (it.next(rv)) {
    Record rec;
    rec.offset = rv.offset;
    rec.timestamp = rv.timestamp;
    if (rv.key) rec.key = copy_bytes(*rv.key);
    if (rv.value) rec.value = copy_bytes(*rv.value);
    for (const HeaderView& h : decode_headers(rv)) {
      std::optional<Bytes> v;
      if (h.value) v = copy_bytes(*h.value);
      rec.headers.emplace_back(std::string(h.key), std::move(v));
    }
    out.push_back(std::move(rec));
  }
  if (it.error() != ErrorCode::NONE) {
    out.resize(original);
    return it.error();
  }
  return ErrorCode::NONE;
}

ErrorCode validate_records(std::span<const uint8_t> batch, size_t max_decompressed, bool require_keys) {
  RecordIterator it;
  if (ErrorCode e = it.open(batch, max_decompressed); e != ErrorCode::NONE) return e;
  RecordView rv;
  int32_t expected_delta = 0;
  while (it.next(rv)) {
    if (rv.offset_delta != expected_delta) return ErrorCode::INVALID_RECORD;
    if (require_keys && !rv.key) return ErrorCode::INVALID_RECORD;
    ++expected_delta;
  }
  return it.error();
}

// ---- building -------------------------------------------------------------------------

void BatchBuilder::add_at(int32_t offset_delta, int64_t timestamp, std::optional<std::span<const uint8_t>> key,
                          std::optional<std::span<const uint8_t>> value, std::span<const RecordHeader> headers) {
  if (count_ == 0) {
    base_timestamp_ = delete_horizon_.value_or(timestamp);
    max_timestamp_ = timestamp;
  }
  max_timestamp_ = std::max(max_timestamp_, timestamp);
  Writer& w = body_;
  w.buffer().clear();
  w.i8(0);
  w.varlong(static_cast<int64_t>(static_cast<uint64_t>(timestamp) - static_cast<uint64_t>(base_timestamp_)));
  w.varint(offset_delta);
  auto put_nullable = [&w](const std::optional<std::span<const uint8_t>>& b) {
    if (!b) { w.varint(-1); return; }
    w.varint(static_cast<int32_t>(b->size()));
    w.raw(*b);
  };
  put_nullable(key);
  put_nullable(value);
  w.varint(static_cast<int32_t>(headers.size()));
  for (const auto& [hk, hv] : headers) {
    w.varint(static_cast<int32_t>(hk.size()));
    w.raw(hk.data(), hk.size());
    if (hv) put_nullable(std::span<const uint8_t>(*hv)); else w.varint(-1);
  }
  Writer len;
  len.varint(static_cast<int32_t>(w.size()));
  records_.insert(records_.end(), len.buffer().begin(), len.buffer().end());
  records_.insert(records_.end(), w.buffer().begin(), w.buffer().end());
  ++count_;
  last_delta_ = offset_delta;
}

void BatchBuilder::add(int64_t timestamp, std::optional<std::span<const uint8_t>> key,
                       std::optional<std::span<const uint8_t>> value, std::span<const RecordHeader> headers) {
  add_at(last_delta_ + 1, timestamp, key, value, headers);
}

namespace {
std::optional<std::span<const uint8_t>> as_span(const std::optional<Bytes>& b) {
  if (!b) return std::nullopt;
  return std::span<const uint8_t>(*b);
}
}  // namespace

void BatchBuilder::add(const Record& r) { add(r.timestamp, as_span(r.key), as_span(r.value), r.headers); }

void BatchBuilder::add_with_offset(const Record& r) {
  add_at(static_cast<int32_t>(r.offset - base_offset_), r.timestamp, as_span(r.key), as_span(r.value), r.headers);
}

Bytes BatchBuilder::build() const {
  Bytes compressed;
  std::span<const uint8_t> payload = records_;
  if (compression_ != Compression::none && count_ > 0) {
    compressed = compress(compression_, records_);
    payload = compressed;
  }
  Bytes out(kHeaderSize + payload.size());
  uint8_t* p = out.data();
  int16_t attributes = static_cast<int16_t>(static_cast<int16_t>(compression_) & kCompressionMask);
  if (count_ == 0) attributes = 0;  // nothing was compressed
  if (log_append_time_) attributes |= kTimestampTypeBit;
  if (transactional_) attributes |= kTransactionalBit;
  if (control_) attributes |= kControlBit;
  if (delete_horizon_) attributes |= kDeleteHorizonBit;
  store_be64(p + kBaseOffset, base_offset_);
  store_be32(p + kLength, static_cast<int32_t>(out.size() - kLogOverhead));
  store_be32(p + kLeaderEpoch, leader_epoch_);
  p[kMagic] = static_cast<uint8_t>(kMagicV2);
  store_be16(p + kAttributes, attributes);
  store_be32(p + kLastOffsetDelta, last_offset_delta_override_.value_or(last_delta_));
  store_be64(p + kBaseTimestamp, delete_horizon_.value_or(base_timestamp_));
  store_be64(p + kMaxTimestamp, log_append_time_.value_or(max_timestamp_));
  store_be64(p + kProducerId, producer_id_);
  store_be16(p + kProducerEpoch, producer_epoch_);
  store_be32(p + kBaseSequence, base_sequence_);
  store_be32(p + kRecordCount, count_);
  std::copy(payload.begin(), payload.end(), out.begin() + kHeaderSize);
  update_crc(out);
  return out;
}

Bytes wrap_encoded_records(std::span<const uint8_t> records, int32_t count, Compression c, int64_t timestamp) {
  BatchBuilder b(0);
  b.add(timestamp, std::nullopt, std::nullopt);  // for the header fields; its record is replaced
  Bytes out = b.build();
  out.resize(kHeaderSize);
  Bytes body = c == Compression::none ? Bytes(records.begin(), records.end()) : compress(c, records);
  out.insert(out.end(), body.begin(), body.end());
  store_be32(out.data() + kLength, static_cast<int32_t>(out.size() - kLogOverhead));
  store_be16(out.data() + kAttributes, static_cast<int16_t>(c));
  store_be32(out.data() + kLastOffsetDelta, static_cast<int32_t>(static_cast<uint32_t>(count) - 1));
  store_be32(out.data() + kRecordCount, count);
  update_crc(out);
  return out;
}

// ---- control batches ------------------------------------------------------------------

Bytes build_end_txn_marker(const EndTxnMarker& m, int64_t producer_id, int16_t producer_epoch, int64_t timestamp,
                           int64_t base_offset, int32_t leader_epoch) {
  uint8_t key[4], value[6];
  store_be16(key, 0);
  store_be16(key + 2, static_cast<int16_t>(m.type));
  store_be16(value, 0);
  store_be32(value + 2, m.coordinator_epoch);
  BatchBuilder b(base_offset);
  b.set_producer(producer_id, producer_epoch, kNoSequence).set_transactional(true).set_control(true);
  b.set_leader_epoch(leader_epoch);
  b.add(timestamp, std::span<const uint8_t>(key), std::span<const uint8_t>(value));
  return b.build();
}

std::optional<int16_t> control_record_type(std::optional<std::span<const uint8_t>> key) {
  if (!key || key->size() < 4) return std::nullopt;
  if (load_be16(key->data()) < 0) return std::nullopt;  // version
  return load_be16(key->data() + 2);
}

std::optional<EndTxnMarker> parse_end_txn_marker(std::optional<std::span<const uint8_t>> key,
                                                 std::optional<std::span<const uint8_t>> value) {
  auto type = control_record_type(key);
  if (!type || (*type != 0 && *type != 1)) return std::nullopt;
  // Newer value versions append fields; version 0's prefix is what we need.
  if (!value || value->size() < 6 || load_be16(value->data()) < 0) return std::nullopt;
  return EndTxnMarker{static_cast<ControlType>(*type), load_be32(value->data() + 2)};
}

// ---- in-place patches -----------------------------------------------------------------

void update_crc(std::span<uint8_t> b) { store_be32(b.data() + kCrc, static_cast<int32_t>(batch_crc(b))); }

void set_log_append_time(std::span<uint8_t> b, int64_t ts) {
  int16_t attributes = load_be16(b.data() + kAttributes);
  store_be16(b.data() + kAttributes, static_cast<int16_t>(attributes | kTimestampTypeBit));
  store_be64(b.data() + kMaxTimestamp, ts);
  update_crc(b);
}

void set_base_offset(std::span<uint8_t> b, int64_t base_offset) { store_be64(b.data() + kBaseOffset, base_offset); }

void set_leader_epoch(std::span<uint8_t> b, int32_t leader_epoch) { store_be32(b.data() + kLeaderEpoch, leader_epoch); }

}  // namespace samsa::protocol
