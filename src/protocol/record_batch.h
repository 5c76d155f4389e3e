// Record batches, message format v2 (magic 2): validation, splitting, record
// decoding, building, and the in-place patches the broker applies on append.
// The byte layout is in FORMAT.md beside this file and batch_header.h.
//
// Everything here treats its input as untrusted: every length and count is
// bounded by the bytes that remain (and decompression by `max_decompressed`)
// before anything is allocated, and failures are returned as Kafka error codes.
// Free functions are pure; BatchBuilder and RecordIterator are plain values
// owned by their caller and used from one thread at a time.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error_code.h"
#include "protocol/batch_header.h"
#include "protocol/compression.h"
#include "protocol/wire.h"

namespace samsa::protocol {

inline constexpr int8_t kMagicV2 = 2;
inline constexpr int64_t kNoTimestamp = -1;
inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;
inline constexpr int32_t kNoPartitionLeaderEpoch = -1;
// The smallest encoded record: length, attributes, timestamp delta, offset
// delta, key length, value length and header count, one byte each.
inline constexpr size_t kMinRecordSize = 7;
// A sensible default bound for decompressing one batch.
inline constexpr size_t kDefaultMaxDecompressed = size_t{64} << 20;

using RecordHeader = std::pair<std::string, std::optional<Bytes>>;

// One record, owning its bytes: for tools, tests and conversions. The hot
// path never materialises these (it works on whole batches).
struct Record {
  int64_t offset = 0;
  int64_t timestamp = kNoTimestamp;
  std::optional<Bytes> key;
  std::optional<Bytes> value;
  std::vector<RecordHeader> headers;
  bool operator==(const Record&) const = default;
};

// ---- validation and splitting -------------------------------------------------------

// `client`: a batch from a producer, checked as Kafka's LogValidator does for
// client appends (lastOffsetDelta + 1 == recordCount > 0, no control batches,
// a producer id needs a base sequence). `log`: a batch read back from disk or
// replicated from a leader, where compaction may have left fewer records than
// the offset range covers (recordCount <= lastOffsetDelta + 1, possibly 0).
enum class BatchOrigin { client, log };

// Checks one complete batch (the span is exactly the batch) without decoding
// records: size >= 61, batchLength matches the span, magic 2, CRC32C over
// bytes [21, end), a known codec, and the count/offset rules of `origin`.
// Errors: CORRUPT_MESSAGE for size, magic, CRC and codec problems (and for
// count problems of `log` batches); INVALID_RECORD for a legacy magic (0/1:
// the caller must take the legacy path) and for the `client` rules above.
ErrorCode validate_batch(std::span<const uint8_t> batch, BatchOrigin origin = BatchOrigin::client);

// Splits a `records` blob (a concatenation of batches, as in a Produce
// request) into one span per batch. nullopt when the sizes do not line up
// exactly (truncated batch, trailing bytes, a length below the header).
// Batch contents are not checked: call validate_batch on each span.
std::optional<std::vector<std::span<const uint8_t>>> split_batches(std::span<const uint8_t> records);

// The complete batches at the front of `records`, stopping silently at a
// truncated tail (fetch responses may end in a partial batch).
std::vector<std::span<const uint8_t>> leading_complete_batches(std::span<const uint8_t> records);

// Walks every record of a client batch that passed validate_batch (a
// compressed one is decompressed first, bounded by max_decompressed), as
// Kafka's LogValidator does before an append: each record's length covers
// exactly its fields (varints of at most 5/10 bytes), key/value lengths are
// >= -1, header keys are non-null, the header count fits in the record, the
// batch holds exactly recordCount records and no byte after them, and the
// offset deltas are 0, 1, ..., recordCount-1 in order (Kafka renumbers
// non-consecutive inner offsets; Samsa appends batches as received, so it
// refuses them). `require_keys`: a compacted topic refuses records without a
// key. Errors: CORRUPT_MESSAGE when the payload does not decompress within
// the bound, INVALID_RECORD for a malformed record (the caller maps it to
// CORRUPT_MESSAGE for Produce before v8, as Kafka does).
ErrorCode validate_records(std::span<const uint8_t> batch, size_t max_decompressed, bool require_keys = false);

// ---- decoding -----------------------------------------------------------------------

// A record borrowed from a batch (or from the iterator's decompression
// buffer). Valid while both the batch and the iterator are alive.
struct RecordView {
  int64_t offset = 0;
  int32_t offset_delta = 0;  // as written in the record (offset = baseOffset + this)
  int64_t timestamp = kNoTimestamp;
  std::optional<std::span<const uint8_t>> key;
  std::optional<std::span<const uint8_t>> value;
  int32_t header_count = 0;
  std::span<const uint8_t> headers;  // encoded headers, already checked well-formed
};

struct HeaderView {
  std::string_view key;
  std::optional<std::span<const uint8_t>> value;
};

// Reads the records of one batch in order, decompressing first when needed
// (bounded by max_decompressed). Checks what Kafka's record reader checks:
// each record's length covers exactly its fields, lengths are >= -1 (header
// keys >= 0), and the batch holds exactly recordCount records and nothing after.
class RecordIterator {
 public:
  // Does not verify the CRC (call validate_batch for untrusted input), but
  // does check the header fields it relies on. Returns NONE or the error.
  ErrorCode open(std::span<const uint8_t> batch, size_t max_decompressed = kDefaultMaxDecompressed);
  // Fills `out` with the next record. false at the end or on error; then
  // error() says which (NONE at a clean end).
  bool next(RecordView& out);
  ErrorCode error() const { return error_; }
  const BatchHeader& header() const { return header_; }

