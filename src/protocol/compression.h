// Compression codecs of Kafka record batches (and of legacy wrapper messages),
// in the exact framings that Kafka clients write and read:
//
//   gzip    a gzip stream (RFC 1952). Compressed with ISA-L igzip (zlib if that
//           fails), decompressed with zlib; concatenated members are accepted.
//   snappy  Java clients and Kafka write "xerial" framing (magic 82 'SNAPPY' 00,
//           int32 version, int32 compatible version, then repeated int32
//           big-endian length + raw snappy block); librdkafka writes one raw
//           snappy block. decompress() accepts both; compress() writes xerial.
//   lz4     the LZ4 *frame* format, independent 64 KiB blocks, no content size
//           or dictionary (what Kafka's own LZ4 stream reader supports).
//   zstd    a zstd frame; decompression is streaming because producers often
//           omit the content size.
//
// All functions are pure and thread-safe (per-thread scratch state only).
// decompress() never allocates beyond `max_output` plus a constant: it is the
// decompression-bomb bound, so callers pass a limit derived from configuration.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/wire.h"

namespace samsa::protocol {

// Values are the attribute bits 0-2 of a batch / legacy message.
enum class Compression : int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// "none", "gzip", "snappy", "lz4", "zstd".
std::string_view compression_name(Compression c);
// Inverse of compression_name (ASCII case-insensitive); nullopt for anything else.
std::optional<Compression> parse_compression(std::string_view name);
// From batch attribute bits 0-2; nullopt for the unassigned ids 5-7.
std::optional<Compression> compression_from_id(int id);

// A topic's `compression.type` config: a codec, or "producer" (keep whatever
// codec the producer used). Kafka spells "no compression" as "uncompressed".
struct CompressionType {
  bool producer = true;               // true: keep the producer's codec
  Compression codec = Compression::none;  // meaningful only when !producer
  bool operator==(const CompressionType&) const = default;
};
// Accepts exactly Kafka's values: uncompressed, gzip, snappy, lz4, zstd,
// producer (ASCII case-insensitive). "none" is a producer-side name and is
// rejected here, as Kafka's topic config validator does.
std::optional<CompressionType> parse_compression_type(std::string_view name);
std::string_view compression_type_name(CompressionType t);

// Compresses `in` with codec `c` in the framing described above. Never fails
// for a valid codec (none returns a copy).
Bytes compress(Compression c, std::span<const uint8_t> in);

// Decompresses `in` into `out` (replacing its contents). Returns false when the
// input is corrupt or truncated, when the codec is unknown, or when the output
// would exceed `max_output` bytes; `out` is then unspecified but never larger
// than max_output.
bool decompress(Compression c, std::span<const uint8_t> in, size_t max_output, Bytes& out);

// Bytes that open a xerial-framed snappy stream.
inline constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
inline constexpr size_t kXerialHeaderSize = 16;  // magic + version + compatible version
inline constexpr size_t kXerialBlockSize = 32 * 1024;  // input per chunk, as snappy-java

}  // namespace samsa::protocol
