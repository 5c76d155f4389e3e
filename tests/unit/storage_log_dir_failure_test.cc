// A failing log dir (Kafka's JBOD behaviour): an I/O error (EIO on a write or
// an fdatasync) in one log dir takes that dir offline through LogManager; its
// partitions answer KAFKA_STORAGE_ERROR to appends and reads, no checkpoint or
// new partition goes there, and the partitions of the other dirs keep working.
// A full disk (ENOSPC) is different: the append is refused, nothing partial
// stays, and appends resume once there is space again.
#include <gtest/gtest.h>

#include <cerrno>

#include "replication/partition.h"
#include "storage/fault_injection_env.h"
#include "storage/log_format.h"
#include "storage/log_manager.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using testing::make_batch;
using testing::TempDir;

constexpr int64_t kDirFailureNow = 1'700'000'000'000;

class StorageLogDirFailure : public ::testing::Test {
 protected:
  StorageLogDirFailure() : env_(posix_env()) { env_.set_skip_real_sync(true); }

  void SetUp() override {
    LogManagerOptions o;
    o.log_dirs = {root_.sub("d1"), root_.sub("d2")};
    auto m = LogManager::open(&env_, o);
    ASSERT_TRUE(m) << m.status().to_string();
    manager_ = std::move(*m);
    a_ = open_partition({"a", 0});  // the dir with the fewest partitions: d1
    b_ = open_partition({"b", 0});  // then d2
    ASSERT_EQ(a_->log().dir().rfind(root_.sub("d1"), 0), 0u);
    ASSERT_EQ(b_->log().dir().rfind(root_.sub("d2"), 0), 0u);
  }

  void TearDown() override {
    for (auto* p : {&a_, &b_}) {
      if (*p) manager_->release((*p)->log().topic_partition());
    }
  }

  std::unique_ptr<replication::Partition> open_partition(const TopicPartition& tp) {
    LogConfig cfg;
    cfg.segment_bytes = 1024;
    auto log = manager_->open_log(tp, cfg, kDirFailureNow);
    EXPECT_TRUE(log) << log.status().to_string();
    if (!log) return nullptr;
    auto* m = manager_.get();
    return std::make_unique<replication::Partition>(tp, protocol::Uuid{},
                                               std::move(*log), m->online_flag(tp),
                                               [m, tp](const Status& st) { m->mark_offline(tp, st); });
  }

  static ErrorCode append(replication::Partition& p) {
    auto b = make_batch(2);
    return p.append(b, kDirFailureNow).error;
  }

  TempDir root_;
  FaultInjectionEnv env_;
  std::unique_ptr<LogManager> manager_;
  std::unique_ptr<replication::Partition> a_, b_;
};

