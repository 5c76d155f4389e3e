// What DiskRaftLog and FileSnapshotStore write is what Kafka's
// `kafka-dump-log.sh --cluster-metadata-decoder` reads: the segment and the
// .checkpoint file dump without inconsistency, the LeaderChange, header and
// footer control records by name and the metadata records as JSON.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "base/clock.h"
#include "cli/dump_log_segments.h"
#include "cluster/metadata_records.h"
#include "raft/disk_raft_log.h"
#include "raft/file_snapshot_store.h"
#include "raft/metadata_batches.h"
#include "storage_test_util.h"

namespace samsa::raft {
namespace {

std::pair<bool, std::string> dump(const std::string& path) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  cli::DumpOptions opts;
  opts.cluster_metadata = true;
  opts.print_data = true;
  bool ok = cli::dump_file(path, opts, out);
  std::fclose(out);
  std::string text(buf, len);
  std::free(buf);
  return {ok, text};
}

TEST(RaftDumpFiles, KafkasDumpToolReadsTheLogAndTheSnapshot) {
  storage::testing::TempDir dir;
  ManualClock clock{1'700'000'000'000};
  auto topic = cluster::encode_record(cluster::topic_record("orders", protocol::Uuid{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  {
    auto opened = DiskRaftLog::open(storage::posix_env(), dir.path(), clock);
    ASSERT_TRUE(opened.log);
    auto& log = *opened.log;
    ASSERT_TRUE(log.append(LogEntry{Offset(0), Epoch(1), 1, true,
                                    build_leader_change_batch(LeaderChange{NodeId(1), {NodeId(1), NodeId(2)}, {NodeId(1), NodeId(2)}},
                                                              BatchPlacement{Offset(0), Epoch(1), clock.now_ms()})}));
    std::vector<protocol::Bytes> values{topic};
    ASSERT_TRUE(log.append(LogEntry{Offset(1), Epoch(1), 1, false,
                                    build_data_batch(values, BatchPlacement{Offset(0), Epoch(-1), clock.now_ms()})}));
    ASSERT_TRUE(log.close());
  }
  auto [log_ok, log_text] = dump(storage::join_path(metadata_partition_dir(dir.path()), "00000000000000000000.log"));
  EXPECT_TRUE(log_ok) << log_text;
  EXPECT_NE(log_text.find("controlType: LEADER_CHANGE(2)"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find(R"("type":"TOPIC_RECORD")"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("partitionLeaderEpoch: 1"), std::string::npos) << log_text;

  auto store = FileSnapshotStore::open(storage::posix_env(), metadata_partition_dir(dir.path()));
  ASSERT_TRUE(store.is_ok());
  SnapshotId id{Offset(2), Epoch(1)};
  auto w = (*store)->create(id, clock.now_ms(), clock.now_ms());
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->add(topic));
  ASSERT_TRUE((*w)->finish());
  auto [snap_ok, snap_text] = dump(storage::join_path(metadata_partition_dir(dir.path()), snapshot_file_name(id)));
  EXPECT_TRUE(snap_ok) << snap_text;
  EXPECT_NE(snap_text.find("Snapshot end offset: 2, epoch: 1"), std::string::npos) << snap_text;
  EXPECT_NE(snap_text.find("SnapshotHeader {"), std::string::npos) << snap_text;
  EXPECT_NE(snap_text.find(R"("type":"TOPIC_RECORD")"), std::string::npos) << snap_text;
  EXPECT_NE(snap_text.find("SnapshotFooter {"), std::string::npos) << snap_text;
}

}  // namespace
}  // namespace samsa::raft
