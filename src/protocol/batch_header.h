// The fixed 61-byte header of a v2 record batch (magic 2), as it travels on the
// wire and lies on disk. Layout (big-endian):
//
//   0  baseOffset int64        8  batchLength int32 (bytes after this field)
//  12  partitionLeaderEpoch int32   16 magic int8   17 crc uint32 (CRC32C of 21..end)
//  21  attributes int16       23  lastOffsetDelta int32   27 baseTimestamp int64
//  35  maxTimestamp int64     43  producerId int64        51 producerEpoch int16
//  53  baseSequence int32     57  recordCount int32       61 records...
//
// attributes: bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd),
// bit 3 timestamp type (1 = LogAppendTime), bit 4 transactional, bit 5 control,
// bit 6 delete horizon set.
#pragma once
#include <cstdint>
#include <cstring>
#include <span>

namespace samsa::protocol {

namespace batch {
inline constexpr size_t kBaseOffset = 0;
inline constexpr size_t kLength = 8;
inline constexpr size_t kLeaderEpoch = 12;
inline constexpr size_t kMagic = 16;
inline constexpr size_t kCrc = 17;
inline constexpr size_t kAttributes = 21;
inline constexpr size_t kLastOffsetDelta = 23;
inline constexpr size_t kBaseTimestamp = 27;
inline constexpr size_t kMaxTimestamp = 35;
inline constexpr size_t kProducerId = 43;
inline constexpr size_t kProducerEpoch = 51;
inline constexpr size_t kBaseSequence = 53;
inline constexpr size_t kRecordCount = 57;
inline constexpr size_t kHeaderSize = 61;
inline constexpr size_t kLogOverhead = 12;  // baseOffset + batchLength
inline constexpr int16_t kCompressionMask = 0x07;
inline constexpr int16_t kTimestampTypeBit = 0x08;
inline constexpr int16_t kTransactionalBit = 0x10;
inline constexpr int16_t kControlBit = 0x20;
inline constexpr int16_t kDeleteHorizonBit = 0x40;
}  // namespace batch

inline int64_t load_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return static_cast<int64_t>(v);
}
inline int32_t load_be32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]);
}
inline int16_t load_be16(const uint8_t* p) { return static_cast<int16_t>((p[0] << 8) | p[1]); }
inline void store_be64(uint8_t* p, int64_t v) {
  for (int i = 7; i >= 0; --i) { p[i] = static_cast<uint8_t>(v); v = static_cast<int64_t>(static_cast<uint64_t>(v) >> 8); }
}
inline void store_be32(uint8_t* p, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  p[0] = uint8_t(u >> 24); p[1] = uint8_t(u >> 16); p[2] = uint8_t(u >> 8); p[3] = uint8_t(u);
}
inline void store_be16(uint8_t* p, int16_t v) {
  auto u = static_cast<uint16_t>(v);
  p[0] = uint8_t(u >> 8); p[1] = uint8_t(u);
}

// Read-only view of a batch header. The caller guarantees >= kHeaderSize bytes.
struct BatchHeader {
  int64_t base_offset;
  int32_t length;  // batchLength: total size is length + kLogOverhead
  int32_t leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t record_count;

  static BatchHeader parse(const uint8_t* p) {
    using namespace batch;
    return BatchHeader{load_be64(p + kBaseOffset),    load_be32(p + kLength),
                       load_be32(p + kLeaderEpoch),   static_cast<int8_t>(p[kMagic]),
                       static_cast<uint32_t>(load_be32(p + kCrc)),
                       load_be16(p + kAttributes),    load_be32(p + kLastOffsetDelta),
                       load_be64(p + kBaseTimestamp), load_be64(p + kMaxTimestamp),
                       load_be64(p + kProducerId),    load_be16(p + kProducerEpoch),
                       load_be32(p + kBaseSequence),  load_be32(p + kRecordCount)};
  }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  size_t total_size() const { return static_cast<size_t>(length) + batch::kLogOverhead; }
  int compression() const { return attributes & batch::kCompressionMask; }
  bool is_log_append_time() const { return attributes & batch::kTimestampTypeBit; }
  bool is_transactional() const { return attributes & batch::kTransactionalBit; }
  bool is_control() const { return attributes & batch::kControlBit; }
};

}  // namespace samsa::protocol
