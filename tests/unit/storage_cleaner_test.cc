// Log compaction at the storage level: the offset map and batch rewriting,
// tombstones and their delete horizon, the active segment, compressed and
// keyless records, sparse-offset reads, the cleaner checkpoint, and a crash at
// every step of the .cleaned -> .swap -> final protocol.
#include <gtest/gtest.h>

#include <map>

#include "protocol/record_batch.h"
#include "storage/fault_injection_env.h"
#include "storage/log.h"
#include "storage/log_cleaner.h"
#include "storage/log_format.h"
#include "storage/log_manager.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using protocol::Compression;
using testing::TempDir;

constexpr int64_t kCleanerNow = 1'700'000'000'000;
constexpr int64_t kDeleteRetention = 10'000;

using KV = std::pair<std::string, std::optional<std::string>>;  // key "" = no key

std::span<const uint8_t> bytes_of(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::vector<uint8_t> batch_of(const std::vector<KV>& records, int64_t ts, Compression c = Compression::none) {
  protocol::BatchBuilder b;
  b.set_compression(c);
  for (const auto& [k, v] : records) {
    std::optional<std::span<const uint8_t>> key, value;
    if (!k.empty()) key = bytes_of(k);
    if (v) value = bytes_of(*v);
    b.add(ts, key, value);
  }
  return b.build();
}

LogConfig compact_config() {
  LogConfig c;
  c.segment_bytes = 2048;
  c.index_interval_bytes = 256;
  c.segment_index_bytes = 4096;
  c.cleanup_compact = true;
  c.cleanup_delete = false;
  c.min_cleanable_dirty_ratio = 0.01;
  c.delete_retention_ms = kDeleteRetention;
  c.file_delete_delay_ms = 0;
  return c;
}

std::unique_ptr<Log> open_log(Env* env, const std::string& dir, bool clean = true, LogConfig cfg = compact_config()) {
  LogOpenOptions o;
  o.config = cfg;
  o.clean_shutdown = clean;
  o.now_ms = kCleanerNow;
  auto log = Log::open(env, dir, TopicPartition{"t", 0}, o);
  EXPECT_TRUE(log) << log.status().to_string();
  return log ? std::move(*log) : nullptr;
}

void append(Log& log, const std::vector<uint8_t>& batch, int64_t ts = kCleanerNow) {
  auto copy = batch;
  auto r = log.append(copy, 0, ts, false);
  ASSERT_EQ(r.error, ErrorCode::NONE) << r.status.to_string();
}

// 10 keys, `n` updates: record i is key "k<i % 10>", value "v<i>", at offset i.
void write_updates(Log& log, int n, Compression c = Compression::none) {
  for (int i = 0; i < n; ++i) {
    append(log, batch_of({{"k" + std::to_string(i % 10), "v" + std::to_string(i)}}, kCleanerNow + i, c));
  }
}

struct Rec {
  int64_t offset;
  std::optional<std::string> key, value;
  bool operator==(const Rec&) const = default;
};

std::vector<Rec> read_all(const Log& log, std::vector<protocol::BatchHeader>* headers = nullptr) {
  auto r = log.read(log.log_start_offset(), 1 << 30, INT64_MAX, true);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  auto data = testing::read_chunks(r);
  std::vector<Rec> out;
  for (auto b : protocol::leading_complete_batches(data)) {
    if (headers) headers->push_back(protocol::BatchHeader::parse(b.data()));
    std::vector<protocol::Record> recs;
    EXPECT_EQ(protocol::decode_records(b, 1 << 26, recs), ErrorCode::NONE);
    for (auto& x : recs) {
      Rec rec{x.offset, std::nullopt, std::nullopt};
      if (x.key) rec.key = std::string(x.key->begin(), x.key->end());
      if (x.value) rec.value = std::string(x.value->begin(), x.value->end());
      out.push_back(rec);
    }
  }
  return out;
}

// plan + run + apply, as the broker does; returns the new checkpoint or -1.
int64_t clean(Log& log, int64_t checkpoint, int64_t now, bool force = false, CleanResult* out = nullptr) {
  auto task = plan_cleaning(log, checkpoint, log.log_end_offset(), now, CleanerOptions{}, force);
  if (!task) return -1;
  auto result = run_cleaning(*task);
  EXPECT_TRUE(result) << result.status().to_string();
  if (!result) return -1;
  auto swapped = apply_cleaning(log, *result, task->generation, now);
  EXPECT_TRUE(swapped) << swapped.status().to_string();
  if (out) *out = std::move(*result);
  return result->cleaned_up_to;
}

TEST(StorageCleaner, KeepsTheLastValuePerKeyAtItsOffset) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  write_updates(*log, 300);
  ASSERT_GT(log->segment_count(), 3u);
  const uint64_t before = log->size_bytes();
  const int64_t active_base = log->segments().back()->base_offset();
  const int64_t end = clean(*log, -1, kCleanerNow + 1000);
  EXPECT_EQ(end, active_base);
  EXPECT_LT(log->size_bytes(), before / 2);
  EXPECT_EQ(log->log_end_offset(), 300);
  std::map<std::string, int> seen_cleaned;
  std::map<std::string, std::string> last;
  for (const auto& r : read_all(*log)) {
    ASSERT_TRUE(r.key && r.value);
    // Offsets are preserved: record i still says "v<i>".
    EXPECT_EQ(*r.value, "v" + std::to_string(r.offset));
    EXPECT_EQ(*r.key, "k" + std::to_string(r.offset % 10));
    if (r.offset < active_base) ++seen_cleaned[*r.key];
    last[*r.key] = *r.value;
  }
  ASSERT_EQ(last.size(), 10u);
  for (int k = 0; k < 10; ++k) EXPECT_EQ(last["k" + std::to_string(k)], "v" + std::to_string(290 + k));
  for (const auto& [k, n] : seen_cleaned) EXPECT_EQ(n, 1) << "duplicates of " << k << " below the active segment";
  // Nothing new is dirty: no second pass.
  EXPECT_FALSE(plan_cleaning(*log, end, log->log_end_offset(), kCleanerNow + 2000, CleanerOptions{}));
}

