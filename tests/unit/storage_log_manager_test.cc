#include <gtest/gtest.h>

#include "storage/checkpoint.h"
#include "storage/log_copy.h"
#include "storage/log_format.h"
#include "storage/log_manager.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using testing::make_batch;
using testing::TempDir;

constexpr int64_t kManagerNow = 1'700'000'000'000;

TEST(StorageCheckpoint, RoundTripWithDottedAndDashedTopics) {
  OffsetMap m;
  m[{"my.topic", 0}] = 42;
  m[{"my-topic-with-dashes", 12}] = 0;
  m[{"__consumer_offsets", 49}] = 123456789012345;
  m[{"a_b.c-d", 3}] = 7;
  std::string text = format_offset_checkpoint(m);
  EXPECT_EQ(text.substr(0, 4), "0\n4\n");
  EXPECT_NE(text.find("my-topic-with-dashes 12 0\n"), std::string::npos);
  auto back = parse_offset_checkpoint(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);

  TempDir dir;
  std::string path = dir.sub(std::string(format::kRecoveryPointCheckpoint));
  auto missing = read_offset_checkpoint(posix_env(), path);
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->empty());
  ASSERT_TRUE(write_offset_checkpoint(posix_env(), path, m));
  auto read = read_offset_checkpoint(posix_env(), path);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, m);
  EXPECT_FALSE(posix_env()->exists(path + ".tmp"));
  ASSERT_TRUE(write_offset_checkpoint(posix_env(), path, {}));
  EXPECT_EQ(*read_file_to_string(posix_env(), path, 100), "0\n0\n");
}

TEST(StorageCheckpoint, RejectsMalformedFiles) {
  for (const char* bad : {"", "1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt 0\n", "0\n1\nt x 1\n", "0\n1\nt 0 1 2\n",
                          "0\n1\nbad/topic 0 1\n", "0\n1\nt -1 5\n", "0\n99999999999999999999\n", "zero\n0\n"}) {
    EXPECT_FALSE(parse_offset_checkpoint(bad)) << bad;
  }
  EXPECT_TRUE(parse_offset_checkpoint("0\n1\nt 0 -1"));  // no final newline is fine
}

TEST(StorageTopicPartition, ParsesDirectoryNames) {
  auto p = parse_partition_dir("my.topic-with-dashes-12");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->tp.topic, "my.topic-with-dashes");
  EXPECT_EQ(p->tp.partition, 12);
  EXPECT_EQ(p->kind, PartitionDirKind::kLive);
  p = parse_partition_dir("__consumer_offsets-0");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->tp.topic, "__consumer_offsets");
  p = parse_partition_dir("t-1.0123456789abcdef0123456789abcdef-delete");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, PartitionDirKind::kDelete);
  EXPECT_EQ(p->tp, (TopicPartition{"t", 1}));
  p = parse_partition_dir("a-b-7.0123456789abcdef0123456789abcdef-future");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, PartitionDirKind::kFuture);
  EXPECT_EQ(p->tp, (TopicPartition{"a-b", 7}));
  for (const char* bad : {"topic", "-1", "topic-", "topic-x", "topic-99999999999", "to pic-1",
                          "t-1.nothex-delete", "lost+found"}) {
    EXPECT_FALSE(parse_partition_dir(bad)) << bad;
  }
  p = parse_partition_dir("topic--1");  // topic "topic-" is legal
  ASSERT_TRUE(p);
  EXPECT_EQ(p->tp, (TopicPartition{"topic-", 1}));
  std::string del = deleted_dir_name({"x.y-z", 4});
  p = parse_partition_dir(del);
  ASSERT_TRUE(p) << del;
  EXPECT_EQ(p->kind, PartitionDirKind::kDelete);
  EXPECT_EQ(p->tp, (TopicPartition{"x.y-z", 4}));
  EXPECT_EQ(partition_dir_name({"x.y-z", 4}), "x.y-z-4");
}

class StorageLogManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<LogManager> open_manager() {
    LogManagerOptions o;
    o.log_dirs = {root_.sub("d1"), root_.sub("d2")};
    auto m = LogManager::open(posix_env(), o);
    EXPECT_TRUE(m) << m.status().to_string();
    return m ? std::move(*m) : nullptr;
  }
  std::unique_ptr<Log> open(LogManager& m, const TopicPartition& tp) {
    auto log = m.open_log(tp, LogConfig{}, kManagerNow);
    EXPECT_TRUE(log) << log.status().to_string();
    return log ? std::move(*log) : nullptr;
  }
  static void fill(Log& log, int batches) {
    for (int i = 0; i < batches; ++i) {
      auto b = make_batch(2);
      ASSERT_EQ(log.append(b, 0, kManagerNow, false).error, ErrorCode::NONE);
    }
  }
  TempDir root_;
};

TEST_F(StorageLogManagerTest, CleanShutdownRoundTrip) {
  const TopicPartition a{"orders.v1", 0}, b{"orders.v1", 1}, c{"click-stream", 7};
  {
    auto m = open_manager();
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->partitions().empty());
    auto la = open(*m, a), lb = open(*m, b), lc = open(*m, c);
    EXPECT_FALSE(m->open_log(a, LogConfig{}, kManagerNow)) << "one live Log per partition";
    fill(*la, 3);
    fill(*lb, 5);
    fill(*lc, 1);
    ASSERT_TRUE(lb->maybe_increment_log_start_offset(4, 10));
    // New logs go to the dir with the fewest partitions.
    int in_d1 = 0;
    for (auto& [tp, path] : m->partitions()) in_d1 += path.rfind(root_.sub("d1"), 0) == 0;
    EXPECT_TRUE(in_d1 == 1 || in_d1 == 2);
    EXPECT_FALSE(m->write_clean_shutdown()) << "logs are still open";
    for (auto* log : {la.get(), lb.get(), lc.get()}) {
      ASSERT_TRUE(log->close());
      m->release(log->topic_partition());
    }
    ASSERT_TRUE(m->write_clean_shutdown());
  }
  for (const char* d : {"d1", "d2"}) {
    EXPECT_TRUE(posix_env()->exists(root_.sub(d) + "/" + std::string(format::kCleanShutdownMarker)));
    EXPECT_TRUE(posix_env()->exists(root_.sub(d) + "/" + std::string(format::kRecoveryPointCheckpoint)));
    EXPECT_TRUE(posix_env()->exists(root_.sub(d) + "/" + std::string(format::kLogStartOffsetCheckpoint)));
  }
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->log_dirs()[0].clean_shutdown);
  EXPECT_TRUE(m->log_dirs()[1].clean_shutdown);
  EXPECT_FALSE(posix_env()->exists(root_.sub("d1") + "/" + std::string(format::kCleanShutdownMarker)))
      << "the marker is removed at start";
  auto parts = m->partitions();
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts.count(c), 1u);
  auto lb = open(*m, b);
  EXPECT_EQ(lb->log_end_offset(), 10);
  EXPECT_EQ(lb->log_start_offset(), 4);
  EXPECT_EQ(lb->recovery_info().segments_recovered, 0);
  auto lc = open(*m, c);
  EXPECT_EQ(lc->log_end_offset(), 2);
}

// Kafka's replication-offset-checkpoint (high watermarks: the log ends on one
// node) beside the other checkpoints, and leader-epoch-checkpoint in each
// partition directory (epoch 0 from the log start).
TEST_F(StorageLogManagerTest, ReplicationOffsetAndLeaderEpochCheckpoints) {
  const TopicPartition a{"hw", 0}, b{"hw", 1};
  auto m = open_manager();
  ASSERT_TRUE(m);
  auto la = open(*m, a), lb = open(*m, b);
  fill(*la, 3);
  fill(*lb, 1);
  ASSERT_TRUE(lb->maybe_increment_log_start_offset(1, 2));
  ASSERT_TRUE(m->write_checkpoints());
  OffsetMap hws;
  for (const char* d : {"d1", "d2"}) {
    auto got = read_offset_checkpoint(posix_env(), root_.sub(d) + "/" + std::string(format::kReplicationOffsetCheckpoint));
    ASSERT_TRUE(got) << got.status().to_string();
    hws.insert(got->begin(), got->end());
  }
  EXPECT_EQ(hws, (OffsetMap{{a, 6}, {b, 2}}));
  auto epochs = read_file_to_string(posix_env(), la->dir() + "/" + std::string(format::kLeaderEpochCheckpoint), 4096);
  ASSERT_TRUE(epochs);
  EXPECT_EQ(*epochs, "0\n1\n0 0\n");
  // Reopened after the log start moved, the file follows it.
  ASSERT_TRUE(lb->close());
  m->release(b);
  lb = open(*m, b);
  epochs = read_file_to_string(posix_env(), lb->dir() + "/" + std::string(format::kLeaderEpochCheckpoint), 4096);
  ASSERT_TRUE(epochs);
  EXPECT_EQ(*epochs, "0\n1\n0 1\n");
}

