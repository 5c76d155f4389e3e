// Crash recovery of a Log under injected faults: torn writes at every byte
// position, power cuts that drop unsynced data, corrupt bytes, EIO/ENOSPC.
// The invariants checked after every reopen: every batch the log exposes is
// whole with a valid CRC, offsets are dense from the start, nothing below the
// recovery point is lost.
#include <gtest/gtest.h>

#include <thread>

#include <cerrno>
#include <cstdlib>
#include <random>

#include "storage/fault_injection_env.h"
#include "storage/log.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using testing::all_batches_valid;
using testing::make_batch;
using testing::read_chunks;
using testing::TempDir;

constexpr int64_t kRecoveryNow = 1'700'000'000'000;

LogConfig recovery_config() {
  LogConfig c;
  c.segment_bytes = 2048;
  c.index_interval_bytes = 128;
  c.segment_index_bytes = 4096;
  return c;
}

std::unique_ptr<Log> open_log(Env* env, const std::string& dir, bool clean, int64_t recovery_point,
                              LogConfig cfg = recovery_config()) {
  LogOpenOptions o;
  o.config = cfg;
  o.clean_shutdown = clean;
  o.recovery_point = recovery_point;
  o.now_ms = kRecoveryNow;
  auto log = Log::open(env, dir, TopicPartition{"t", 0}, o);
  EXPECT_TRUE(log) << log.status().to_string();
  return log ? std::move(*log) : nullptr;
}

// Checks the invariants and returns the batches.
std::vector<protocol::BatchHeader> check_log(Log& log) {
  auto r = log.read(log.log_start_offset(), 1 << 30, INT64_MAX, true);
  EXPECT_EQ(r.error, ErrorCode::NONE) << r.status.to_string();
  std::vector<protocol::BatchHeader> hs;
  EXPECT_TRUE(all_batches_valid(read_chunks(r), &hs)) << "an invalid batch is exposed";
  int64_t expect = log.log_start_offset();
  for (const auto& h : hs) {
    EXPECT_EQ(h.base_offset, expect) << "offsets are not dense";
    expect = h.last_offset() + 1;
  }
  EXPECT_EQ(expect, log.log_end_offset());
  return hs;
}

TEST(StorageRecovery, TornWriteAtEveryBytePosition) {
  const auto one = make_batch(4, kRecoveryNow, 20);
  const size_t batch_size = one.size();
  const auto torn_input = testing::concat({one, one});
  for (size_t keep = 0; keep < torn_input.size(); keep += 3) {
    SCOPED_TRACE("keep=" + std::to_string(keep));
    TempDir dir;
    FaultInjectionEnv env(posix_env());
    env.set_skip_real_sync(true);
    const std::string path = dir.sub("t-0");
    int64_t rp;
    {
      auto log = open_log(&env, path, true, 0);
      for (int i = 0; i < 12; ++i) {
        auto b = one;
        ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
        if (i == 7) {
          ASSERT_TRUE(log->flush());
        }
      }
      rp = log->recovery_point();
      ASSERT_EQ(rp, 32);
      env.tear_next_write(keep, ".log");
      auto b = torn_input;
      EXPECT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::KAFKA_STORAGE_ERROR);
      EXPECT_TRUE(log->failed());
    }  // process dies: the page cache (everything written) survives
    env.restart();
    auto log = open_log(&env, path, false, rp);
    ASSERT_TRUE(log);
    const int64_t expected = 48 + (keep >= batch_size ? 4 : 0);
    EXPECT_EQ(log->log_end_offset(), expected);
    EXPECT_EQ(log->recovery_info().bytes_truncated, keep >= batch_size ? keep - batch_size : keep);
    check_log(*log);
    auto b = one;
    auto r = log->append(b, 0, kRecoveryNow, false);
    ASSERT_EQ(r.error, ErrorCode::NONE);
    EXPECT_EQ(r.first_offset, expected);
    check_log(*log);
  }
}

TEST(StorageRecovery, PowerCutDropsUnsyncedDataAndRecovers) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  const std::string path = dir.sub("t-0");
  int64_t rp;
  {
    auto log = open_log(&env, path, true, 0);
    for (int i = 0; i < 30; ++i) {
      auto b = make_batch(3, kRecoveryNow + i, 30);
      ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
    }
    ASSERT_TRUE(log->flush());
    rp = log->recovery_point();
    ASSERT_EQ(rp, 90);
    for (int i = 0; i < 30; ++i) {  // unsynced, and rolls into new segments
      auto b = make_batch(3, kRecoveryNow + 100 + i, 30);
      ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
    }
    ASSERT_GT(log->segment_count(), 3u);
  }
  ASSERT_TRUE(env.power_cut());
  auto log = open_log(&env, path, false, rp);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->log_end_offset(), rp);
  EXPECT_EQ(log->recovery_point(), rp);
  auto hs = check_log(*log);
  EXPECT_EQ(hs.size(), 30u);
  // The log keeps working: append, flush, clean close, clean reopen.
  auto b = make_batch(1);
  EXPECT_EQ(log->append(b, 0, kRecoveryNow, false).first_offset, 90);
  ASSERT_TRUE(log->close());
  log = open_log(&env, path, true, 0);
  EXPECT_EQ(log->log_end_offset(), 91);
  EXPECT_EQ(log->recovery_info().segments_recovered, 0);
}