TEST(StorageCleaner, NeverTouchesTheActiveSegment) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  write_updates(*log, 205);
  const Segment* active = log->segments().back().get();
  const int64_t base = active->base_offset();
  const uint64_t size = active->size();
  ASSERT_GT(size, 0u);
  clean(*log, -1, kCleanerNow + 1000);
  EXPECT_EQ(log->segments().back().get(), active);
  EXPECT_EQ(active->base_offset(), base);
  EXPECT_EQ(active->size(), size);
  int in_active = 0;
  for (const auto& r : read_all(*log)) in_active += r.offset >= base;
  EXPECT_EQ(in_active, 205 - base) << "every record of the active segment is still there";
}

TEST(StorageCleaner, ReadingARemovedOffsetLandsOnTheNextBatch) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  write_updates(*log, 300);
  clean(*log, -1, kCleanerNow + 1000);
  // Offset 5 (key k5, superseded) is gone; a read from it starts at a later batch.
  auto r = log->read(5, 1 << 20, INT64_MAX, true);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_GT(r.first_offset, 5);
  // Every offset of the log is readable and never goes backwards.
  for (int64_t o = 0; o < 300; o += 7) {
    auto x = log->read(o, 4096, INT64_MAX, true);
    ASSERT_EQ(x.error, ErrorCode::NONE) << o;
    ASSERT_GE(x.first_offset, 0) << o;
    auto data = testing::read_chunks(x);
    auto h = protocol::BatchHeader::parse(data.data());
    EXPECT_GE(h.last_offset(), o);
  }
}

