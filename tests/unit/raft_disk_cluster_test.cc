// Three Raft cores, each over its own DiskRaftLog and FileSnapshotStore on
// real files (a FaultInjectionEnv per node), on an in-order network: the
// LeaderChange and data batches replicate byte for byte, a follower that
// loses its unsynced tail in a power cut catches up, a deposed leader
// truncates its uncommitted entries on disk, and a follower behind the
// leader's snapshot installs it (FetchSnapshot chunks from the leader's
// .checkpoint file) and continues from it, through a restart.
#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "base/clock.h"
#include "base/random.h"
#include "raft/disk_raft_log.h"
#include "raft/file_snapshot_store.h"
#include "raft/metadata_batches.h"
#include "raft/raft_core.h"
#include "storage/fault_injection_env.h"
#include "storage_test_util.h"

namespace samsa::raft {
namespace {

struct DiskNode {
  explicit DiskNode(int id) : id(id), env(storage::posix_env()), rng(static_cast<uint64_t>(id)) {
    env.set_skip_real_sync(true);
  }

  // (Re)starts the node from its files: snapshots, log, quorum state.
  void start(int64_t now) {
    auto s = FileSnapshotStore::open(&env, metadata_partition_dir(dir.path()));
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    snapshots = std::move(s).value();
    DiskRaftLogOptions o;
    o.segment_bytes = 512;
    o.snapshot = snapshots->latest();
    auto opened = DiskRaftLog::open(&env, dir.path(), clock, o);
    ASSERT_TRUE(opened.log) << opened.error;
    log = std::move(opened.log);
    RaftConfig cfg;
    cfg.local_id = NodeId(id);
    cfg.voters = {NodeId(1), NodeId(2), NodeId(3)};
    cfg.fetch_snapshot_max_bytes = 100;  // many chunks
    core = std::make_unique<RaftCore>(cfg, *log, rng, quorum_state, now);
    core->set_snapshot_reader(snapshots.get());
    // The state machine starts from the snapshot its log continues.
    applied.clear();
    applied_to = Offset(0);
    if (auto latest = snapshots->latest()) load(*latest);
  }
  void load(const SnapshotId& id) {
    applied.clear();
    auto info = snapshots->load(id, [&](std::span<const uint8_t> v) { applied.emplace_back(v.begin(), v.end()); });
    ASSERT_TRUE(info.is_ok()) << info.status().to_string();
    applied_to = id.end_offset;
  }
  // Applies what is committed (the metadata loader's job).
  void apply() {
    for (int i = 0; i < 1000; ++i) {
      auto batch = core->read_committed(applied_to, 16);
      if (batch.empty()) return;
      for (auto& e : batch) {
        ASSERT_EQ(e.offset, applied_to);
        applied_to = e.end();
        if (e.control) continue;
        auto values = batch_values(e.data);
        ASSERT_TRUE(values);
        for (auto& v : *values) applied.emplace_back(v.begin(), v.end());
      }
    }
  }
  // Snapshots the applied state; the log drops the prefix.
  void snapshot(int64_t now) {
    auto before = log->read(applied_to - 1, 1, 1 << 20);
    ASSERT_FALSE(before.empty());
    ASSERT_EQ(before.front().end(), applied_to);
    SnapshotId id{applied_to, before.front().epoch};
    auto w = snapshots->create(id, clock.now_ms(), clock.now_ms());
    ASSERT_TRUE(w.is_ok());
    for (auto& s : applied) ASSERT_TRUE((*w)->add(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())));
    ASSERT_TRUE((*w)->finish());
    ASSERT_TRUE(core->on_snapshot_created(id, now));
    ASSERT_TRUE(snapshots->remove_older_than(id));
  }
  void crash() {
    core.reset();
    log.reset();
    snapshots.reset();
    ASSERT_TRUE(env.power_cut());
  }

