// DiskRaftLog against MemoryRaftLog as a model, over seeded random histories
// of appends (new epochs, data batches), syncs, truncations, snapshots
// dropping the prefix or replacing the log, and power cuts on small segments.
// Between crashes the two answer every query alike; after a power cut what
// the disk log had called flushed is all still there, everything else it
// recovers was once written at that offset, and it all counts as flushed.
// A failing seed is printed (SAMSA_SEED=<seed> replays it alone).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "base/clock.h"
#include "base/random.h"
#include "raft/disk_raft_log.h"
#include "raft/metadata_batches.h"
#include "raft/raft_log.h"
#include "storage/fault_injection_env.h"
#include "storage_test_util.h"

namespace samsa::raft {
namespace {

struct ModelRun {
  explicit ModelRun(uint64_t seed) : rng(seed), env(storage::posix_env()) { env.set_skip_real_sync(true); }

  void open() {
    DiskRaftLogOptions o;
    o.segment_bytes = 300 + static_cast<int32_t>(rng.uniform(0, 400));
    o.snapshot = snapshot;
    auto opened = DiskRaftLog::open(&env, dir.path(), clock, o);
    ASSERT_EQ(opened.error, "");
    disk = std::move(opened.log);
  }

  // The next batch, already carrying its offset and epoch (so both logs hold the same bytes).
  LogEntry next_entry() {
    Offset at = model.end_offset();
    if (rng.uniform(0, 5) == 0 || model.last_epoch() == Epoch(0)) {
      epoch = std::max(epoch, model.last_epoch()) + 1;
      return LogEntry{at, epoch, 1, true,
                      build_leader_change_batch(LeaderChange{NodeId(1), {NodeId(1)}, {NodeId(1)}},
                                                BatchPlacement{at, epoch, 0})};
    }
    int n = static_cast<int>(rng.uniform(1, 3));
    std::vector<protocol::Bytes> values;
    for (int i = 0; i < n; ++i) {
      std::string s = "v" + std::to_string(rng.next_u64() % 100000);
      values.emplace_back(s.begin(), s.end());
    }
    Epoch e = std::max(epoch, model.last_epoch());
    return LogEntry{at, e, n, false, build_data_batch(values, BatchPlacement{at, e, 0})};
  }

  void check_same() {
    ASSERT_EQ(disk->start_offset(), model.start_offset());
    ASSERT_EQ(disk->start_epoch(), model.start_epoch());
    ASSERT_EQ(disk->end_offset(), model.end_offset());
    ASSERT_EQ(disk->last_epoch(), model.last_epoch());
    ASSERT_EQ(disk->flushed_end_offset(), model.flushed_end_offset());
    ASSERT_EQ(disk->read(Offset(0), 1000, 1 << 20), model.read(Offset(0), 1000, 1 << 20));
    Offset probe(rng.uniform(0, model.end_offset().value + 1));
    ASSERT_EQ(disk->read(probe, 2, 1 << 20), model.read(probe, 2, 1 << 20)) << "from " << probe;
    for (int32_t e = 0; e <= epoch.value + 1; ++e)
      ASSERT_EQ(disk->end_offset_for_epoch(Epoch(e)), model.end_offset_for_epoch(Epoch(e))) << "epoch " << e;
  }

  // A batch boundary at or below the flushed offset, past the start: where a snapshot may end.
  std::optional<SnapshotId> snapshot_point() {
    std::vector<SnapshotId> points;
    for (const auto& e : model.entries())
      if (e.end() <= model.flushed_end_offset() && e.end() > model.start_offset()) points.push_back({e.end(), e.epoch});
    if (points.empty()) return std::nullopt;
    return points[static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(points.size()) - 1))];
  }

  void crash() {
    Offset flushed = disk->flushed_end_offset();
    std::vector<LogEntry> durable;
    for (const auto& e : model.entries())
      if (e.end() <= flushed) durable.push_back(e);
    disk.reset();
    ASSERT_TRUE(env.power_cut());
    ASSERT_NO_FATAL_FAILURE(open());
    auto got = disk->read(Offset(0), 100000, 1 << 30);
    ASSERT_GE(got.size(), durable.size()) << "lost what was flushed";
    for (size_t i = 0; i < durable.size(); ++i) ASSERT_EQ(got[i], durable[i]) << "flushed entry " << i << " changed";
    for (const auto& e : got) {
      auto it = written.find(e.offset.value);
      ASSERT_TRUE(it != written.end() && it->second.count(e.data)) << "entry at " << e.offset << " was never written";
    }
    ASSERT_EQ(disk->flushed_end_offset(), disk->end_offset());
    // The model restarts from what the disk holds.
    model = MemoryRaftLog();
    model.reset_to(snapshot.value_or(SnapshotId{}));
    for (auto& e : got) model.append(e);
    model.sync();
  }

  void step() {
    switch (rng.uniform(0, 11)) {
      case 0: case 1: case 2: case 3: case 4: {
        LogEntry e = next_entry();
        written[e.offset.value].insert(e.data);
        ASSERT_TRUE(disk->append(e));
        model.append(std::move(e));
        break;
      }
      case 5: case 6: {
        auto job = disk->prepare_sync();
        disk->complete_sync(job, job.run());
        model.sync();
        break;
      }
      case 7: {
        Offset to(rng.uniform(model.start_offset().value, model.end_offset().value));
        ASSERT_TRUE(disk->truncate_to(to));
        model.truncate_to(to);
        break;
      }
      case 8: {
        auto id = snapshot_point();
        if (!id) break;
        ASSERT_TRUE(disk->delete_before(*id));
        ASSERT_TRUE(model.delete_before(*id));
        snapshot = id;
        break;
      }
      case 9: {
        if (rng.uniform(0, 3) != 0) break;
        SnapshotId id{model.end_offset() + rng.uniform(0, 20), model.last_epoch() + static_cast<int32_t>(rng.uniform(0, 2))};
        epoch = std::max(epoch, id.epoch);
        ASSERT_TRUE(disk->reset_to(id));
        model.reset_to(id);
        snapshot = id;
        break;
      }
      default:
        ASSERT_NO_FATAL_FAILURE(crash());
    }
    ASSERT_NO_FATAL_FAILURE(check_same());
  }

  Random rng;
  storage::testing::TempDir dir;
  storage::FaultInjectionEnv env;
  ManualClock clock{1'700'000'000'000};
  std::unique_ptr<DiskRaftLog> disk;
  MemoryRaftLog model;
  Epoch epoch{0};
  std::optional<SnapshotId> snapshot;                  // what the log continues (the newest snapshot)
  std::map<int64_t, std::set<protocol::Bytes>> written;  // every batch ever appended, by offset
};

TEST(RaftDiskLogModel, RandomHistoriesWithPowerCuts) {
  std::vector<uint64_t> seeds;
  if (const char* s = std::getenv("SAMSA_SEED")) {
    seeds.push_back(std::strtoull(s, nullptr, 10));
  } else {
    for (uint64_t i = 1; i <= 25; ++i) seeds.push_back(i * 7919);
  }
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("SAMSA_SEED=" + std::to_string(seed));
    ModelRun run(seed);
    ASSERT_NO_FATAL_FAILURE(run.open());
    for (int i = 0; i < 150; ++i) {
      run.step();
      if (::testing::Test::HasFatalFailure()) {
        ADD_FAILURE() << "failed at step " << i;
        return;
      }
    }
  }
}

}  // namespace
}  // namespace samsa::raft