TEST(StorageCleaner, TombstonesStayForDeleteRetentionThenGo) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  write_updates(*log, 100);
  append(*log, batch_of({{"k3", std::nullopt}}, kCleanerNow + 100));  // tombstone at offset 100
  write_updates(*log, 100);  // offsets 101..200 say "v0".."v99" again (k3 lives again)
  // The last word on k3: a tombstone at offset 201, then enough records to seal it.
  append(*log, batch_of({{"k3", std::nullopt}}, kCleanerNow + 300));
  for (int i = 0; i < 60; ++i) append(*log, batch_of({{"other" + std::to_string(i % 5), "x"}}, kCleanerNow + 400));
  const int64_t t0 = kCleanerNow + 1000;
  auto k3 = [&] {
    std::vector<Rec> out;
    for (auto& r : read_all(*log)) if (r.key == std::optional<std::string>("k3")) out.push_back(r);
    return out;
  };
  CleanResult res;
  int64_t cp = clean(*log, -1, t0, false, &res);
  ASSERT_GT(cp, 201);
  ASSERT_EQ(k3().size(), 1u);
  EXPECT_FALSE(k3()[0].value) << "only the tombstone is left of k3";
  EXPECT_EQ(k3()[0].offset, 201);
  EXPECT_EQ(res.earliest_delete_horizon, t0 + kDeleteRetention);
  // Before the horizon a forced pass keeps it; after it the tombstone goes.
  clean(*log, cp, t0 + kDeleteRetention - 1, /*force=*/true);
  ASSERT_EQ(k3().size(), 1u);
  clean(*log, cp, t0 + kDeleteRetention, /*force=*/true);
  EXPECT_TRUE(k3().empty());
  // The other keys are untouched by that.
  std::map<std::string, std::string> last;
  for (auto& r : read_all(*log)) last[*r.key] = r.value.value_or("<null>");
  EXPECT_EQ(last["k4"], "v94");
  EXPECT_EQ(last.count("k3"), 0u);
}

TEST(StorageCleaner, RecompressesWithTheSameCodec) {
  for (auto codec : {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    TempDir dir;
    auto log = open_log(posix_env(), dir.sub("t-0"));
    // Batches of 5 records: keys k0..k4 for even batches, k0..k9 mixed.
    for (int b = 0; b < 80; ++b) {
      std::vector<KV> recs;
      for (int j = 0; j < 5; ++j) recs.push_back({"k" + std::to_string((b * 5 + j) % 7), "v" + std::to_string(b * 5 + j)});
      append(*log, batch_of(recs, kCleanerNow + b, codec));
    }
    const int64_t active_base = log->segments().back()->base_offset();
    clean(*log, -1, kCleanerNow + 1000);
    std::vector<protocol::BatchHeader> headers;
    auto recs = read_all(*log, &headers);
    for (const auto& h : headers) {
      if (h.record_count > 0) EXPECT_EQ(h.compression(), static_cast<int>(codec)) << compression_name(codec);
    }
    std::map<std::string, int> below;
    for (const auto& r : recs) {
      EXPECT_EQ(*r.value, "v" + std::to_string(r.offset));
      if (r.offset < active_base) ++below[*r.key];
    }
    EXPECT_EQ(below.size(), 7u);
    for (const auto& [k, n] : below) EXPECT_EQ(n, 1) << k << " " << compression_name(codec);
  }
}

TEST(StorageCleaner, RemovesKeylessRecords) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  // Keyless records reach a log that became compacted later (the produce path refuses them).
  for (int i = 0; i < 100; ++i) append(*log, batch_of({{"", "nokey"}, {"k" + std::to_string(i % 3), "v"}}, kCleanerNow));
  const int64_t active_base = log->segments().back()->base_offset();
  clean(*log, -1, kCleanerNow + 1000);
  for (const auto& r : read_all(*log)) {
    if (r.offset < active_base) EXPECT_TRUE(r.key) << "keyless record at " << r.offset << " survived";
  }
}

TEST(StorageCleaner, KeepsControlAndTransactionalBatches) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  protocol::BatchBuilder txn;
  txn.set_transactional(true).set_producer(7, 0, 0);
  txn.add(kCleanerNow, bytes_of("k1"), bytes_of("in-txn"));
  auto txn_batch = txn.build();
  append(*log, txn_batch);  // offset 0
  auto marker = protocol::build_end_txn_marker({protocol::ControlType::commit, 0}, 7, 0, kCleanerNow);
  append(*log, marker);     // offset 1
  write_updates(*log, 200);  // k1 is overwritten many times
  clean(*log, -1, kCleanerNow + 1000);
  std::vector<protocol::BatchHeader> headers;
  auto recs = read_all(*log, &headers);
  ASSERT_GE(recs.size(), 2u);
  EXPECT_EQ(recs[0].offset, 0);
  EXPECT_EQ(recs[0].value, std::optional<std::string>("in-txn"));
  EXPECT_TRUE(headers[1].is_control());
}