TEST_F(StorageLogManagerTest, UncleanShutdownRecoversFromCheckpoint) {
  const TopicPartition a{"t", 0};
  {
    auto m = open_manager();
    auto la = open(*m, a);
    fill(*la, 4);
    ASSERT_TRUE(la->flush());
    fill(*la, 2);
    ASSERT_TRUE(m->write_checkpoints());  // periodic checkpoint, then "crash"
    m->release(a);
  }
  auto rp = read_offset_checkpoint(posix_env(), root_.sub("d1/") + std::string(format::kRecoveryPointCheckpoint));
  ASSERT_TRUE(rp);
  auto m = open_manager();
  EXPECT_FALSE(m->log_dirs()[0].clean_shutdown);
  auto la = open(*m, a);
  EXPECT_FALSE(la->recovery_info().clean_shutdown);
  EXPECT_EQ(la->recovery_info().segments_recovered, 1);
  EXPECT_EQ(la->log_end_offset(), 12);
  EXPECT_EQ(la->recovery_point(), 8) << "recovery point from the checkpoint";
}

TEST_F(StorageLogManagerTest, DeleteLogAndLeftoverDeleteDirs) {
  const TopicPartition a{"gone.topic", 2};
  {
    auto m = open_manager();
    auto la = open(*m, a);
    fill(*la, 2);
    auto r = la->read(0, 1000, INT64_MAX, true);
    ASSERT_TRUE(m->delete_log(a, la.get(), kManagerNow, 1000));
    m->release(a);
    EXPECT_TRUE(m->partitions().empty());
    // Renamed at once, so the name is free; removed in the background after the delay.
    auto parent = parent_dir(la->dir());
    EXPECT_FALSE(posix_env()->exists(join_path(parent, partition_dir_name(a))));
    EXPECT_TRUE(posix_env()->is_dir(la->dir()));
    EXPECT_NE(la->dir().find("gone.topic-2."), std::string::npos) << la->dir();
    EXPECT_EQ(la->dir().substr(la->dir().size() - 7), "-delete") << la->dir();
    auto again = open(*m, a);  // re-created under the same name at once
    ASSERT_TRUE(again);
    EXPECT_EQ(again->log_end_offset(), 0);
    EXPECT_EQ(*m->remove_deleted_dirs(kManagerNow + 999), 0);
    EXPECT_TRUE(posix_env()->is_dir(la->dir()));
    EXPECT_EQ(*m->remove_deleted_dirs(kManagerNow + 1000), 1);
    EXPECT_FALSE(posix_env()->exists(la->dir()));
    EXPECT_EQ(m->pending_dir_deletions(), 0u);
    EXPECT_EQ(testing::read_chunks(r).size(), r.bytes) << "in-flight reads survive deletion";
    ASSERT_TRUE(m->delete_log(a, again.get(), kManagerNow, 0));
    m->release(a);
    EXPECT_EQ(*m->remove_deleted_dirs(kManagerNow), 1);
  }
  // A -delete dir left by a crash is removed at the next start.
  ASSERT_TRUE(create_dirs(posix_env(), root_.sub("d2/x-0.0123456789abcdef0123456789abcdef-delete")));
  ASSERT_TRUE(write_file_atomically(posix_env(), root_.sub("d2/x-0.0123456789abcdef0123456789abcdef-delete/f"), "z"));
  auto m = open_manager();
  EXPECT_EQ(m->log_dirs()[1].pending_deletions_removed, 1);
  auto names = posix_env()->list_dir(root_.sub("d1"));
  auto names2 = posix_env()->list_dir(root_.sub("d2"));
  for (const auto& n : *names) EXPECT_EQ(n.find("gone.topic"), std::string::npos) << n;
  for (const auto& n : *names2) EXPECT_EQ(n.find("-delete"), std::string::npos) << n;
}

