// `samsa reassign-partitions`' pure parts: Kafka's reassignment and
// topics-to-move JSON (and their refusals), the one-line JSON it prints, and
// --generate's striped proposal; and the plans of `samsa cluster drain` and
// `balance` (cli/cluster_plan.h).
#include <gtest/gtest.h>

#include <map>

#include "cli/cluster_plan.h"
#include "cli/reassign.h"

namespace samsa::cli {
namespace {

using Ids = std::vector<int32_t>;

TEST(CliReassign, ParsesKafkasReassignmentJson) {
  Assignment a;
  std::string err;
  ASSERT_TRUE(parse_reassignment_json(
      R"({"version":1,"partitions":[{"topic":"foo","partition":1,"replicas":[2,3,4],"log_dirs":["any","any","any"]},
         {"topic":"bar","partition":0,"replicas":[1]}]})",
      a, err))
      << err;
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a.at({"foo", 1}), (Ids{2, 3, 4}));
  EXPECT_EQ(reassignment_json(a),
            R"({"version":1,"partitions":[{"topic":"bar","partition":0,"replicas":[1],"log_dirs":["any"]},)"
            R"({"topic":"foo","partition":1,"replicas":[2,3,4],"log_dirs":["any","any","any"]}]})");
  EXPECT_EQ(join_partitions({{"bar", 0}, {"foo", 1}}), "bar-0,foo-1");
}

// "log_dirs" other than "any": where each replica goes on its broker.
TEST(CliReassign, ReadsTheLogDirsOfReplicas) {
  Assignment a;
  ReplicaDirs dirs;
  std::string err;
  ASSERT_TRUE(parse_reassignment_json(
      R"({"version":1,"partitions":[{"topic":"foo","partition":1,"replicas":[2,3],"log_dirs":["/d/b","any"]}]})", a,
      err, &dirs))
      << err;
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(dirs.at({{"foo", 1}, 2}), "/d/b");
  EXPECT_EQ(replica_name({{"foo", 1}, 2}), "foo-1-2");
}

TEST(CliReassign, RefusesBadReassignmentJson) {
  auto refused = [](const std::string& text) {
    Assignment a;
    std::string err;
    bool ok = parse_reassignment_json(text, a, err);
    EXPECT_FALSE(ok) << text;
    return err;
  };
  EXPECT_EQ(refused(R"({"version":1,"partitions":[]})"), "Partition reassignment list cannot be empty");
  EXPECT_EQ(refused(R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]})"),
            "Partition replica lists may not contain duplicate entries: t-0 contains 1,1");
  EXPECT_EQ(refused(R"({"partitions":[{"topic":"t","partition":0,"replicas":[1]},)"
                    R"({"topic":"t","partition":0,"replicas":[2]}]})"),
            "Partition reassignment contains duplicate topic partitions: t-0");
  refused(R"({"partitions":[{"topic":"t","partition":-1,"replicas":[1]}]})");
  refused(R"({"partitions":[{"topic":"t","partition":0,"replicas":[1.5]}]})");
  refused(R"({"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["data"]}]})");
  refused(R"({"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["any","any"]}]})");
  refused("{\"partitions\": [");
}

TEST(CliReassign, TopicsToMove) {
  std::vector<std::string> topics;
  std::string err;
  ASSERT_TRUE(parse_topics_to_move_json(R"({"version":1,"topics":[{"topic":"a"},{"topic":"b"}]})", topics, err));
  EXPECT_EQ(topics, (std::vector<std::string>{"a", "b"}));
  topics.clear();
  EXPECT_FALSE(parse_topics_to_move_json(R"({"topics":[{"topic":"a"},{"topic":"a"}]})", topics, err));
  topics.clear();
  EXPECT_FALSE(parse_topics_to_move_json(R"({"topics":[]})", topics, err));
}

TEST(CliReassign, GenerateStripesOverTheBrokers) {
  Assignment current;
  for (int p = 0; p < 4; ++p) current[{"t", p}] = {1, 2, 3};
  Assignment proposed;
  std::string err;
  ASSERT_TRUE(propose_assignment(current, {2, 3, 4}, proposed, err)) << err;
  EXPECT_EQ(proposed.at({"t", 0}), (Ids{2, 3, 4}));
  EXPECT_EQ(proposed.at({"t", 1}), (Ids{3, 4, 2}));
  EXPECT_EQ(proposed.at({"t", 2}), (Ids{4, 2, 3}));
  EXPECT_EQ(proposed.at({"t", 3}), (Ids{2, 4, 3}));  // the follower shift grows after every n partitions
  for (auto& [key, replicas] : proposed) {
    std::set<int32_t> unique(replicas.begin(), replicas.end());
    EXPECT_EQ(unique.size(), 3u) << key.second;
  }
  Assignment too_few;
  EXPECT_FALSE(propose_assignment(current, {1, 2}, too_few, err));
  EXPECT_EQ(err, "Replication factor: 3 larger than available brokers: 2.");
}