TEST(StorageCleaner, CheckpointFileRoundTrips) {
  TempDir dir;
  LogManagerOptions o;
  o.log_dirs = {dir.path()};
  {
    auto m = LogManager::open(posix_env(), o);
    ASSERT_TRUE(m);
    auto log = (*m)->open_log(TopicPartition{"t", 0}, compact_config(), kCleanerNow);
    ASSERT_TRUE(log);
    EXPECT_EQ((*m)->cleaner_checkpoint(TopicPartition{"t", 0}), -1);
    ASSERT_TRUE((*m)->update_cleaner_checkpoint(TopicPartition{"t", 0}, 42));
    (*m)->release(TopicPartition{"t", 0});
  }
  auto text = read_file_to_string(posix_env(), dir.sub(std::string(format::kCleanerOffsetCheckpoint)), 1024);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "0\n1\nt 0 42\n");
  auto m = LogManager::open(posix_env(), o);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)->cleaner_checkpoint(TopicPartition{"t", 0}), 42);
}

TEST(StorageCleaner, MinCompactionLagHoldsBackYoungSegments) {
  TempDir dir;
  LogConfig cfg = compact_config();
  cfg.min_compaction_lag_ms = 60'000;
  auto log = open_log(posix_env(), dir.sub("t-0"), true, cfg);
  write_updates(*log, 300);  // timestamps kCleanerNow .. kCleanerNow + 299
  EXPECT_FALSE(plan_cleaning(*log, -1, log->log_end_offset(), kCleanerNow + 1000, CleanerOptions{}))
      << "every record is younger than min.compaction.lag.ms";
  auto task = plan_cleaning(*log, -1, log->log_end_offset(), kCleanerNow + 60'150, CleanerOptions{});
  ASSERT_TRUE(task);
  // Only the segments whose newest record is at least 60 s old: up to timestamp kCleanerNow + 150.
  EXPECT_LE(task->segments.back().max_timestamp, kCleanerNow + 150);
  EXPECT_LT(task->end_offset, log->segments().back()->base_offset());
  EXPECT_GT(task->end_offset, 0);
}

TEST(StorageCleaner, MaxCompactionLagRollsTheActiveSegment) {
  TempDir dir;
  LogConfig cfg = compact_config();
  cfg.max_compaction_lag_ms = 100;
  auto log = open_log(posix_env(), dir.sub("t-0"), true, cfg);
  append(*log, batch_of({{"k", "1"}}, kCleanerNow), kCleanerNow);
  append(*log, batch_of({{"k", "2"}}, kCleanerNow + 50), kCleanerNow + 50);
  EXPECT_EQ(log->segment_count(), 1u);
  append(*log, batch_of({{"k", "3"}}, kCleanerNow + 101), kCleanerNow + 101);
  EXPECT_EQ(log->segment_count(), 2u) << "segment.ms is 7 days, but max.compaction.lag.ms is 100 ms";
  // Overdue: cleaned whatever the dirty ratio (here one no ratio can reach).
  cfg.min_cleanable_dirty_ratio = 1.5;
  log->update_config(cfg);
  EXPECT_TRUE(plan_cleaning(*log, 0, log->log_end_offset(), kCleanerNow + 50 + 101, CleanerOptions{}));
  EXPECT_FALSE(plan_cleaning(*log, 0, log->log_end_offset(), kCleanerNow + 50 + 100, CleanerOptions{}));
}

TEST(StorageCleaner, DirtyRatioStartsAtTheCheckpoint) {
  TempDir dir;
  LogConfig cfg = compact_config();
  cfg.min_cleanable_dirty_ratio = 0.5;
  auto log = open_log(posix_env(), dir.sub("t-0"), true, cfg);
  write_updates(*log, 300);
  const int64_t cp = clean(*log, -1, kCleanerNow + 1000);
  ASSERT_GT(cp, 0);
  // One more sealed segment is dirty; the cleaned part is now much smaller than it.
  const size_t segments = log->segment_count();
  while (log->segment_count() < segments + 1) write_updates(*log, 10);
  auto ratio = dirty_ratio(*log, cp, log->log_end_offset(), kCleanerNow + 2000);
  ASSERT_TRUE(ratio);
  EXPECT_GT(*ratio, 0.5);
  EXPECT_LT(*ratio, 1.0);
  auto task = plan_cleaning(*log, cp, log->log_end_offset(), kCleanerNow + 2000, CleanerOptions{});
  ASSERT_TRUE(task);
  EXPECT_EQ(task->first_dirty_offset, cp);
  EXPECT_DOUBLE_EQ(task->dirty_ratio, *ratio);
  cfg.min_cleanable_dirty_ratio = (*ratio + 1.0) / 2;
  log->update_config(cfg);
  EXPECT_FALSE(plan_cleaning(*log, cp, log->log_end_offset(), kCleanerNow + 2000, CleanerOptions{})) << "below the ratio";
  EXPECT_TRUE(plan_cleaning(*log, cp, log->log_end_offset(), kCleanerNow + 2000, CleanerOptions{}, /*force=*/true));
  // Without a checkpoint everything is dirty.
  EXPECT_EQ(dirty_ratio(*log, -1, log->log_end_offset(), kCleanerNow + 2000), 1.0);
}

TEST(StorageCleaner, KeepsTheLastBatchOfAProducerAsAnEmptyHeader) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  for (int i = 0; i < 3; ++i) {  // idempotent producer 5, sequences 0..2, keys k0..k2 at offsets 0..2
    protocol::BatchBuilder b;
    b.set_producer(5, 1, i);
    b.add(kCleanerNow, bytes_of("k" + std::to_string(i)), bytes_of("p"));
    append(*log, b.build());
  }
  write_updates(*log, 200);  // k0..k9 overwritten by a plain producer
  clean(*log, -1, kCleanerNow + 1000);
  std::vector<protocol::BatchHeader> headers;
  auto recs = read_all(*log, &headers);
  std::vector<protocol::BatchHeader> of5;
  for (const auto& h : headers) if (h.producer_id == 5) of5.push_back(h);
  ASSERT_EQ(of5.size(), 1u) << "only the producer's last batch stays";
  EXPECT_EQ(of5[0].base_offset, 2);
  EXPECT_EQ(of5[0].record_count, 0);
  EXPECT_EQ(of5[0].last_offset(), 2);
  EXPECT_EQ(of5[0].base_sequence, 2);
  EXPECT_EQ(of5[0].producer_epoch, 1);
  for (const auto& r : recs) EXPECT_GT(r.offset, 2);
}

