// Legacy message sets (message format magic 0 and 1), spoken by Produce v0-2
// and Fetch v0-3 (e.g. sarama's default V0_8_2_0). Samsa stores only v2
// batches, so legacy input is up-converted on produce and v2 batches are
// down-converted on fetch. Byte layout: FORMAT.md beside this file.
//
//   message set entry: offset int64, message_size int32, message
//   message: crc uint32 (CRC-32/IEEE of magic..end), magic int8,
//            attributes int8 (bits 0-2 codec, bit 3 LogAppendTime in magic 1),
//            [timestamp int64, magic 1 only], key bytes, value bytes
//
// A compressed wrapper message holds a whole inner message set, compressed,
// as its value. Magic 0 inner offsets are absolute; magic 1 inner offsets are
// relative (KIP-31): the wrapper carries the absolute offset of the last inner
// message, so inner i is at wrapper_offset - last_inner_relative + relative_i.
//
// All functions are pure and treat their input as untrusted (every length is
// bounded by what remains; decompression by max_decompressed in total).
#pragma once
#include <cstdint>
#include <optional>
#include <span>

#include "base/error_code.h"
#include "protocol/record_batch.h"
#include "protocol/wire.h"

namespace samsa::protocol {

namespace legacy {
inline constexpr size_t kCrcOffset = 0;  // within the message (after offset + size)
inline constexpr size_t kMagicOffset = 4;
inline constexpr size_t kAttributesOffset = 5;
inline constexpr size_t kTimestampOffset = 6;  // magic 1 only
inline constexpr size_t kMinMessageSizeV0 = 14;  // crc, magic, attributes, key len, value len
inline constexpr size_t kMinMessageSizeV1 = 22;  // plus timestamp
inline constexpr int8_t kCodecMask = 0x07;
inline constexpr int8_t kTimestampTypeBit = 0x08;
}  // namespace legacy

// Converts a legacy message set from a produce request into ONE v2 batch
// (written to out_batches, replacing its contents): base offset 0, offset
// deltas 0..n-1 in message order (legacy offsets from clients are ignored, as
// the broker assigns offsets), the codec of the first compressed wrapper (or
// none), no producer id. Every message CRC is checked.
//
// Timestamps: magic 0 has none, so records get -1 (NO_TIMESTAMP), as Kafka
// does on a CreateTime topic (a LogAppendTime topic then patches the batch
// with set_log_append_time). Magic 1 records keep their timestamp. A message
// or wrapper that claims LogAppendTime (producers should not) makes the
// broker the clock: those records get `now_ms`, and the batch is marked
// LogAppendTime at now_ms.
//
// A truncated trailing entry of the outer set is ignored, as Kafka's reader
// does; an empty result gives NONE and empty out_batches (nothing to append).
// Errors: CORRUPT_MESSAGE (bad CRC, sizes, magic, nested or undecodable
// compression, inner set not exact), UNSUPPORTED_COMPRESSION_TYPE (zstd).
ErrorCode upconvert(std::span<const uint8_t> message_set, int64_t now_ms, Bytes& out_batches,
                    size_t max_decompressed = kDefaultMaxDecompressed);

// Converts a concatenation of v2 batches (e.g. the bytes read for a fetch)
// into a legacy message set of magic `to_magic` (0 or 1) with absolute
// offsets, replacing the contents of `out`. Control batches and empty batches
// are skipped; a truncated trailing batch is ignored. Each gzip/snappy/lz4
// batch becomes one compressed wrapper with the same codec (offset rules as
// above); zstd, which legacy formats cannot carry, and uncompressed batches
// become plain messages. Magic 0 drops timestamps; magic 1 keeps them and
// the LogAppendTime flag. Headers are dropped (legacy formats have none).
// `max_output` bounds the result: conversion stops before the first batch
// whose legacy form would take `out` beyond it (a response with fewer
// records); when even the first convertible batch does not fit, the result is
// MESSAGE_TOO_LARGE with `out` empty (the caller may retry with a larger bound).
// Errors: CORRUPT_MESSAGE (bad CRC, undecodable batch), INVALID_REQUEST
// (to_magic not 0/1), MESSAGE_TOO_LARGE (see max_output).
ErrorCode downconvert(std::span<const uint8_t> v2_batches, int8_t to_magic, Bytes& out,
                      size_t max_decompressed = kDefaultMaxDecompressed, size_t max_output = SIZE_MAX);

// Appends one message-set entry holding one legacy message; the CRC is
// computed here. `timestamp` is written for magic 1 only. Used by
// downconvert, tools and tests.
void append_legacy_message(Bytes& set, int64_t offset, int8_t magic, int8_t attributes, int64_t timestamp,
                           std::optional<std::span<const uint8_t>> key,
                           std::optional<std::span<const uint8_t>> value);

// Rewrites the LZ4 frame header checksum byte of `frame` to the correct
// value. Kafka clients before KIP-57 (and librdkafka for magic 0) computed it
// over the magic number too; magic 0 lz4 data is read after this fix-up.
// No-op when the frame is too short to hold a header.
void fix_lz4_header_checksum(std::span<uint8_t> frame);

}  // namespace samsa::protocol