TEST_F(StorageLogManagerTest, DeleteUnopenedRenamesAStrayCopyButNeverAnOpenLog) {
  const TopicPartition stray{"moved", 0}, live{"kept", 1};
  {
    auto m = open_manager();
    fill(*open(*m, stray), 3);
    m->release(stray);
    fill(*open(*m, live), 1);
    m->release(live);
  }
  auto m = open_manager();  // both found on disk, neither opened
  auto dirs = m->partitions();
  ASSERT_EQ(dirs.size(), 2u);
  auto kept = open(*m, live);
  EXPECT_FALSE(m->delete_unopened(live, kManagerNow, 0)) << "an open log is not a stray";
  EXPECT_FALSE(m->delete_unopened(TopicPartition{"never", 0}, kManagerNow, 0));
  ASSERT_TRUE(m->delete_unopened(stray, kManagerNow, 1000));
  EXPECT_FALSE(posix_env()->exists(dirs[stray]));
  EXPECT_EQ(m->partitions().count(stray), 0u);
  EXPECT_EQ(m->pending_dir_deletions(), 1u);
  EXPECT_EQ(*m->remove_deleted_dirs(kManagerNow + 1000), 1);
  EXPECT_TRUE(posix_env()->is_dir(dirs[live]));
}

TEST_F(StorageLogManagerTest, IgnoresMetadataLogAndStrangers) {
  ASSERT_TRUE(create_dirs(posix_env(), root_.sub("d1/__cluster_metadata-0")));
  ASSERT_TRUE(create_dirs(posix_env(), root_.sub("d1/lost+found")));
  ASSERT_TRUE(write_file_atomically(posix_env(), root_.sub("d1/meta.properties"), "node.id=1\n"));
  auto m = open_manager();
  EXPECT_TRUE(m->partitions().empty());
}

TEST_F(StorageLogManagerTest, CorruptCheckpointTakesTheDirOffline) {
  ASSERT_TRUE(create_dirs(posix_env(), root_.sub("d1")));
  ASSERT_TRUE(write_file_atomically(posix_env(), root_.sub("d1/") + std::string(format::kRecoveryPointCheckpoint),
                                    "7\ngarbage\n"));
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->log_dirs()[0].online);
  EXPECT_TRUE(m->log_dirs()[1].online);
  auto log = open(*m, {"t", 0});
  EXPECT_EQ(log->dir().rfind(root_.sub("d2"), 0), 0u) << "new logs only go to online dirs";
}

// ---- moving a partition to the other log dir (AlterReplicaLogDirs) ----

// Copies `from` into a future log in the other dir step by step, while
// appends keep coming, then swaps it in.
TEST_F(StorageLogManagerTest, MovesALogToTheOtherDirAndReopensItThere) {
  const TopicPartition tp{"moving", 3};
  auto m = open_manager();
  auto from = open(*m, tp);
  LogConfig small;
  small.segment_bytes = 600;  // several segments
  from->update_config(small);
  fill(*from, 12);
  from->assign_epoch_start(0);
  ASSERT_TRUE(from->maybe_increment_log_start_offset(4, from->log_end_offset()));
  const size_t src = *m->dir_of(tp), dst = 1 - src;
  EXPECT_FALSE(m->open_future_log(tp, src, small, kManagerNow)) << "the dir it is already in";
  auto future = m->open_future_log(tp, dst, small, kManagerNow);
  ASSERT_TRUE(future) << future.status().to_string();
  EXPECT_FALSE(m->open_future_log(tp, dst, small, kManagerNow)) << "one copy at a time";
  ASSERT_EQ(m->future_dirs().count(tp), 1u);
  EXPECT_NE(m->future_dirs()[tp].find("-future"), std::string::npos);
  int steps = 0;
  for (bool done = false; !done && steps < 100; ++steps) {
    auto step = copy_log_step(*from, **future, 200, kManagerNow);
    ASSERT_TRUE(step) << step.status().to_string();
    done = step->caught_up;
    if (steps == 2) fill(*from, 2);  // the partition keeps taking appends
  }
  EXPECT_GT(steps, 3) << "copied in bounded steps";
  from->assign_epoch_start(5);  // an epoch begun at the log end, no batch yet
  ASSERT_TRUE(finish_log_copy(*from, **future));
  EXPECT_EQ((*future)->log_start_offset(), 4);
  EXPECT_EQ((*future)->leader_epoch_cache().latest_epoch(), 5);
  const int64_t end = from->log_end_offset();
  const auto want = testing::read_chunks(from->read(4, 1 << 20, end, true));
  ASSERT_TRUE((*future)->close());
  ASSERT_TRUE(m->promote_future(tp, from.get(), future->get(), kManagerNow, 0));
  future->reset();
  EXPECT_TRUE(m->future_dirs().empty());
  EXPECT_EQ(m->dir_of(tp), dst);
  auto moved = open(*m, tp);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->dir(), join_path(m->dir_path(dst), partition_dir_name(tp)));
  EXPECT_EQ(moved->log_end_offset(), end);
  EXPECT_EQ(moved->log_start_offset(), 4);
  EXPECT_EQ(testing::read_chunks(moved->read(4, 1 << 20, end, true)), want) << "the same batches at the same offsets";
  EXPECT_EQ(*m->remove_deleted_dirs(kManagerNow), 1) << "the old directory goes";
  EXPECT_FALSE(posix_env()->exists(join_path(m->dir_path(src), partition_dir_name(tp))));
  fill(*moved, 1);
  EXPECT_EQ(moved->log_end_offset(), end + 2);
}