TEST(StorageCleaner, LogAppendTimeBatchesKeepTheirTimestamp) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  for (int i = 0; i < 200; ++i) {
    auto b = batch_of({{"k" + std::to_string(i % 4), "v" + std::to_string(i)}, {"x" + std::to_string(i), "y"}}, 5);
    auto r = log->append(b, 0, kCleanerNow + i, /*log_append_time=*/true);
    ASSERT_EQ(r.error, ErrorCode::NONE);
  }
  clean(*log, -1, kCleanerNow + 1000);
  auto rd = log->read(0, 1 << 30, INT64_MAX, true);
  auto data = testing::read_chunks(rd);
  int rewritten = 0;
  for (auto b : protocol::leading_complete_batches(data)) {
    auto h = protocol::BatchHeader::parse(b.data());
    EXPECT_TRUE(h.is_log_append_time());
    EXPECT_EQ(h.max_timestamp, kCleanerNow + h.base_offset / 2) << "the broker's append time survives";
    rewritten += h.record_count == 1;
  }
  EXPECT_GT(rewritten, 0);
}

// A crash (then a power cut) after each mutating file-system call of a
// cleaning: on reopen the log holds exactly the old records or exactly the
// cleaned ones, never a mix and never less.
TEST(StorageCleaner, CrashAtEveryStepRecoversOldOrNewSet) {
  std::vector<Rec> old_set, new_set;
  {
    TempDir dir;
    auto log = open_log(posix_env(), dir.sub("t-0"));
    write_updates(*log, 150);
    old_set = read_all(*log);
    clean(*log, -1, kCleanerNow + 1000);
    new_set = read_all(*log);
    ASSERT_LT(new_set.size(), old_set.size());
  }
  bool completed = false;
  int old_seen = 0, new_seen = 0;
  for (int step = 0; !completed && step < 400; ++step) {
    TempDir dir;
    FaultInjectionEnv env(posix_env());
    env.set_skip_real_sync(true);
    auto log = open_log(&env, dir.sub("t-0"));
    write_updates(*log, 150);
    ASSERT_TRUE(log->flush());
    ASSERT_TRUE(env.sync_dir(dir.sub("t-0")));
    auto task = plan_cleaning(*log, -1, log->log_end_offset(), kCleanerNow + 1000, CleanerOptions{});
    ASSERT_TRUE(task);
    env.crash_after(step);
    auto result = run_cleaning(*task);
    bool ok = static_cast<bool>(result);
    if (ok) {
      auto swapped = apply_cleaning(*log, *result, task->generation, kCleanerNow + 1000);
      ok = swapped && *swapped == static_cast<int>(result->groups.size());
    }
    completed = ok && !env.crashed();
    log.reset();  // the process dies
    ASSERT_TRUE(env.power_cut());
    auto reopened = open_log(&env, dir.sub("t-0"), /*clean=*/false);
    ASSERT_TRUE(reopened) << "step " << step;
    auto got = read_all(*reopened);
    const bool is_old = got == old_set, is_new = got == new_set;
    EXPECT_TRUE(is_old || is_new) << "step " << step << ": " << got.size() << " records, old " << old_set.size()
                                  << ", new " << new_set.size();
    old_seen += is_old;
    new_seen += is_new;
    // Nothing of the protocol is left behind.
    auto names = env.list_dir(dir.sub("t-0"));
    ASSERT_TRUE(names);
    for (const auto& n : *names) {
      EXPECT_EQ(n.find(".cleaned"), std::string::npos) << n << " at step " << step;
      EXPECT_EQ(n.find(".swap"), std::string::npos) << n << " at step " << step;
    }
  }
  EXPECT_TRUE(completed) << "the walk never reached the end of the protocol";
  EXPECT_GT(old_seen, 0);
  EXPECT_GT(new_seen, 1) << "crashes after the commit point must recover the new set";
}

}  // namespace
}  // namespace samsa::storage

