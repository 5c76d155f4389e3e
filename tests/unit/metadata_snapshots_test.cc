// MetadataSnapshots (src/quorum/): snapshots of the metadata image taken by
// every node of a quorum as it applies committed batches, the log prefix they
// cover dropped, the newest loaded at restart, and one installed by a
// follower that fell behind the leader's log start. Real QuorumMetadataLogs
// over DiskRaftLog + FileSnapshotStore on files (syncs skipped), sharing one
// io_context through loopback peers. Every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include "base/clock.h"
#include "cluster/metadata_loader.h"
#include "cluster/metadata_records.h"
#include "quorum/metadata_snapshots.h"
#include "quorum/quorum_metadata_log.h"
#include "quorum/quorum_node.h"
#include "raft/disk_raft_log.h"
#include "raft/file_snapshot_store.h"
#include "raft/flush_thread.h"
#include "storage/fault_injection_env.h"
#include "storage_test_util.h"

namespace samsa::quorum {
namespace {

using namespace std::chrono_literals;

struct Harness;

class Loopback final : public QuorumPeers {
 public:
  Loopback(Harness& h, NodeId self) : h_(h), self_(self) {}
  asio::awaitable<std::optional<raft::MessageBody>> request(NodeId to, raft::MessageBody request,
                                                           std::chrono::milliseconds timeout) override;

 private:
  Harness& h_;
  NodeId self_;
};

// One node; its directory survives close() and open() again (a restart).
struct SnapNode {
  SnapNode(Harness& h, int id) : h(h), id(id), env(storage::posix_env()) { env.set_skip_real_sync(true); }

  void open(const std::vector<NodeId>& voters);
  void close();
  size_t topics() const { return loader ? loader->image()->topics.size() : 0; }
  std::string part_dir() const { return raft::metadata_partition_dir(dir.path()); }

  Harness& h;
  int id;
  storage::testing::TempDir dir;
  storage::FaultInjectionEnv env;
  bool up = true;
  int full_deltas = 0;
  std::unique_ptr<raft::FileSnapshotStore> store;
  std::unique_ptr<raft::DiskRaftLog> log;
  std::unique_ptr<DiskLogSyncer> syncer;
  std::unique_ptr<raft::FileQuorumStateStore> state;
  std::unique_ptr<Loopback> peers;
  std::unique_ptr<QuorumMetadataLog> mlog;
  std::unique_ptr<cluster::MetadataLoader> loader;
  std::unique_ptr<MetadataSnapshots> snaps;
};

struct Harness {
  explicit Harness(int n) {
    for (int i = 1; i <= n; ++i) {
      voters.push_back(NodeId(i));
      nodes[i] = std::make_unique<SnapNode>(*this, i);
    }
    for (auto& [id, node] : nodes) node->open(voters);
  }
  ~Harness() {
    for (auto& [id, node] : nodes) node->close();
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) io.run_for(5ms);
    return pred();
  }
  std::optional<int> leader() {
    for (auto& [id, n] : nodes)
      if (n->up && n->mlog && n->mlog->is_leader()) return id;
    return std::nullopt;
  }
  // Creates topic t<i> (one TopicRecord and one PartitionRecord) through the leader.
  bool create_topic(int i) {
    auto l = leader();
    if (!l && !run_until([&] { return (l = leader()).has_value(); }, 10s)) return false;
    protocol::Uuid tid{};
    tid[0] = 7;
    tid[14] = static_cast<uint8_t>(i >> 8);
    tid[15] = static_cast<uint8_t>(i);
    std::vector<protocol::Bytes> values{
        cluster::encode_record(cluster::topic_record("t" + std::to_string(i), tid)),
        cluster::encode_record(cluster::partition_record(tid, 0, {*l}, {*l}, *l, 0))};
    std::optional<raft::AppendResult> r;
    asio::co_spawn(io, nodes[*l]->mlog->append(std::move(values)),
                   [&r](std::exception_ptr, raft::AppendResult res) { r = res; });
    run_until([&] { return r.has_value(); }, 5s);
    return r && r->error == ErrorCode::NONE;
  }