 private:
  bool fail(ErrorCode e) { error_ = e; remaining_records_ = 0; return false; }

  BatchHeader header_{};
  Bytes scratch_;  // decompressed records, when the batch is compressed
  Reader reader_{nullptr, 0};
  int32_t remaining_records_ = 0;
  ErrorCode error_ = ErrorCode::NONE;
};

// Headers of a record from the iterator (well-formedness was already checked).
std::vector<HeaderView> decode_headers(const RecordView& r);

// Decodes every record of `batch` and appends them to `out` with absolute
// offsets and timestamps (LogAppendTime batches give every record the batch's
// maxTimestamp). On error `out` is left as it was. Does not verify the CRC.
// Errors: CORRUPT_MESSAGE (bad header, codec or compressed data, or output
// above max_decompressed), INVALID_RECORD (malformed record, wrong count).
ErrorCode decode_records(std::span<const uint8_t> batch, size_t max_decompressed, std::vector<Record>& out);

// ---- building -----------------------------------------------------------------------

// Builds one v2 batch. Records get offset deltas 0, 1, 2 ... in the order they
// are added (or explicit ones with add_with_offset, for compacted batches).
// baseTimestamp is the first record's timestamp, maxTimestamp the largest (or
// the log-append time). Owned by its caller; not thread-safe.
class BatchBuilder {
 public:
  explicit BatchBuilder(int64_t base_offset = 0) : base_offset_(base_offset) {}

  BatchBuilder& set_base_offset(int64_t v) { base_offset_ = v; return *this; }
  BatchBuilder& set_compression(Compression c) { compression_ = c; return *this; }
  // Timestamp type LogAppendTime with this time as maxTimestamp.
  BatchBuilder& set_log_append_time(int64_t ts) { log_append_time_ = ts; return *this; }
  BatchBuilder& set_producer(int64_t id, int16_t epoch, int32_t base_sequence) {
    producer_id_ = id; producer_epoch_ = epoch; base_sequence_ = base_sequence; return *this;
  }
  BatchBuilder& set_transactional(bool v) { transactional_ = v; return *this; }
  BatchBuilder& set_control(bool v) { control_ = v; return *this; }
  BatchBuilder& set_leader_epoch(int32_t v) { leader_epoch_ = v; return *this; }
  // KIP-534: baseTimestamp holds the time after which the cleaner may drop
  // this batch's tombstones (attribute bit 6); record timestamps stay exact as
  // deltas from it. Call before adding records.
  BatchBuilder& set_delete_horizon(int64_t ms) { delete_horizon_ = ms; return *this; }
  // Overrides lastOffsetDelta (e.g. an empty batch that still covers offsets).
  BatchBuilder& set_last_offset_delta(int32_t v) { last_offset_delta_override_ = v; return *this; }