namespace samsa::storage {
namespace {

// log.cleaner.io.max.bytes.per.second: a throttled cleaning reads and writes
// no faster than the limit (it sleeps), and a cancelled one stops waiting.
TEST(StorageCleaner, IoThrottleBoundsTheRate) {
  std::atomic<bool> cancelled{false};
  IoThrottle fast(1e12);
  fast.account(1 << 20, cancelled);
  EXPECT_LT(fast.slept_seconds(), 0.01);
  IoThrottle slow(10e6);  // 10 MB/s: 2 MB must take 0.2 s, so the throttle sleeps most of it
  slow.account(2'000'000, cancelled);
  EXPECT_GT(slow.slept_seconds(), 0.1);
  const double slept = slow.slept_seconds();
  cancelled = true;
  slow.account(100'000'000, cancelled);  // 10 s worth, but cancelled: no more sleeping
  EXPECT_EQ(slow.slept_seconds(), slept);
}

TEST(StorageCleaner, ThrottledCleaningGivesTheSameResult) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"));
  write_updates(*log, 300);
  CleanerOptions options;
  options.max_io_bytes_per_second = 200e3;  // the log is a few KiB: a short but real wait
  auto task = plan_cleaning(*log, -1, log->log_end_offset(), kCleanerNow + 1000, options);
  ASSERT_TRUE(task);
  auto result = run_cleaning(*task);
  ASSERT_TRUE(result) << result.status().to_string();
  EXPECT_GT(result->throttled_seconds, 0) << "a cleaning above the limit must wait";
  ASSERT_TRUE(apply_cleaning(*log, *result, task->generation, kCleanerNow + 1000));
  std::map<std::string, std::string> last;
  for (const auto& r : read_all(*log)) last[*r.key] = *r.value;
  for (int k = 0; k < 10; ++k) EXPECT_EQ(last["k" + std::to_string(k)], "v" + std::to_string(290 + k));
}

}  // namespace
}  // namespace samsa::storage
