// The quorum-state file: Kafka's JSON (data_version 0 written, 0 and 1 read),
// a bounded reader that turns bad input into Corruption, and the file store
// through storage::Env (fault injection included).
#include <gtest/gtest.h>

#include "raft/quorum_state.h"
#include "raft/raft_core.h"
#include "storage/env.h"
#include "storage/fault_injection_env.h"
#include "storage_test_util.h"

namespace samsa::raft {
namespace {

TEST(RaftQuorumState, WritesKafkasVersionZeroJson) {
  QuorumStateData st;
  st.leader_epoch = Epoch(5);
  st.leader_id = NodeId(1);
  st.voted_id = std::nullopt;
  st.current_voters = {NodeId(1), NodeId(2), NodeId(3)};
  EXPECT_EQ(encode_quorum_state(st),
            R"({"clusterId":"","leaderId":1,"leaderEpoch":5,"votedId":-1,"appliedOffset":0,)"
            R"("currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0})");
  auto back = decode_quorum_state(encode_quorum_state(st));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, st);
}

TEST(RaftQuorumState, ReadsVersionOneAndToleratesSpacingAndUnknownFields) {
  auto st = decode_quorum_state(
      " {\"leaderId\": -1, \"leaderEpoch\": 7, \"votedId\": 3,\n \"votedDirectoryId\": \"AAAAAAAAAAAAAAAAAAAAAA\","
      " \"someFutureField\": [1, {\"a\": null}, true], \"data_version\": 1 } ");
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  EXPECT_EQ(st->data_version, 1);
  EXPECT_EQ(st->leader_epoch, Epoch(7));
  EXPECT_FALSE(st->leader_id);
  EXPECT_EQ(st->voted_id, NodeId(3));
  EXPECT_TRUE(st->current_voters.empty());
}

TEST(RaftQuorumState, BadInputIsCorruptionNeverACrash) {
  const char* bad[] = {
      "",
      "{",
      "[]",
      "null",
      R"({"leaderId":1,"leaderEpoch":2,"votedId":-1})",                     // no data_version
      R"({"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":7})",    // unknown version
      R"({"leaderId":1,"leaderEpoch":-2,"votedId":-1,"data_version":0})",   // negative epoch
      R"({"leaderId":99999999999,"leaderEpoch":2,"votedId":-1,"data_version":0})",
      R"({"leaderId":"1","leaderEpoch":2,"votedId":-1,"data_version":0})",  // a string
      R"({"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":0,"currentVoters":[{"voterId":-4}]})",
      R"({"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":0} trailing)",
      R"({"clusterId":"\u0041","leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":0})",
      R"({"a":[[[[[[[[[[[[1]]]]]]]]]]]],"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":0})",
  };
  for (const char* in : bad) EXPECT_FALSE(decode_quorum_state(in).is_ok()) << in;
  std::string huge(kQuorumStateMaxFileBytes + 1, ' ');
  EXPECT_FALSE(decode_quorum_state(huge).is_ok());
  std::string many = R"({"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":0,"currentVoters":[)";
  for (size_t i = 0; i <= kQuorumStateMaxVoters; ++i) many += (i ? "," : "") + std::string(R"({"voterId":1})");
  many += "]}";
  EXPECT_FALSE(decode_quorum_state(many).is_ok());
  // Every prefix of a good file is refused (a torn write), none crashes.
  std::string good = encode_quorum_state(QuorumStateData{Epoch(3), NodeId(2), NodeId(2), {NodeId(1), NodeId(2)}, "", 0, 0});
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(decode_quorum_state(good.substr(0, n)).is_ok()) << n;
}