TEST(StorageRecovery, OnlySegmentsFromTheRecoveryPointAreScanned) {
  TempDir dir;
  const std::string path = dir.sub("t-0");
  int64_t rp;
  size_t segments;
  {
    auto log = open_log(posix_env(), path, true, 0);
    for (int i = 0; i < 60; ++i) {
      auto b = make_batch(2, kRecoveryNow + i, 30);
      ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
      if (i == 40) {
        ASSERT_TRUE(log->flush());
      }
    }
    rp = log->recovery_point();
    segments = log->segment_count();
  }
  auto log = open_log(posix_env(), path, false, rp);
  const auto& info = log->recovery_info();
  EXPECT_FALSE(info.clean_shutdown);
  EXPECT_GT(info.recovered_from_offset, 0);
  EXPECT_LE(info.recovered_from_offset, rp);
  EXPECT_LT(static_cast<size_t>(info.segments_recovered), segments);
  EXPECT_EQ(info.bytes_truncated, 0u);
  EXPECT_EQ(log->log_end_offset(), 120);
  check_log(*log);
}

TEST(StorageRecovery, CorruptByteTruncatesFromThatBatchOn) {
  TempDir dir;
  const std::string path = dir.sub("t-0");
  const auto one = make_batch(2, kRecoveryNow, 20);
  {
    auto log = open_log(posix_env(), path, true, 0, LogConfig{});
    for (int i = 0; i < 20; ++i) {
      auto b = one;
      ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
    }
  }
  // Flip a record byte of batch 12 (inside the CRC'ed range).
  auto f = posix_env()->open_file(path + "/00000000000000000000.log", OpenMode::kExisting);
  ASSERT_TRUE(f);
  uint8_t x = 0x5a;
  ASSERT_TRUE((*f)->write_at(12 * one.size() + 70, std::span<const uint8_t>(&x, 1)));
  auto log = open_log(posix_env(), path, false, 0, LogConfig{});
  EXPECT_EQ(log->log_end_offset(), 24);
  EXPECT_EQ(log->recovery_info().bytes_truncated, 8 * one.size());
  check_log(*log);
}

TEST(StorageRecovery, TruncationInAnOlderSegmentDropsLaterSegments) {
  TempDir dir;
  const std::string path = dir.sub("t-0");
  std::vector<int64_t> bases;
  {
    auto log = open_log(posix_env(), path, true, 0);
    for (int i = 0; i < 60; ++i) {
      auto b = make_batch(2, kRecoveryNow, 30);
      ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
    }
    for (const auto& s : log->segments()) bases.push_back(s->base_offset());
    ASSERT_GE(bases.size(), 3u);
  }
  // Tear the tail of the second segment's .log (as if its last write was torn).
  const std::string second = path + "/" + Segment::file_name(bases[1], ".log");
  auto size = posix_env()->file_size(second);
  auto f = posix_env()->open_file(second, OpenMode::kExisting);
  ASSERT_TRUE((*f)->truncate(*size - 5));
  auto log = open_log(posix_env(), path, false, 0);
  EXPECT_EQ(log->recovery_info().segments_deleted, static_cast<int>(bases.size()) - 2);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_FALSE(posix_env()->exists(path + "/" + Segment::file_name(bases[2], ".log")));
  check_log(*log);
  EXPECT_LT(log->log_end_offset(), bases[2]);
  auto b = make_batch(1);
  const int64_t leo = log->log_end_offset();
  EXPECT_EQ(log->append(b, 0, kRecoveryNow, false).first_offset, leo);
  check_log(*log);
}

TEST(StorageRecovery, EnospcOnAppendIsAnErrorAndTheLogStaysUsable) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  auto log = open_log(&env, dir.sub("t-0"), true, 0);
  auto b = make_batch(2);
  ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
  env.fail_next(FaultInjectionEnv::kOpWrite, ENOSPC);
  b = make_batch(2);
  auto r = log->append(b, 0, kRecoveryNow, false);
  EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(r.status.sys_errno(), ENOSPC);
  EXPECT_FALSE(log->failed());
  EXPECT_EQ(log->log_end_offset(), 2);
  b = make_batch(2);
  EXPECT_EQ(log->append(b, 0, kRecoveryNow, false).first_offset, 2);
  check_log(*log);
}