// ---- samsa cluster plans ----

std::map<int32_t, int> replica_counts(const Assignment& a) {
  std::map<int32_t, int> out;
  for (auto& [key, replicas] : a)
    for (int32_t r : replicas) ++out[r];
  return out;
}

Assignment applied(Assignment current, const Assignment& plan) {
  for (auto& [key, replicas] : plan) current[key] = replicas;
  return current;
}

TEST(ClusterDrainPlan, EveryReplicaLeavesKeepingPositionsAndRacks) {
  const std::vector<PlanBroker> brokers{{1, "a"}, {2, "b"}, {3, "a"}, {4, "b"}};
  Assignment current{{{"t", 0}, {4, 1}}, {{"t", 1}, {1, 4}}, {{"t", 2}, {1, 2}}, {{"u", 0}, {4, 3, 2}}};
  std::vector<PartitionKey> stuck;
  Assignment plan = drain_plan(current, brokers, 4, stuck);
  EXPECT_TRUE(stuck.empty());
  EXPECT_EQ(plan.size(), 3u);  // t-2 does not hold broker 4
  for (auto& [key, replicas] : applied(current, plan))
    for (int32_t r : replicas) EXPECT_NE(r, 4) << key.first << "-" << key.second;
  // t-0 {4,1}: broker 4's rack b is kept by broker 2 (the only other b), in first position.
  EXPECT_EQ(plan.at({"t", 0}), (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(plan.at({"t", 1}), (std::vector<int32_t>{1, 2}));
  // u-0 {4,3,2}: racks a and b are both there already; broker 1 is the only one free.
  EXPECT_EQ(plan.at({"u", 0}), (std::vector<int32_t>{1, 3, 2}));
}

TEST(ClusterDrainPlan, APartitionNoBrokerCanTakeIsStuck) {
  const std::vector<PlanBroker> brokers{{1, ""}, {2, ""}};
  Assignment current{{{"t", 0}, {1, 2}}, {{"t", 1}, {2}}};
  std::vector<PartitionKey> stuck;
  Assignment plan = drain_plan(current, brokers, 2, stuck);
  EXPECT_EQ(stuck, (std::vector<PartitionKey>{{"t", 0}}));
  EXPECT_EQ(plan, (Assignment{{{"t", 1}, {1}}}));
}

TEST(ClusterBalancePlan, ANewBrokerGetsItsShareAndLeadersEvenOut) {
  const std::vector<PlanBroker> brokers{{1, ""}, {2, ""}, {3, ""}, {4, ""}};
  Assignment current;
  for (int p = 0; p < 8; ++p) current[{"t", p}] = {1 + p % 3, 1 + (p + 1) % 3};  // 16 replicas on 1..3
  Assignment plan = balance_plan(current, brokers);
  Assignment after = applied(current, plan);
  auto counts = replica_counts(after);
  for (int b = 1; b <= 4; ++b) EXPECT_EQ(counts[b], 4) << b;
  std::map<int32_t, int> leaders;
  for (auto& [key, replicas] : after) {
    ++leaders[replicas.front()];
    EXPECT_NE(replicas[0], replicas[1]);
  }
  for (int b = 1; b <= 4; ++b) EXPECT_EQ(leaders[b], 2) << b;
  EXPECT_TRUE(balance_plan(after, brokers).empty());  // balanced: nothing more
}

TEST(ClusterBalancePlan, NeverNarrowsAPartitionsRacks) {
  // Broker 3 (rack a) is empty, but every partition spans a and b on 1 and 2:
  // moving broker 2's replica (b) to broker 3 (a) would leave one rack.
  const std::vector<PlanBroker> brokers{{1, "a"}, {2, "b"}, {3, "a"}};
  Assignment current{{{"t", 0}, {1, 2}}, {{"t", 1}, {2, 1}}, {{"t", 2}, {1, 2}}, {{"t", 3}, {2, 1}}};
  Assignment after = applied(current, balance_plan(current, brokers));
  for (auto& [key, replicas] : after) {
    ASSERT_EQ(replicas.size(), 2u);
    EXPECT_TRUE(replicas[0] == 2 || replicas[1] == 2) << "rack b lost on " << key.second;
  }
  auto counts = replica_counts(after);
  EXPECT_EQ(counts[2], 4);  // broker 2 is the only b: it keeps every partition
  EXPECT_GE(counts[3], 1);  // broker 3 took a share of broker 1's (same rack)
}

}  // namespace
}  // namespace samsa::cli