TEST(RaftQuorumState, FileStoreRoundTripsThroughEnv) {
  storage::testing::TempDir dir;
  FileQuorumStateStore store(storage::posix_env(), dir.path());
  auto none = store.read();
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(*none) << "a fresh node has no quorum state";
  QuorumStateData st{Epoch(9), std::nullopt, NodeId(2), {NodeId(1), NodeId(2), NodeId(3)}, "", 0, 0};
  ASSERT_TRUE(store.write(st).is_ok());
  st.voted_id = NodeId(3);
  ASSERT_TRUE(store.write(st).is_ok());  // replaced, not appended
  auto back = store.read();
  ASSERT_TRUE(back.is_ok());
  ASSERT_TRUE(*back);
  EXPECT_EQ(**back, st);
  auto text = storage::read_file_to_string(storage::posix_env(), storage::join_path(dir.path(), "quorum-state"), 4096);
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ(*text, encode_quorum_state(st));
}

TEST(RaftQuorumState, AProcessCrashAtAnyStepLeavesTheOldOrTheNewState) {
  QuorumStateData before{Epoch(1), NodeId(1), NodeId(1), {NodeId(1), NodeId(2), NodeId(3)}, "", 0, 0};
  QuorumStateData after{Epoch(2), std::nullopt, NodeId(3), {NodeId(1), NodeId(2), NodeId(3)}, "", 0, 0};
  bool saw_new = false;
  for (int step = 0; step < 20 && !saw_new; ++step) {
    storage::testing::TempDir dir;
    storage::FaultInjectionEnv env(storage::posix_env());
    env.set_skip_real_sync(true);
    FileQuorumStateStore store(&env, dir.path());
    ASSERT_TRUE(store.write(before).is_ok());
    env.crash_after(step);
    bool ok = store.write(after).is_ok();
    // The process dies at that step (the file system keeps what reached it);
    // a power cut is only asked of a write that completed: FaultInjectionEnv
    // models a rename whose directory was not synced yet as lost altogether.
    env.restart();
    if (ok) ASSERT_TRUE(env.power_cut().is_ok());
    auto read = store.read();
    ASSERT_TRUE(read.is_ok()) << "step " << step << ": " << read.status().to_string();
    ASSERT_TRUE(*read) << "step " << step;
    EXPECT_TRUE(**read == before || **read == after) << "step " << step;
    if (ok) EXPECT_EQ(**read, after) << "a write that returned ok is durable";
    saw_new = ok;
  }
  EXPECT_TRUE(saw_new);
}


// Write before act, end to end: the core's persist goes through the file
// store before its grant is sent; a restarted core reads it back and keeps its
// one vote of the epoch.
TEST(RaftQuorumState, AVoteSurvivesARestartThroughTheFile) {
  storage::testing::TempDir dir;
  FileQuorumStateStore store(storage::posix_env(), dir.path());
  RaftConfig cfg;
  cfg.local_id = NodeId(1);
  cfg.voters = {NodeId(1), NodeId(2), NodeId(3)};
  MemoryRaftLog log;
  Random rng(7);
  {
    auto restored = store.read();
    ASSERT_TRUE(restored.is_ok());
    RaftCore core(cfg, log, rng, *restored, 0);
    (void)core.take_output();
    core.handle(Message{NodeId(2), NodeId(1), 1, VoteRequest{Epoch(3), NodeId(2), Epoch(0), Offset(0), false}}, 1);
    Output out = core.take_output();
    ASSERT_TRUE(out.persist);
    ASSERT_TRUE(store.write(*out.persist).is_ok());
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_TRUE(std::get<VoteResponse>(out.messages[0].body).vote_granted);
  }
  auto restored = store.read();
  ASSERT_TRUE(restored.is_ok());
  ASSERT_TRUE(*restored);
  EXPECT_EQ((*restored)->voted_id, NodeId(2));
  EXPECT_EQ((*restored)->current_voters, cfg.voters);
  RaftCore core(cfg, log, rng, *restored, 100);
  (void)core.take_output();
  EXPECT_EQ(core.epoch(), Epoch(3));
  core.handle(Message{NodeId(3), NodeId(1), 2, VoteRequest{Epoch(3), NodeId(3), Epoch(0), Offset(0), false}}, 101);
  Output out = core.take_output();
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_FALSE(std::get<VoteResponse>(out.messages[0].body).vote_granted);
}

}  // namespace
}  // namespace samsa::raft
