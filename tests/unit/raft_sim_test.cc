// Seeded schedules of the Raft simulator (raft_sim.h): 3 or 5 voters, faults,
// invariants checked throughout. SAMSA_RAFT_SIM_SEEDS sets how many schedules
// (default 20000: 10-30 s on the slow, shared 2-core machine), SAMSA_RAFT_SIM_BASE
// the first seed; SAMSA_SEED=<seed> replays one schedule with a trace.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "raft_sim.h"

namespace samsa::raft::sim {
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoull(v, nullptr, 0);
}

constexpr uint64_t kDefaultSeeds = 20000;  // 11 s at load 4, ~30 s at load 11 on the 2-core machine (measured)
constexpr uint64_t kDefaultBase = 0x5a4a5aull << 20;

TEST(RaftSim, SeededSchedules) {
  if (std::getenv("SAMSA_SEED")) {
    uint64_t seed = env_u64("SAMSA_SEED", 0);
    Simulation sim(seed);
    sim.verbose = true;
    std::string v = sim.run();
    EXPECT_EQ(v, "") << "seed " << seed << " (" << sim.params().voters << " voters)\n" << sim.trace_tail();
    if (std::getenv("SAMSA_RAFT_SIM_TRACE")) std::printf("%s", sim.trace_tail().c_str());
    std::printf("seed %llu: %d voters, %zu committed entries, %lld ms simulated\n",
                static_cast<unsigned long long>(seed), sim.params().voters, sim.committed_entries(),
                static_cast<long long>(sim.now()));
    return;
  }
  uint64_t count = env_u64("SAMSA_RAFT_SIM_SEEDS", kDefaultSeeds);
  uint64_t base = env_u64("SAMSA_RAFT_SIM_BASE", kDefaultBase);
  auto started = std::chrono::steady_clock::now();
  size_t by_size[6] = {};
  size_t committed = 0;
  Simulation::Stats total;
  int64_t simulated = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t seed = base + i;
    Simulation sim(seed);
    std::string v = sim.run();
    if (!v.empty()) {
      ADD_FAILURE() << "raft simulation failed: seed " << seed << " (" << sim.params().voters << " voters): " << v
                    << "\nreplay: SAMSA_SEED=" << seed << " build/unit_tests --gtest_filter=RaftSim.SeededSchedules";
      return;
    }
    ++by_size[sim.params().voters];
    committed += sim.committed_entries();
    auto st = sim.stats();
    total.leader_epochs += st.leader_epochs;
    total.crashes += st.crashes;
    total.truncations += st.truncations;
    total.faults += st.faults;
    total.snapshots_taken += st.snapshots_taken;
    total.snapshots_installed += st.snapshots_installed;
    total.voter_changes += st.voter_changes;
    simulated += sim.now();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "raft sim: %llu schedules (%zu with 3 voters, %zu with 5), %zu faults (%zu crashes), %zu leader epochs, "
      "%zu truncations, %zu snapshots taken, %zu installed from the leader, %zu voter changes, %zu committed entries, "
      "%lld s simulated, %.1f s\n",
      static_cast<unsigned long long>(count), by_size[3], by_size[5], total.faults, total.crashes,
      total.leader_epochs, total.truncations, total.snapshots_taken, total.snapshots_installed, total.voter_changes, committed, static_cast<long long>(simulated / 1000), secs);
}

// The same seed gives the same run, step for step.
TEST(RaftSim, SameSeedSameRun) {
  for (uint64_t seed : {1ull, 2ull, 77ull}) {
    Simulation a(seed), b(seed);
    EXPECT_EQ(a.run(), "");
    EXPECT_EQ(b.run(), "");
    EXPECT_EQ(a.trace_hash(), b.trace_hash()) << "seed " << seed;
    EXPECT_EQ(a.now(), b.now());
  }
}

}  // namespace
}  // namespace samsa::raft::sim
