// libFuzzer target: record batches, as a producer can send them, through the
// produce validation path (validate_batch + validate_records, and the legacy
// up-conversion of Produce v0-2) and, when accepted, through the storage log:
// append, read back, and decode every record of what was read. Invariants
// (a crash otherwise): what the log returns for an accepted batch passes the
// log-side checks and decodes completely.
//
// Input: byte 0 selects the mode, the rest is the subject.
//   bits 0-2  codec (mod 5: none, gzip, snappy, lz4, zstd)
//   bit 3     raw: the rest is a whole batch, used as is (bit 4: CRC fixed up)
//   bit 5     legacy: the rest is a Produce v0-2 message set (up-converted)
//   otherwise byte 1 is the record count and the rest the *uncompressed*
//   records; the harness wraps them in a batch compressed with the codec, so
//   mutations reach the record walker behind every decompressor.
// LLVMFuzzerInitialize writes a seed corpus (valid batches of every codec and
// mode) to $RECORDS_FUZZER_SEED_DIR when that is set (tests/fuzz/run.sh).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "protocol/batch_header.h"
#include "protocol/legacy.h"
#include "protocol/record_batch.h"
#include "storage/env.h"
#include "storage/log.h"

using namespace samsa;
using namespace samsa::protocol;

namespace {

constexpr size_t kBound = 1 << 20;  // decompression bound per batch (inputs are small)
constexpr uint8_t kRaw = 0x08, kFixCrc = 0x10, kLegacy = 0x20;

// The log under test: a temp dir, reopened (as after a crash) every 256
// appends and wiped every 2048 so a long run does not fill the disk.
struct LogUnderTest {
  std::string dir;
  std::unique_ptr<storage::Log> log;
  int appends = 0;

  LogUnderTest() {
    char tmpl[] = "/tmp/samsa-records-fuzz-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    dir = tmpl;
    open(true);
  }
  ~LogUnderTest() {
    log.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void open(bool clean) {
    storage::LogOpenOptions o;
    o.config.segment_bytes = 64 * 1024;
    o.config.index_interval_bytes = 512;
    o.config.segment_index_bytes = 16 * 1024;
    o.clean_shutdown = clean;
    o.now_ms = 1700000000000;
    auto r = storage::Log::open(storage::posix_env(), dir + "/t-0", storage::TopicPartition{"t", 0}, o);
    if (!r) std::abort();
    log = std::move(*r);
  }
  void maybe_cycle() {
    if (++appends % 2048 == 0) {
      log.reset();
      std::error_code ec;
      std::filesystem::remove_all(dir + "/t-0", ec);
      open(true);
    } else if (appends % 256 == 0) {
      log.reset();  // no close(): like a crash, the next open recovers
      open(false);
    }
  }
};

LogUnderTest& the_log() {
  static LogUnderTest l;
  return l;
}

// Appends validated batches, reads them back and decodes them.
void append_and_read(Bytes& batches) {
  auto& t = the_log();
  auto res = t.log->append(batches, 0, 1700000000000, false);
  // Producer-state rules (sequence numbers, epochs) may refuse a valid batch.
  if (res.error != ErrorCode::NONE) return;
  auto rd = t.log->read(res.first_offset, 4 << 20, INT64_MAX, true);
  if (rd.error != ErrorCode::NONE) std::abort();
  Bytes back(rd.bytes);
  size_t pos = 0;
  for (auto& c : rd.chunks) {
    if (pos + c.length > back.size() || ::pread(c.fd, back.data() + pos, c.length, c.position) != c.length) std::abort();
    pos += c.length;
  }
  int64_t records = 0;
  for (auto b : leading_complete_batches(back)) {
    if (validate_batch(b, BatchOrigin::log) != ErrorCode::NONE) std::abort();
    std::vector<Record> out;
    if (decode_records(b, kDefaultMaxDecompressed, out) != ErrorCode::NONE) std::abort();
    records += static_cast<int64_t>(out.size());
  }
  if (records < res.records) std::abort();  // the read starts at the first appended batch
  t.maybe_cycle();
}

void write_seed(const std::string& dir, const std::string& name, uint8_t mode, std::span<const uint8_t> rest,
                int count = -1) {
  std::ofstream f(dir + "/" + name, std::ios::binary);
  f.put(static_cast<char>(mode));
  if (count >= 0) f.put(static_cast<char>(count));
  f.write(reinterpret_cast<const char*>(rest.data()), static_cast<std::streamsize>(rest.size()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("RECORDS_FUZZER_SEED_DIR");
  if (!dir) return 0;
  for (int c = 0; c <= 4; ++c) {
    auto codec = static_cast<Compression>(c);
    BatchBuilder b(0);
    b.set_compression(codec);
    Bytes v(40, 'v');
    std::vector<RecordHeader> hs = {{"h", Bytes{1}}};
    b.add(1700000000000, std::span<const uint8_t>(v).first(3), std::span<const uint8_t>(v), hs);
    b.add(1700000000001, std::nullopt, std::span<const uint8_t>(v));
    b.add(1700000000002, std::span<const uint8_t>(v).first(5), std::nullopt);
    Bytes batch = b.build();
    std::string name(compression_name(codec));
    write_seed(dir, "raw-" + name, static_cast<uint8_t>(c | kRaw | kFixCrc), batch);
    BatchBuilder plain(0);
    plain.add(1700000000000, std::span<const uint8_t>(v).first(3), std::span<const uint8_t>(v), hs);
    plain.add(1700000000001, std::nullopt, std::span<const uint8_t>(v));
    plain.add(1700000000002, std::span<const uint8_t>(v).first(5), std::nullopt);
    Bytes records = plain.build();
    write_seed(dir, "records-" + name, static_cast<uint8_t>(c),
               std::span<const uint8_t>(records).subspan(batch::kHeaderSize), 3);
  }
  Bytes set;
  Bytes k{'k'}, v{'v', 'v'};
  append_legacy_message(set, 0, 1, 0, 1700000000000, std::span<const uint8_t>(k), std::span<const uint8_t>(v));
  append_legacy_message(set, 1, 1, 0, 1700000000001, std::nullopt, std::span<const uint8_t>(v));
  write_seed(dir, "legacy-v1", kLegacy, set);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  auto codec = static_cast<Compression>((mode & 0x07) % 5);
  std::span<const uint8_t> rest(data + 1, size - 1);
  Bytes batches;
  if (mode & kLegacy) {
    if (upconvert(rest, 1700000000000, batches, kBound) != ErrorCode::NONE || batches.empty()) return 0;
  } else if (mode & kRaw) {
    batches.assign(rest.begin(), rest.end());
    if ((mode & kFixCrc) && batches.size() >= batch::kHeaderSize) update_crc(batches);
  } else {
    if (rest.empty()) return 0;
    batches = wrap_encoded_records(rest.subspan(1), rest[0], codec, 1700000000000);
  }
  // The produce path: one batch, header and CRC, then every record.
  auto split = split_batches(batches);
  if (!split || split->size() != 1) return 0;
  if (validate_batch((*split)[0]) != ErrorCode::NONE) return 0;
  if (validate_records((*split)[0], kBound) != ErrorCode::NONE) return 0;
  append_and_read(batches);
  return 0;
}
