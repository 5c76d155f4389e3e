// Snapshots in the Raft core (KIP-630): file names, the log prefix dropped
// once a committed snapshot covers it, a lagging follower pulling the
// snapshot in chunks with FetchSnapshot and then fetching from its end, and
// FetchSnapshot's errors.
#include <gtest/gtest.h>

#include "raft/raft_snapshot.h"
#include "raft_test_util.h"

namespace samsa::raft {
namespace {

TEST(RaftSnapshot, FileNamesAsInKafka) {
  SnapshotId id{Offset(1000), Epoch(3)};
  EXPECT_EQ(snapshot_file_name(id), "00000000000000001000-0000000003.checkpoint");
  EXPECT_EQ(parse_snapshot_file_name(snapshot_file_name(id)), id);
  for (const char* bad : {"", "00000000000000001000-0000000003.log", "0000000000000000100-0000000003.checkpoint",
                          "00000000000000001000_0000000003.checkpoint", "0000000000000000100x-0000000003.checkpoint",
                          "00000000000000001000-9999999999.checkpoint", "quorum-state"})
    EXPECT_FALSE(parse_snapshot_file_name(bad)) << bad;
}

// A three-voter cluster whose leader snapshots, drops its log prefix, and
// brings back a follower that missed it all.
TEST(RaftSnapshot, ALaggingFollowerCatchesUpThroughTheSnapshot) {
  Cluster c(3, [](RaftConfig& cfg) { cfg.fetch_snapshot_max_bytes = 1024; });
  int leader = c.elect_leader();
  ASSERT_NE(leader, -1);
  int lagging = leader == 3 ? 2 : 3;
  std::vector<MemorySnapshotStore> stores(3);
  for (int id = 1; id <= 3; ++id) c.n(id).core->set_snapshot_reader(&stores[static_cast<size_t>(id - 1)]);
  c.blocked.insert(lagging);
  TestNode& l = c.n(leader);
  for (int k = 0; k < 5; ++k) ASSERT_EQ(l.core->propose(bytes("v" + std::to_string(k)), 1, c.now).error, ErrorCode::NONE);
  c.settle();
  ASSERT_EQ(l.core->high_watermark(), Offset(6));

  // Not committed, not on a boundary, wrong epoch: refused.
  EXPECT_FALSE(l.core->on_snapshot_created(SnapshotId{Offset(7), l.core->epoch()}, c.now));
  EXPECT_FALSE(l.core->on_snapshot_created(SnapshotId{Offset(4), l.core->epoch() + 1}, c.now));
  SnapshotId id{Offset(4), l.core->epoch()};
  std::string state(3000, 's');  // several chunks at 1 KiB
  stores[static_cast<size_t>(leader - 1)].store(id, bytes(state));
  ASSERT_TRUE(l.core->on_snapshot_created(id, c.now));
  EXPECT_EQ(l.log.start_offset(), Offset(4));
  EXPECT_EQ(l.log.entries().front().offset, Offset(4));

  c.blocked.clear();
  TestNode& f = c.n(lagging);
  // Let the follower's next fetch go out and come back with the snapshot id.
  Output install;
  int chunks = 0;
  for (int t = 0; t < 400 && !install.install_snapshot; ++t) {
    c.now += 10;
    f.core->tick(c.now);
    Output out = f.core->take_output();
    install.install_snapshot = std::move(out.install_snapshot);
    for (auto& m : out.messages) c.queue.push_back(m);
    for (int i = 0; i < 1000 && !c.queue.empty(); ++i) {
      Message m = c.queue.front();
      c.queue.pop_front();
      if (std::holds_alternative<FetchSnapshotResponse>(m.body)) ++chunks;
      TestNode& to = c.n(m.to.value);
      to.core->handle(m, c.now);
      Output o = to.core->take_output();
      if (o.install_snapshot) install.install_snapshot = std::move(o.install_snapshot);
      for (auto& x : o.messages) c.queue.push_back(x);
    }
  }
  ASSERT_TRUE(install.install_snapshot);
  EXPECT_GE(chunks, 3) << "3000 bytes in 1 KiB chunks";
  EXPECT_EQ(install.install_snapshot->id, id);
  EXPECT_EQ(install.install_snapshot->bytes, bytes(state));
  // Installed: the follower's log restarts at the snapshot and it fetches on from there.
  ASSERT_TRUE(f.core->on_snapshot_installed(id, c.now));
  EXPECT_FALSE(f.core->on_snapshot_installed(id, c.now)) << "only once";
  EXPECT_EQ(f.log.start_offset(), Offset(4));
  EXPECT_EQ(f.log.last_epoch(), id.epoch);
  EXPECT_GE(f.core->high_watermark().value_or(Offset(-1)), Offset(4));
  for (auto& m : f.core->take_output().messages) c.queue.push_back(m);
  c.settle();
  EXPECT_EQ(f.log.end_offset(), l.log.end_offset());
  EXPECT_EQ(f.core->high_watermark(), l.core->high_watermark());
  EXPECT_EQ(f.core->read_committed(Offset(4), 10).size(), 2u);
}

TEST(RaftSnapshot, FetchSnapshotErrors) {
  TestNode n(1, 3);
  elect(n, 0);
  ASSERT_EQ(n.core->role(), Role::kLeader);
  MemorySnapshotStore store;
  store.store(SnapshotId{Offset(1), Epoch(1)}, bytes("abc"));
  auto ask = [&](FetchSnapshotRequest req) {
    n.core->handle(msg(2, 1, req), 5001);
    n.step();
    return *find_sent<FetchSnapshotResponse>(n.out, 2);
  };
  FetchSnapshotRequest req{NodeId(2), Epoch(1), SnapshotId{Offset(1), Epoch(1)}, 0, 1024};
  EXPECT_EQ(ask(req).error, ErrorCode::SNAPSHOT_NOT_FOUND) << "no reader yet";
  n.core->set_snapshot_reader(&store);
  auto ok = ask(req);
  EXPECT_EQ(ok.error, ErrorCode::NONE);
  EXPECT_EQ(ok.size, 3);
  EXPECT_EQ(ok.bytes, bytes("abc"));
  req.position = 4;
  EXPECT_EQ(ask(req).error, ErrorCode::POSITION_OUT_OF_RANGE);
  req.position = -1;
  EXPECT_EQ(ask(req).error, ErrorCode::INVALID_REQUEST);
  req.position = 0;
  req.snapshot_id = SnapshotId{Offset(9), Epoch(1)};
  EXPECT_EQ(ask(req).error, ErrorCode::SNAPSHOT_NOT_FOUND);
  req.current_leader_epoch = Epoch(0);
  EXPECT_EQ(ask(req).error, ErrorCode::FENCED_LEADER_EPOCH);
}

}  // namespace
}  // namespace samsa::raft
