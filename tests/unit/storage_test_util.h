// Helpers for the storage tests: minimal uncompressed v2 record batches, temp
// directories, and reading back what a Log returns. Deliberately independent
// of protocol/record_batch.h.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "protocol/batch_header.h"
#include "storage/env.h"
#include "storage/log.h"

namespace samsa::storage::testing {

inline void put_varint(std::vector<uint8_t>& out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out.push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<uint8_t>(z));
}

// One batch of `records` records with `value_size`-byte values; record i has
// timestamp base_ts + i * ts_step. baseOffset 0, epoch -1, CRC correct.
inline std::vector<uint8_t> make_batch(int records, int64_t base_ts = 1000, size_t value_size = 16,
                                       int64_t ts_step = 1) {
  namespace b = protocol::batch;
  std::vector<uint8_t> body;
  for (int i = 0; i < records; ++i) {
    std::vector<uint8_t> rec;
    rec.push_back(0);                        // attributes
    put_varint(rec, i * ts_step);            // timestampDelta
    put_varint(rec, i);                      // offsetDelta
    put_varint(rec, -1);                     // key: null
    put_varint(rec, static_cast<int64_t>(value_size));
    for (size_t k = 0; k < value_size; ++k) rec.push_back(static_cast<uint8_t>('a' + (i + k) % 26));
    put_varint(rec, 0);                      // headers
    put_varint(body, static_cast<int64_t>(rec.size()));
    body.insert(body.end(), rec.begin(), rec.end());
  }
  std::vector<uint8_t> out(b::kHeaderSize, 0);
  protocol::store_be64(&out[b::kBaseOffset], 0);
  protocol::store_be32(&out[b::kLength], static_cast<int32_t>(b::kHeaderSize - b::kLogOverhead + body.size()));
  protocol::store_be32(&out[b::kLeaderEpoch], -1);
  out[b::kMagic] = 2;
  protocol::store_be16(&out[b::kAttributes], 0);
  protocol::store_be32(&out[b::kLastOffsetDelta], records - 1);
  protocol::store_be64(&out[b::kBaseTimestamp], base_ts);
  protocol::store_be64(&out[b::kMaxTimestamp], base_ts + (records - 1) * ts_step);
  protocol::store_be64(&out[b::kProducerId], -1);
  protocol::store_be16(&out[b::kProducerEpoch], -1);
  protocol::store_be32(&out[b::kBaseSequence], -1);
  protocol::store_be32(&out[b::kRecordCount], records);
  out.insert(out.end(), body.begin(), body.end());
  uint32_t crc = crc32c(out.data() + b::kAttributes, out.size() - b::kAttributes);
  protocol::store_be32(&out[b::kCrc], static_cast<int32_t>(crc));
  return out;
}

inline std::vector<uint8_t> concat(const std::vector<std::vector<uint8_t>>& parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Walks a concatenation of batches; every one must be whole with a valid CRC.
inline bool all_batches_valid(const std::vector<uint8_t>& data, std::vector<protocol::BatchHeader>* out = nullptr) {
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < protocol::batch::kHeaderSize) return false;
    auto h = protocol::BatchHeader::parse(data.data() + pos);
    if (h.magic != 2 || h.length < 49 || h.total_size() > data.size() - pos) return false;
    uint32_t crc = crc32c(data.data() + pos + protocol::batch::kAttributes, h.total_size() - protocol::batch::kAttributes);
    if (crc != h.crc) return false;
    if (out) out->push_back(h);
    pos += h.total_size();
  }
  return true;
}

inline std::vector<uint8_t> read_chunks(const ReadResult& r) {
  std::vector<uint8_t> out;
  for (const auto& c : r.chunks) {
    size_t at = out.size();
    out.resize(at + c.length);
    auto n = c.file->read_at(c.position, std::span<uint8_t>(out.data() + at, c.length));
    if (!n || *n != c.length) return {};
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/samsa-storage-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)remove_dir_recursive(posix_env(), path_); }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return join_path(path_, name); }

 private:
  std::string path_;
};

}  // namespace samsa::storage::testing