  asio::io_context io;
  raft::FlushThread flush;
  std::vector<NodeId> voters;
  std::map<int, std::unique_ptr<SnapNode>> nodes;
};

asio::awaitable<std::optional<raft::MessageBody>> Loopback::request(NodeId to, raft::MessageBody request,
                                                                   std::chrono::milliseconds timeout) {
  auto it = h_.nodes.find(to.value);
  if (it == h_.nodes.end() || !it->second->up || !it->second->mlog || !h_.nodes[self_.value]->up)
    co_return std::nullopt;
  co_return co_await it->second->mlog->handle_message(std::move(request), timeout);
}

void SnapNode::open(const std::vector<NodeId>& voters) {
  h.io.restart();  // a close() may have run the loop out of work
  auto s = raft::FileSnapshotStore::open(&env, part_dir());
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  store = std::move(s).value();
  raft::DiskRaftLogOptions lo;
  lo.snapshot = store->latest();
  auto opened = raft::DiskRaftLog::open(&env, dir.path(), SystemClock::instance(), lo);
  ASSERT_TRUE(opened.log) << opened.error;
  log = std::move(opened.log);
  syncer = std::make_unique<DiskLogSyncer>(*log);
  state = std::make_unique<raft::FileQuorumStateStore>(&env, part_dir());
  peers = std::make_unique<Loopback>(h, NodeId(id));
  raft::RaftConfig cfg;
  cfg.local_id = NodeId(id);
  cfg.voters = voters;
  cfg.election_timeout_ms = 100;
  cfg.fetch_timeout_ms = 200;
  cfg.election_backoff_max_ms = 100;
  cfg.request_timeout_ms = 200;
  cfg.fetch_max_wait_ms = 50;
  cfg.fetch_snapshot_max_bytes = 512;  // several FetchSnapshot chunks
  mlog = std::make_unique<QuorumMetadataLog>(h.io.get_executor(), cfg, *log, *syncer, *state, h.flush, *peers,
                                             SystemClock::instance(), 100 + id);
  loader = std::make_unique<cluster::MetadataLoader>(*mlog, [this](cluster::ImagePtr, cluster::DeltaPtr d) {
    if (d->full) ++full_deltas;
  });
  raft::SnapshotPolicyConfig policy;
  policy.max_bytes_between_snapshots = 1024;
  snaps = std::make_unique<MetadataSnapshots>(h.io.get_executor(), *store, h.flush, SystemClock::instance(), policy,
                                              *mlog, *loader);
  ASSERT_EQ(snaps->start(), "");
  ASSERT_EQ(mlog->start(), "");
  ASSERT_TRUE(loader->load());
}

void SnapNode::close() {
  if (!mlog) return;
  bool done = false;
  asio::co_spawn(h.io, mlog->stop(0ms), [&done](std::exception_ptr) { done = true; });
  h.run_until([&] { return done; }, 2s);
  // Writes still on the flush thread finish before the store goes.
  h.run_until([&] { return !snaps->writing(); }, 5s);
  h.io.run_for(20ms);
  snaps.reset();
  loader.reset();
  mlog.reset();
  h.io.poll();
  peers.reset();
  state.reset();
  syncer.reset();
  (void)log->close();
  log.reset();
  store.reset();
}

int checkpoint_files(const std::string& dir) {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".checkpoint") ++n;
  return n;
}

TEST(MetadataSnapshots, OneVoterTakesSnapshotsDropsThePrefixAndRestartsFromTheNewest) {
  Harness h(1);
  auto& n = *h.nodes[1];
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(h.create_topic(i)) << i;
  ASSERT_TRUE(h.run_until([&] { return n.snaps->stats().taken >= 2 && !n.snaps->writing(); }, 10s));
  EXPECT_EQ(n.snaps->stats().failed, 0u);
  // Only the newest snapshot is kept, and the log starts at its end.
  ASSERT_EQ(n.store->list().size(), 1u);
  auto latest = *n.store->latest();
  EXPECT_EQ(n.log->start_offset(), latest.end_offset);
  EXPECT_GT(latest.end_offset.value, 0);
  EXPECT_EQ(checkpoint_files(n.part_dir()), 1);
  // The snapshot holds the topics it covers, as records.
  int topics_in_snapshot = 0;
  ASSERT_TRUE(n.store
                  ->load(latest,
                         [&](std::span<const uint8_t> v) {
                           auto r = cluster::decode_record(v);
                           if (r && std::holds_alternative<cluster::TopicRecord>(*r)) ++topics_in_snapshot;
                         })
                  .is_ok());
  EXPECT_GT(topics_in_snapshot, 0);
  ASSERT_EQ(n.topics(), 60u);

  // Restart: the newest snapshot, then only the committed log after it.
  n.close();
  n.open(h.voters);
  ASSERT_TRUE(h.run_until([&] { return h.leader().has_value() && n.topics() == 60u; }, 10s)) << n.topics();
  ASSERT_TRUE(h.create_topic(1000));
  EXPECT_TRUE(h.run_until([&] { return n.topics() == 61u; }, 5s));
}

TEST(MetadataSnapshots, AFollowerBehindTheLeadersLogStartInstallsTheSnapshot) {
  Harness h(3);
  ASSERT_TRUE(h.run_until([&] { return h.leader().has_value(); }, 10s));
  int leader = *h.leader();
  int lagging = leader == 3 ? 2 : 3;
  ASSERT_TRUE(h.create_topic(0));
  ASSERT_TRUE(h.run_until([&] { return h.nodes[lagging]->topics() == 1u; }, 5s));
  h.nodes[lagging]->up = false;
  Offset lagging_end = h.nodes[lagging]->log->end_offset();
  for (int i = 1; i < 60; ++i) ASSERT_TRUE(h.create_topic(i)) << i;
  auto& l = *h.nodes[leader];
  ASSERT_TRUE(h.run_until([&] { return !l.snaps->writing() && l.log->start_offset() > lagging_end; }, 10s));
  int full_before = h.nodes[lagging]->full_deltas;

  h.nodes[lagging]->up = true;
  auto& f = *h.nodes[lagging];
  ASSERT_TRUE(h.run_until([&] { return f.snaps->stats().installed >= 1 && f.topics() == 60u; }, 15s))
      << "installed " << f.snaps->stats().installed << ", topics " << f.topics();
  EXPECT_GT(f.full_deltas, full_before);  // the installed image is published whole
  EXPECT_GT(f.log->start_offset(), lagging_end);  // the log restarted at the snapshot's end
  EXPECT_GE(checkpoint_files(f.part_dir()), 1);
  // It follows on from the snapshot.
  ASSERT_TRUE(h.create_topic(500));
  EXPECT_TRUE(h.run_until([&] { return f.topics() == 61u; }, 5s));
}

}  // namespace
}  // namespace samsa::quorum