  int id;
  storage::testing::TempDir dir;
  storage::FaultInjectionEnv env;
  ManualClock clock{1'700'000'000'000};
  Random rng;
  std::optional<QuorumStateData> quorum_state;  // the quorum-state file (durable at once)
  std::unique_ptr<FileSnapshotStore> snapshots;
  std::unique_ptr<DiskRaftLog> log;
  std::unique_ptr<RaftCore> core;
  std::vector<std::string> applied;
  Offset applied_to{0};
};

struct DiskCluster {
  DiskCluster() {
    for (int i = 1; i <= 3; ++i) nodes.push_back(std::make_unique<DiskNode>(i));
    for (auto& n : nodes) n->start(0);
  }
  DiskNode& n(int id) { return *nodes[static_cast<size_t>(id - 1)]; }

  void take(DiskNode& node) {
    if (!node.core) return;
    for (int round = 0; round < 100; ++round) {
      Output out = node.core->take_output();
      if (out.empty()) break;
      ASSERT_EQ(out.fatal, "") << "node " << node.id;
      if (out.persist) node.quorum_state = *out.persist;
      if (out.install_snapshot) {
        ASSERT_TRUE(node.snapshots->install(out.install_snapshot->id, out.install_snapshot->bytes));
        if (node.core->on_snapshot_installed(out.install_snapshot->id, now)) node.load(out.install_snapshot->id);
      }
      if (out.sync_log) {
        auto job = node.log->prepare_sync();
        node.log->complete_sync(job, job.run());
        node.core->on_log_synced(now);
      }
      for (auto& m : out.messages) queue.push_back(m);
    }
    node.apply();
  }
  void settle() {
    for (auto& node : nodes) take(*node);
    for (int i = 0; i < 20000 && !queue.empty(); ++i) {
      Message m = queue.front();
      queue.pop_front();
      if (blocked.count(m.to.value) || blocked.count(m.from.value)) continue;
      DiskNode& to = n(m.to.value);
      if (!to.core) continue;
      to.core->handle(m, now);
      take(to);
    }
  }
  void run_for(int64_t ms) {
    for (int64_t t = 0; t < ms; t += 10) {
      now += 10;
      for (auto& node : nodes)
        if (node->core) node->core->tick(now);
      settle();
    }
  }
  int leader() {
    for (auto& node : nodes)
      if (node->core && node->core->role() == Role::kLeader && !blocked.count(node->id)) return node->id;
    return -1;
  }
  int elect() {
    for (int i = 0; i < 1000 && leader() == -1; ++i) run_for(10);
    return leader();
  }
  ProposeResult propose(int leader, const std::vector<std::string>& values) {
    std::vector<protocol::Bytes> bytes;
    for (auto& v : values) bytes.emplace_back(v.begin(), v.end());
    auto r = n(leader).core->propose(build_data_batch(bytes, BatchPlacement{Offset(0), Epoch(-1), 0}),
                                     static_cast<int32_t>(values.size()), now);
    settle();
    return r;
  }
  std::vector<LogEntry> log_of(int id) { return n(id).log->read(n(id).log->start_offset(), 100000, 1 << 30); }

  std::vector<std::unique_ptr<DiskNode>> nodes;
  std::deque<Message> queue;
  std::set<int32_t> blocked;
  int64_t now = 0;
};

TEST(RaftDiskCluster, ReplicatesTruncatesAndInstallsSnapshotsOnDisk) {
  DiskCluster c;
  int first = c.elect();
  ASSERT_NE(first, -1);
  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    std::vector<std::string> vals{"a" + std::to_string(i), "b" + std::to_string(i)};
    ASSERT_EQ(c.propose(first, vals).error, ErrorCode::NONE);
    expected.insert(expected.end(), vals.begin(), vals.end());
  }
  c.run_for(200);
  for (int id = 1; id <= 3; ++id) {
    EXPECT_EQ(c.n(id).applied, expected) << "node " << id;
    EXPECT_EQ(c.log_of(id), c.log_of(first)) << "node " << id << ": the same batches, byte for byte";
  }
  ASSERT_TRUE(c.log_of(first).front().control);
  EXPECT_TRUE(parse_leader_change(c.log_of(first).front().data));