// Both ways to sync: flush(), and the two-step close the broker uses at
// shutdown (a failed ticket fails the log and leaves it not closed).
TEST(StorageRecovery, FailedFsyncFailsTheLog) {
  for (bool via_close : {false, true}) {
    SCOPED_TRACE(via_close ? "close ticket" : "flush");
    TempDir dir;
    FaultInjectionEnv env(posix_env());
    auto log = open_log(&env, dir.sub("t-0"), true, 0);
    auto b = make_batch(2);
    ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
    Status st;
    if (via_close) {
      auto ticket = log->begin_close();
      ASSERT_TRUE(ticket) << ticket.status().to_string();
      env.fail_next(FaultInjectionEnv::kOpSync, EIO);
      st = log->end_close(*ticket, ticket->run());
    } else {
      env.fail_next(FaultInjectionEnv::kOpSync, EIO);
      st = log->flush();
    }
    EXPECT_EQ(st.sys_errno(), EIO);
    EXPECT_TRUE(log->failed());
    EXPECT_FALSE(log->closed());
    EXPECT_EQ(log->recovery_point(), 0);
    b = make_batch(2);
    EXPECT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::KAFKA_STORAGE_ERROR);
  }
}

// Index files hold no descriptor until written (see IndexFile), yet what a
// close synced survives a power cut: the reopened log needs no index rebuild.
TEST(StorageRecovery, CloseTicketRunElsewhereSurvivesAPowerCut) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  {
    auto log = open_log(&env, dir.sub("t-0"), true, 0);
    for (int i = 0; i < 50; ++i) {
      auto b = make_batch(4, kRecoveryNow, 2000);
      ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
    }
    auto t = log->begin_close();
    ASSERT_TRUE(t);
    Status synced;
    std::thread([&] { synced = t->run(); }).join();
    ASSERT_TRUE(log->end_close(*t, synced));
    EXPECT_TRUE(log->closed());
    EXPECT_EQ(log->recovery_point(), 200);
  }
  ASSERT_TRUE(env.power_cut());
  auto log = open_log(&env, dir.sub("t-0"), true, 0);
  EXPECT_EQ(log->log_end_offset(), 200);
  EXPECT_EQ(log->recovery_info().indexes_rebuilt, 0);
  check_log(*log);
}

// Seeded random crash schedule: appends, flushes, truncations, then a torn
// write and/or a power cut. Whatever happens, the reopened log is valid and
// keeps everything that was flushed.
TEST(StorageRecovery, RandomCrashSchedules) {
  const uint32_t kSeeds = std::getenv("SAMSA_STORAGE_SEEDS") ? std::atoi(std::getenv("SAMSA_STORAGE_SEEDS")) : 60;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    std::mt19937 rng(seed);
    TempDir dir;
    FaultInjectionEnv env(posix_env());
    env.set_skip_real_sync(true);
    const std::string path = dir.sub("t-0");
    int64_t durable = 0;    // flushed offsets: must survive
    int64_t appended = 0;   // log end before the crash
    int64_t rp = 0;
    {
      auto log = open_log(&env, path, true, 0);
      const int ops = 20 + static_cast<int>(rng() % 60);
      for (int i = 0; i < ops; ++i) {
        const unsigned op = rng() % 10;
        if (op < 7) {
          auto b = make_batch(1 + static_cast<int>(rng() % 5), kRecoveryNow + i, rng() % 200);
          ASSERT_EQ(log->append(b, 0, kRecoveryNow, false).error, ErrorCode::NONE);
        } else if (op < 9) {
          ASSERT_TRUE(log->flush());
          durable = log->log_end_offset();
        } else if (log->log_end_offset() > durable) {
          // A follower truncation, never below what was flushed here.
          ASSERT_TRUE(log->truncate_to(durable + (log->log_end_offset() - durable) / 2));
        }
      }
      appended = log->log_end_offset();
      rp = log->recovery_point();
      if (rng() % 2) {
        env.tear_next_write(rng() % 300, ".log");
        auto b = make_batch(3, kRecoveryNow, 100);
        (void)log->append(b, 0, kRecoveryNow, false);
      }
    }
    const bool power_cut = rng() % 2;
    if (power_cut) {
      ASSERT_TRUE(env.power_cut());
    } else {
      env.restart();
    }
    auto log = open_log(&env, path, false, rp);
    ASSERT_TRUE(log);
    EXPECT_GE(log->log_end_offset(), durable);
    if (!power_cut) {
      EXPECT_GE(log->log_end_offset(), appended);
    }
    check_log(*log);
    auto b = make_batch(2);
    auto r = log->append(b, 0, kRecoveryNow, false);
    ASSERT_EQ(r.error, ErrorCode::NONE);
    check_log(*log);
    ASSERT_TRUE(log->close());
  }
}

}  // namespace
}  // namespace samsa::storage
