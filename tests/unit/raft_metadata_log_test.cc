// The storage-backed metadata log (__cluster_metadata-0): appends commit once
// durable (synced on the flush thread), survive a reopen, replay in order, and
// read or sync errors injected through storage's Env are reported.
#include <gtest/gtest.h>

#include <thread>

#include "base/clock.h"
#include "metadata_test_util.h"
#include "raft_test_util.h"
#include "raft/flush_thread.h"
#include "raft/metadata_log.h"
#include "storage/fault_injection_env.h"
#include "storage_test_util.h"

namespace samsa::raft {
namespace {

using samsa::testing::run;


struct Replayed {
  std::vector<std::pair<int64_t, std::string>> records;
  storage::Status status;
};

Replayed replay(MetadataLog& log) {
  Replayed out;
  out.status = log.replay([&](Offset o, std::span<const uint8_t> v) {
    out.records.emplace_back(o.value, std::string(v.begin(), v.end()));
  });
  return out;
}

struct RaftMetadataLog : ::testing::Test {
  RaftMetadataLog() : env(storage::posix_env()) { env.set_skip_real_sync(true); }
  std::unique_ptr<MetadataLog> open() {
    auto opened = open_metadata_log(&env, dir.path(), NodeId(1), clock, flush);
    EXPECT_EQ(opened.error, "");
    return std::move(opened.log);
  }

  storage::testing::TempDir dir;
  storage::FaultInjectionEnv env;
  ManualClock clock{1'600'000'000'000};
  FlushThread flush;
  asio::io_context io;
};

TEST_F(RaftMetadataLog, AppendReopenReplay) {
  auto log = open();
  EXPECT_TRUE(log->is_leader());  // one voter: the leader, at epoch 0
  EXPECT_EQ(log->leader().epoch, Epoch(0));
  std::vector<std::pair<int64_t, size_t>> commits;  // base offset, batch size
  std::thread::id committed_on;
  log->set_commit_listener([&](Offset base, Epoch epoch, std::span<const protocol::Bytes> values) {
    EXPECT_EQ(epoch, Epoch(0));
    commits.emplace_back(base.value, values.size());
    committed_on = std::this_thread::get_id();
  });
  int syncs = env.sync_count();
  auto first = run(io, log->append({bytes("a"), bytes("b")}));
  ASSERT_EQ(first.error, ErrorCode::NONE);
  EXPECT_EQ(first.offset, Offset(1));
  EXPECT_EQ(first.epoch, Epoch(0));
  EXPECT_GT(env.sync_count(), syncs);  // durable before it completed
  auto second = run(io, log->append({bytes("c")}));
  EXPECT_EQ(second.offset, Offset(2));
  EXPECT_EQ(commits, (std::vector<std::pair<int64_t, size_t>>{{0, 2}, {2, 1}}));
  EXPECT_EQ(committed_on, std::this_thread::get_id());  // the listener runs on the log's thread

  log.reset();
  log = open();
  auto r = replay(*log);
  ASSERT_TRUE(r.status) << r.status.to_string();
  EXPECT_EQ(r.records, (std::vector<std::pair<int64_t, std::string>>{{0, "a"}, {1, "b"}, {2, "c"}}));
  // Appends continue after the replayed records.
  EXPECT_EQ(run(io, log->append({bytes("d")})).offset, Offset(3));
}

TEST_F(RaftMetadataLog, ReadErrorDuringReplayIsReported) {
  auto log = open();
  ASSERT_EQ(run(io, log->append({bytes("a")})).error, ErrorCode::NONE);
  log.reset();
  log = open();
  env.fail_next(storage::FaultInjectionEnv::kOpRead, EIO, 1, "__cluster_metadata-0");
  auto r = replay(*log);
  EXPECT_FALSE(r.status);
  EXPECT_TRUE(r.records.empty());
  auto again = replay(*log);  // the fault was one read
  ASSERT_TRUE(again.status);
  EXPECT_EQ(again.records.size(), 1u);
}

TEST_F(RaftMetadataLog, FailedSyncCommitsNothing) {
  auto log = open();
  bool committed = false;
  log->set_commit_listener([&](Offset, Epoch, std::span<const protocol::Bytes>) { committed = true; });
  env.fail_next(storage::FaultInjectionEnv::kOpSync, EIO, 1, "__cluster_metadata-0");
  auto r = run(io, log->append({bytes("a")}));
  EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_FALSE(committed);
}

TEST(RaftFlushThread, RunsJobsOffTheCallerAndResumesOnIt) {
  FlushThread flush;
  asio::io_context io;
  auto caller = std::this_thread::get_id();
  auto job = flush.run([] { return std::this_thread::get_id(); });
  auto ran_on = run(io, std::move(job));
  EXPECT_NE(ran_on, caller);
  flush.stop();
  bool ran = false;
  flush.post([&] { ran = true; });  // after stop: on the caller's thread
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace samsa::raft