  // A follower loses power; the others go on; it restarts and catches up.
  int f = first % 3 + 1;
  c.n(f).crash();
  ASSERT_TRUE(c.propose(first, {"while-down"}).error == ErrorCode::NONE);
  expected.push_back("while-down");
  c.n(f).start(c.now);
  c.run_for(3000);
  EXPECT_EQ(c.n(f).applied, expected);

  // The leader is cut off and appends what can never commit; the others
  // elect a new leader and commit; the old one comes back and truncates.
  c.blocked.insert(first);
  ASSERT_EQ(c.propose(first, {"lost-1", "lost-2"}).error, ErrorCode::NONE);
  c.run_for(100);
  ASSERT_EQ(c.propose(first, {"lost-3"}).error, ErrorCode::NONE);
  const Offset lost_end = c.n(first).log->end_offset();
  ASSERT_GT(lost_end, c.n(f).log->end_offset());  // on its disk only
  int second = -1;
  for (int i = 0; i < 200 && (second == -1 || second == first); ++i) {
    c.run_for(50);
    second = c.leader();
  }
  ASSERT_NE(second, -1);
  ASSERT_NE(second, first);
  ASSERT_EQ(c.propose(second, {"new-1"}).error, ErrorCode::NONE);
  expected.push_back("new-1");
  c.blocked.clear();
  c.run_for(5000);
  for (int id = 1; id <= 3; ++id) {
    EXPECT_EQ(c.n(id).applied, expected) << "node " << id;
    EXPECT_EQ(c.log_of(id), c.log_of(second)) << "node " << id;
  }
  for (auto& e : c.log_of(first)) {
    if (e.control) continue;
    auto values = batch_values(e.data);
    ASSERT_TRUE(values);
    for (auto& v : *values) EXPECT_NE(std::string(v.begin(), v.end()).substr(0, 4), "lost");
  }

  // A follower falls behind a snapshot of the leader: it fetches the
  // .checkpoint file in chunks, installs it and continues from its end.
  int lag = second % 3 + 1;
  c.blocked.insert(lag);
  int leader = c.leader();
  ASSERT_NE(leader, -1);
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(c.propose(leader, {"s" + std::to_string(i)}).error, ErrorCode::NONE);
    expected.push_back("s" + std::to_string(i));
  }
  c.run_for(100);
  for (int id = 1; id <= 3; ++id)
    if (id != lag) ASSERT_NO_FATAL_FAILURE(c.n(id).snapshot(c.now));
  ASSERT_GT(c.n(leader).log->start_offset(), Offset(0));
  c.blocked.clear();
  c.run_for(5000);
  EXPECT_EQ(c.n(lag).applied, expected);
  EXPECT_EQ(c.n(lag).log->start_offset(), c.n(leader).log->start_offset());
  EXPECT_EQ(c.n(lag).snapshots->latest(), c.n(leader).snapshots->latest());  // installed: it took none itself
  ASSERT_EQ(c.propose(leader, {"after-snapshot"}).error, ErrorCode::NONE);
  expected.push_back("after-snapshot");
  c.run_for(200);
  EXPECT_EQ(c.n(lag).applied, expected);

  // Everyone restarts from disk (power cuts everywhere) and agrees again.
  for (auto& node : c.nodes) node->crash();
  for (auto& node : c.nodes) node->start(c.now);
  ASSERT_NE(c.elect(), -1);
  c.run_for(3000);
  int last = c.leader();
  ASSERT_NE(last, -1);
  ASSERT_EQ(c.propose(last, {"after-restart"}).error, ErrorCode::NONE);
  expected.push_back("after-restart");
  c.run_for(2000);
  for (int id = 1; id <= 3; ++id) EXPECT_EQ(c.n(id).applied, expected) << "node " << id;
}

}  // namespace
}  // namespace samsa::raft