TEST_F(StorageLogDirFailure, EioOnWriteTakesTheDirOfflineAndTheOtherDirKeepsWorking) {
  ASSERT_EQ(append(*a_), ErrorCode::NONE);
  env_.fail_next(FaultInjectionEnv::kOpWrite, EIO);
  EXPECT_EQ(append(*a_), ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_TRUE(a_->offline());
  EXPECT_TRUE(manager_->offline({"a", 0}));
  EXPECT_FALSE(manager_->log_dirs()[0].online);
  EXPECT_EQ(manager_->log_dirs()[0].error.sys_errno(), EIO);
  EXPECT_TRUE(manager_->log_dirs()[1].online);
  // No more writes or reads there, even without a fault.
  EXPECT_EQ(append(*a_), ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(a_->read(0, 1 << 20, true).error, ErrorCode::KAFKA_STORAGE_ERROR);
  // The other dir is untouched.
  EXPECT_FALSE(b_->offline());
  ASSERT_EQ(append(*b_), ErrorCode::NONE);
  auto r = b_->read(0, 1 << 20, true);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_GT(r.bytes, 0u);
  // New partitions go to the online dir only.
  auto c = open_partition({"c", 0});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->log().dir().rfind(root_.sub("d2"), 0), 0u);
  EXPECT_EQ(append(*c), ErrorCode::NONE);
  manager_->release({"c", 0});
}

TEST_F(StorageLogDirFailure, PartitionsSharingTheFailedDirGoOfflineToo) {
  auto a1 = open_partition({"a", 1});  // d1 again (d1: a-0, d2: b-0)
  ASSERT_TRUE(a1);
  ASSERT_EQ(a1->log().dir().rfind(root_.sub("d1"), 0), 0u);
  ASSERT_EQ(append(*a1), ErrorCode::NONE);
  env_.fail_next(FaultInjectionEnv::kOpSync, EIO);
  auto st = a_->log().flush();
  ASSERT_FALSE(st);
  a_->check_io_error(st);  // what the Flusher does after a failed fdatasync
  EXPECT_TRUE(a1->offline()) << "the whole dir is offline, not only the log that failed";
  EXPECT_EQ(append(*a1), ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_FALSE(b_->offline());
  manager_->release({"a", 1});
}

TEST_F(StorageLogDirFailure, NoCheckpointsAreWrittenToAnOfflineDir) {
  env_.fail_next(FaultInjectionEnv::kOpWrite, EIO);
  ASSERT_EQ(append(*a_), ErrorCode::KAFKA_STORAGE_ERROR);
  const std::string cp1 = root_.sub("d1/") + std::string(format::kRecoveryPointCheckpoint);
  const std::string cp2 = root_.sub("d2/") + std::string(format::kRecoveryPointCheckpoint);
  (void)env_.unlink(cp1);
  (void)env_.unlink(cp2);
  ASSERT_TRUE(manager_->write_checkpoints());
  EXPECT_FALSE(env_.exists(cp1));
  EXPECT_TRUE(env_.exists(cp2));
  // A clean shutdown marks the healthy dir only; the failed one is recovered at the next start.
  a_.reset();
  manager_->release({"a", 0});
  ASSERT_TRUE(b_->log().close());
  b_.reset();
  manager_->release({"b", 0});
  ASSERT_TRUE(manager_->write_clean_shutdown());
  EXPECT_FALSE(env_.exists(root_.sub("d1/") + std::string(format::kCleanShutdownMarker)));
  EXPECT_TRUE(env_.exists(root_.sub("d2/") + std::string(format::kCleanShutdownMarker)));
}

TEST_F(StorageLogDirFailure, FailedCheckpointWriteTakesTheDirOffline) {
  env_.fail_next(FaultInjectionEnv::kOpWrite, EIO);
  EXPECT_FALSE(manager_->write_checkpoints());
  EXPECT_FALSE(manager_->log_dirs()[0].online);  // d1 is written first
  EXPECT_TRUE(a_->offline());
  EXPECT_FALSE(b_->offline());
}

TEST_F(StorageLogDirFailure, FullDiskRefusesTheAppendAndResumesWhenSpaceIsBack) {
  ASSERT_EQ(append(*a_), ErrorCode::NONE);
  const Offset end = a_->log_end_offset();
  // Every write fails for a while, also the rolls the appends would start.
  env_.fail_next(FaultInjectionEnv::kOpWrite, ENOSPC, 50);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(append(*a_), ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_FALSE(a_->offline());
  EXPECT_TRUE(manager_->log_dirs()[0].online);
  EXPECT_EQ(a_->log_end_offset(), end);
  env_.restart();  // disarms the rest: space was freed
  // Enough appends to roll a few times (segment.bytes 1024).
  for (int i = 0; i < 30; ++i) ASSERT_EQ(append(*a_), ErrorCode::NONE);
  auto r = a_->log().read(0, 1 << 20, INT64_MAX, true);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  std::vector<protocol::BatchHeader> hs;
  ASSERT_TRUE(testing::all_batches_valid(testing::read_chunks(r), &hs));
  int64_t next = 0;
  for (const auto& h : hs) {
    EXPECT_EQ(h.base_offset, next) << "offsets stay dense across the refused appends";
    next = h.last_offset() + 1;
  }
  EXPECT_EQ(Offset(next), a_->log_end_offset());
  EXPECT_EQ(Offset(next), end + 30 * 2);
}

TEST_F(StorageLogDirFailure, FullDiskWhileWritingAnIndexEntryCutsTheBatchBack) {
  // index.interval.bytes is 4096 by default: an index entry is due after the big batch.
  LogConfig cfg = a_->config();
  cfg.segment_bytes = 1 << 20;
  a_->set_config(cfg);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(append(*a_), ErrorCode::NONE);
  auto big = make_batch(40, kDirFailureNow, 200);  // > 4096 bytes since the last entry
  ASSERT_EQ(a_->append(big, kDirFailureNow).error, ErrorCode::NONE);
  const Offset end = a_->log_end_offset();
  const uint64_t size = a_->log().size_bytes();
  env_.fail_next(FaultInjectionEnv::kOpWrite, ENOSPC, 1, ".index");
  auto b = make_batch(2);
  ASSERT_EQ(a_->append(b, kDirFailureNow).error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_FALSE(a_->offline());
  EXPECT_EQ(a_->log_end_offset(), end);
  EXPECT_EQ(a_->log().size_bytes(), size) << "the data written before the index entry failed is cut";
  ASSERT_EQ(append(*a_), ErrorCode::NONE);
  EXPECT_EQ(a_->log_end_offset(), end + 2);
}

TEST_F(StorageLogDirFailure, EioInOneDirOnlyFailsThatDir) {
  env_.fail_next(FaultInjectionEnv::kOpWrite, EIO, 100, root_.sub("d2"));
  EXPECT_EQ(append(*a_), ErrorCode::NONE);
  EXPECT_EQ(append(*b_), ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_TRUE(b_->offline());
  EXPECT_FALSE(a_->offline());
  EXPECT_EQ(append(*a_), ErrorCode::NONE);
}

}  // namespace
}  // namespace samsa::storage