  void add(int64_t timestamp, std::optional<std::span<const uint8_t>> key,
           std::optional<std::span<const uint8_t>> value, std::span<const RecordHeader> headers = {});
  // Uses r.timestamp, key, value and headers; r.offset is ignored.
  void add(const Record& r);
  // Uses r.offset - base_offset as the offset delta; deltas must increase.
  void add_with_offset(const Record& r);

  int32_t record_count() const { return count_; }
  size_t uncompressed_size() const { return kHeaderSizeV2 + records_.size(); }
  // A complete batch with a correct CRC. May be called more than once.
  Bytes build() const;

 private:
  static constexpr size_t kHeaderSizeV2 = batch::kHeaderSize;
  void add_at(int32_t offset_delta, int64_t timestamp, std::optional<std::span<const uint8_t>> key,
              std::optional<std::span<const uint8_t>> value, std::span<const RecordHeader> headers);

  int64_t base_offset_;
  Compression compression_ = Compression::none;
  std::optional<int64_t> log_append_time_;
  int64_t producer_id_ = kNoProducerId;
  int16_t producer_epoch_ = kNoProducerEpoch;
  int32_t base_sequence_ = kNoSequence;
  bool transactional_ = false;
  bool control_ = false;
  int32_t leader_epoch_ = kNoPartitionLeaderEpoch;
  std::optional<int32_t> last_offset_delta_override_;
  std::optional<int64_t> delete_horizon_;

  Bytes records_;  // encoded records, uncompressed
  Writer body_;    // scratch for one record's body
  int32_t count_ = 0;
  int32_t last_delta_ = -1;
  int64_t base_timestamp_ = kNoTimestamp;
  int64_t max_timestamp_ = kNoTimestamp;
};

// A client batch (base offset 0, no producer) around `records`, records
// already encoded (possibly malformed on purpose), compressed with `c`, with
// recordCount = count, lastOffsetDelta = count - 1 and a correct CRC: what a
// hostile producer can send. For tests and the fuzzer.
Bytes wrap_encoded_records(std::span<const uint8_t> records, int32_t count, Compression c, int64_t timestamp);

// ---- control batches (transaction markers) -------------------------------------------

enum class ControlType : int16_t { abort = 0, commit = 1 };

struct EndTxnMarker {
  ControlType type = ControlType::abort;
  int32_t coordinator_epoch = 0;
  bool operator==(const EndTxnMarker&) const = default;
};

// A transactional control batch holding one marker record: key = version
// int16 (0) + type int16; value = version int16 (0) + coordinator epoch int32.
Bytes build_end_txn_marker(const EndTxnMarker& m, int64_t producer_id, int16_t producer_epoch, int64_t timestamp,
                           int64_t base_offset = 0, int32_t leader_epoch = kNoPartitionLeaderEpoch);
// Reads a marker from a control record's key and value; nullopt if it is not
// a well-formed abort/commit marker.
std::optional<EndTxnMarker> parse_end_txn_marker(std::optional<std::span<const uint8_t>> key,
                                                 std::optional<std::span<const uint8_t>> value);
// Control record type from its key (0 abort, 1 commit, 2+ other control
// records such as leader change); nullopt when the key is too short.
std::optional<int16_t> control_record_type(std::optional<std::span<const uint8_t>> key);

// ---- in-place patches applied by the broker on append ----------------------------

// Sets timestamp type LogAppendTime and maxTimestamp = ts, then recomputes the
// CRC (both fields are inside the CRC range). `batch` must be >= 61 bytes.
void set_log_append_time(std::span<uint8_t> batch, int64_t ts);
// baseOffset and partitionLeaderEpoch lie before the CRC range: no recompute.
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
void set_leader_epoch(std::span<uint8_t> batch, int32_t leader_epoch);
// Recomputes and stores the CRC of a complete batch.
void update_crc(std::span<uint8_t> batch);

}  // namespace samsa::protocol