// A crash between the two renames of the swap: the future directory is the
// partition (the old one is already "-delete"); a future next to a live
// directory is an unfinished copy and goes.
TEST_F(StorageLogManagerTest, FutureDirsFoundAtStartAreFinishedOrRemoved) {
  const TopicPartition swapped{"swapped", 0}, unfinished{"unfinished", 0};
  std::string swapped_future, unfinished_future, swapped_live;
  {
    auto m = open_manager();
    for (const auto& tp : {swapped, unfinished}) {
      auto log = open(*m, tp);
      fill(*log, 3);
      auto future = m->open_future_log(tp, 1 - *m->dir_of(tp), LogConfig{}, kManagerNow);
      ASSERT_TRUE(future);
      for (int i = 0; i < 10 && !copy_log_step(*log, **future, 1 << 20, kManagerNow)->caught_up; ++i) {
      }
      ASSERT_TRUE((*future)->close());
      (tp == swapped ? swapped_future : unfinished_future) = (*future)->dir();
      ASSERT_TRUE(log->close());
      m->release(tp);
      if (tp == swapped) {
        swapped_live = log->dir();
        ASSERT_TRUE(posix_env()->rename(log->dir(), log->dir() + ".0123456789abcdef0123456789abcdef-delete"));
      }
    }
  }  // "crash": no clean shutdown
  auto m = open_manager();
  ASSERT_TRUE(m);
  EXPECT_FALSE(posix_env()->exists(swapped_future));
  EXPECT_FALSE(posix_env()->exists(unfinished_future));
  EXPECT_FALSE(posix_env()->exists(swapped_live));
  auto parts = m->partitions();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[swapped], join_path(parent_dir(swapped_future), partition_dir_name(swapped)));
  EXPECT_NE(parent_dir(parts[unfinished]), parent_dir(unfinished_future)) << "stays where it was";
  auto log = open(*m, swapped);
  EXPECT_EQ(log->log_end_offset(), 6);
}

TEST_F(StorageLogManagerTest, AnAbandonedCopyIsRemoved) {
  const TopicPartition tp{"given-up", 1};
  auto m = open_manager();
  auto log = open(*m, tp);
  fill(*log, 2);
  auto future = m->open_future_log(tp, 1 - *m->dir_of(tp), LogConfig{}, kManagerNow);
  ASSERT_TRUE(future);
  const std::string dir = (*future)->dir();
  ASSERT_TRUE(copy_log_step(*log, **future, 1 << 20, kManagerNow));
  m->drop_future_log(tp, std::move(*future));
  EXPECT_FALSE(posix_env()->exists(dir));
  EXPECT_TRUE(m->future_dirs().empty());
  EXPECT_TRUE(m->open_future_log(tp, 1 - *m->dir_of(tp), LogConfig{}, kManagerNow)) << "can be asked again";
}

}  // namespace
}  // namespace samsa::storage
