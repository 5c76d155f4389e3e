// Micro benchmarks of the produce hot path (Google Benchmark), built by bench/run.sh against the
// project's static libraries. Each benchmark reports bytes/s or items/s so the table can compare
// them with the end-to-end figures. Single-threaded; nothing here is shared between benchmarks.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "protocol/messages/produce.h"
#include "protocol/record_batch.h"
#include "protocol/wire.h"
#include "storage/env.h"
#include "storage/log.h"
#include "storage/offset_index.h"

namespace {

using samsa::protocol::BatchBuilder;
using samsa::protocol::Bytes;

// A batch of `n` records of `value_size` bytes, as a producer would send it (uncompressed).
Bytes make_batch(int n, size_t value_size) {
  BatchBuilder b(0);
  std::vector<uint8_t> value(value_size, 'x');
  for (int i = 0; i < n; ++i) b.add(1700000000000 + i, std::nullopt, std::span<const uint8_t>(value));
  return b.build();
}

// A fresh directory under $SAMSA_BENCH_TMP (the data disk), removed by the caller.
std::string make_temp_dir() {
  const char* base = std::getenv("SAMSA_BENCH_TMP");
  std::string tmpl = std::string(base ? base : "/tmp") + "/samsa-micro-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return mkdtemp(buf.data()) ? std::string(buf.data()) : std::string();
}

void BM_Crc32c_1MiB(benchmark::State& state) {
  std::vector<uint8_t> data(1 << 20, 0x5a);
  for (auto _ : state) benchmark::DoNotOptimize(samsa::crc32c(data.data(), data.size()));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size()));
}
BENCHMARK(BM_Crc32c_1MiB);

// validate_batch on a ~1 MiB batch of 1 KiB records (CRC + header checks, no per-record work).
void BM_ValidateBatch_1KiBx1000(benchmark::State& state) {
  Bytes batch = make_batch(1000, 1024);
  for (auto _ : state) benchmark::DoNotOptimize(samsa::protocol::validate_batch(batch));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(batch.size()));
  state.SetItemsProcessed(int64_t(state.iterations()) * 1000);
}
BENCHMARK(BM_ValidateBatch_1KiBx1000);

// Patch (base offset + leader epoch + CRC rewrite), what the append does to each batch.
void BM_PatchBatch_1KiBx1000(benchmark::State& state) {
  Bytes batch = make_batch(1000, 1024);
  int64_t off = 0;
  for (auto _ : state) {
    samsa::protocol::set_base_offset(batch, off += 1000);
    samsa::protocol::set_leader_epoch(batch, 1);
    samsa::protocol::update_crc(batch);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(batch.size()));
}
BENCHMARK(BM_PatchBatch_1KiBx1000);

// Lookup in a full-ish offset index (100k entries, binary search over the mmap'd file).
void BM_IndexLookup(benchmark::State& state) {
  std::string dir = make_temp_dir();
  auto idx = samsa::storage::OffsetIndex::open(samsa::storage::posix_env(), dir + "/00000000000000000000.index", 0,
                                               10 * 1024 * 1024);
  if (!idx.is_ok()) { state.SkipWithError("open index failed"); return; }
  const int kEntries = 100000;
  for (int i = 0; i < kEntries; ++i) (void)(*idx)->append(int64_t(i) * 16 + 15, uint32_t(i) * 4096 + 1);
  uint64_t x = 88172645463325252ull;
  for (auto _ : state) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;  // xorshift: lookups spread over the whole index
    benchmark::DoNotOptimize((*idx)->lookup(int64_t(x % (uint64_t(kEntries) * 16))));
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  (void)samsa::storage::remove_dir_recursive(samsa::storage::posix_env(), dir);
}
BENCHMARK(BM_IndexLookup);

// storage::Log::append of 64 KiB batches (64 x 1 KiB records) into the page cache, no fsync.
void BM_LogAppend_64KiB(benchmark::State& state) {
  std::string dir = make_temp_dir();
  samsa::storage::LogOpenOptions opts;
  opts.config.segment_bytes = 256 * 1024 * 1024;
  auto log = samsa::storage::Log::open(samsa::storage::posix_env(), dir + "/bench-0", samsa::storage::TopicPartition{"bench", 0}, opts);
  if (!log.is_ok()) { state.SkipWithError("open log failed"); return; }
  Bytes proto = make_batch(64, 1024);
  Bytes batch;
  int64_t appended = 0;
  for (auto _ : state) {
    batch = proto;  // append patches in place; a real request also arrives as a fresh buffer
    auto r = (*log)->append(batch, 0, 0, false);
    if (r.error != samsa::ErrorCode::NONE) { state.SkipWithError("append failed"); break; }
    appended += int64_t(batch.size());
  }
  state.SetBytesProcessed(appended);
  (void)(*log)->close();
  log.value().reset();
  (void)samsa::storage::remove_dir_recursive(samsa::storage::posix_env(), dir);
}
BENCHMARK(BM_LogAppend_64KiB);

// Decode of a Produce v9 request carrying one 1 MiB-ish batch for each of 8 partitions.
void BM_ProduceRequestDecode(benchmark::State& state) {
  Bytes batch = make_batch(128, 1024);
  samsa::protocol::ProduceRequest req;
  req.acks = 1;
  req.timeout_ms = 30000;
  samsa::protocol::ProduceRequest::TopicProduceData t;
  t.name = "bench";
  for (int p = 0; p < 8; ++p) {
    samsa::protocol::ProduceRequest::PartitionProduceData pd;
    pd.index = p;
    pd.records.owned = batch;
    t.partition_data.push_back(std::move(pd));
  }
  req.topic_data.push_back(std::move(t));
  samsa::protocol::Writer w;
  req.encode(w, 9);
  const Bytes& wire = w.buffer();
  for (auto _ : state) {
    samsa::protocol::Reader r(wire.data(), wire.size());
    samsa::protocol::ProduceRequest out;
    out.decode(r, 9);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wire.size()));
}
BENCHMARK(BM_ProduceRequestDecode);

}  // namespace

BENCHMARK_MAIN();
