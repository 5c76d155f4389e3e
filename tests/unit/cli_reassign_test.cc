// `samsa reassign-partitions`' pure parts: Kafka's reassignment and
// topics-to-move JSON (and their refusals), the one-line JSON it prints, and
// --generate's striped proposal.
#include <gtest/gtest.h>

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
  refused(R"({"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["/data"]}]})");
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

}  // namespace
}  // namespace samsa::cli
