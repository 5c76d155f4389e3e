// Automatic leader balance (auto.leader.rebalance.enable, issue 14): a broker
// whose share of not-led preferred partitions is above
// leader.imbalance.per.broker.percentage gets them back, except where it is
// out of the ISR, may not lead, or the partition is being reassigned; a
// broker at or under the share keeps the leaders as they are. Then the
// controller's balance_leaders writes the preferred elections.
#include <gtest/gtest.h>

#include "cluster/leader_balance.h"
#include "cluster_test_cluster.h"

namespace samsa::cluster {
namespace {

using Ids = std::vector<int32_t>;

PartitionInfo part(int32_t id, Ids replicas, int32_t leader, Ids isr) {
  PartitionInfo p;
  p.partition = id;
  p.replicas = std::move(replicas);
  p.leader = leader;
  p.isr = std::move(isr);
  return p;
}

MetadataImage image_of(std::vector<PartitionInfo> parts) {
  MetadataImage img;
  auto t = std::make_shared<TopicInfo>();
  t->name = "t";
  t->partitions = std::move(parts);
  img.topics.set("t", t);
  return img;
}

std::vector<int32_t> picked(const MetadataImage& img, int32_t pct, const MayLead& may_lead) {
  std::vector<int32_t> out;
  for (auto& c : partitions_to_rebalance(img, pct, may_lead)) out.push_back(c.partition);
  return out;
}

const MayLead kAll = [](int32_t) { return true; };

TEST(LeaderBalance, ABrokerAboveTheShareGetsItsPreferredPartitionsBack) {
  // Broker 1 prefers 0, 1, 2 and leads none of them; 2 prefers 3 and leads it.
  auto img = image_of({part(0, {1, 2}, 2, {1, 2}), part(1, {1, 2}, 2, {1, 2}), part(2, {1, 2}, 2, {1, 2}),
                       part(3, {2, 1}, 2, {1, 2})});
  EXPECT_EQ(picked(img, 10, kAll), (Ids{0, 1, 2}));
}

TEST(LeaderBalance, AtOrUnderTheShareNothingMoves) {
  // 1 prefers ten partitions and leads nine: 10 % not led, not above 10 %.
  std::vector<PartitionInfo> parts;
  for (int i = 0; i < 10; ++i) parts.push_back(part(i, {1, 2}, i == 0 ? 2 : 1, {1, 2}));
  auto img = image_of(parts);
  EXPECT_TRUE(picked(img, 10, kAll).empty());
  EXPECT_EQ(picked(img, 9, kAll), (Ids{0}));
  EXPECT_TRUE(picked(image_of({part(0, {1, 2}, 1, {1, 2})}), 0, kAll).empty());  // balanced: nothing at 0 %
}

TEST(LeaderBalance, OutOfTheIsrUnableToLeadOrReassigningIsLeftAlone) {
  auto out_of_isr = image_of({part(0, {1, 2}, 2, {2}), part(1, {1, 2}, 2, {1, 2})});
  EXPECT_EQ(picked(out_of_isr, 10, kAll), (Ids{1}));
  auto fenced = [](int32_t b) { return b != 1; };
  EXPECT_TRUE(picked(out_of_isr, 10, fenced).empty());
  auto moving = part(1, {1, 2, 3}, 2, {1, 2});
  moving.adding_replicas = {3};
  EXPECT_TRUE(picked(image_of({moving}), 10, kAll).empty());
}

TEST(LeaderBalance, TheControllerWritesThePreferredElections) {
  test_support::Cluster c([](ControllerSettings& s) { s.leader_imbalance_per_broker_percentage = 10; });
  for (int id : {1, 2, 3}) c.join(id);
  TopicSpec s;
  s.name = "t";
  s.assignments[0] = {1, 2};
  s.assignments[1] = {2, 1};
  ASSERT_EQ(samsa::testing::run(c.io, c.controller->create_topic(s, false)).error, ErrorCode::NONE);
  EXPECT_EQ(samsa::testing::run(c.io, c.controller->balance_leaders()), 0);  // balanced already
  // 1 leaves (its partition moves to 2), comes back, and is put back into the ISR by 2's AlterPartition.
  ASSERT_TRUE(c.beat(1, c.epoch(1), c.image->last_offset, true).is_fenced);
  ASSERT_EQ(c.topic("t").partitions[0].leader, 2);
  ASSERT_FALSE(c.beat(1, c.epoch(1), c.image->last_offset).is_fenced);
  const auto& p = c.topic("t").partitions[0];
  AlterPartitionRequest req;
  req.broker = NodeId(2);
  req.broker_epoch = c.epoch(2);
  req.version = 3;
  auto& t = req.topics.emplace_back();
  t.name = "t";
  t.id = c.topic("t").id;
  AlterPartitionItem it;
  it.partition = 0;
  it.leader_epoch = p.leader_epoch;
  it.partition_epoch = p.partition_epoch;
  for (auto b : {2, 1}) it.new_isr.push_back({b, c.epoch(b)});
  t.partitions.push_back(it);
  auto r = samsa::testing::run(c.io, c.controller->alter_partition(std::move(req)));
  ASSERT_EQ(r.topics.at(0).partitions.at(0).error, ErrorCode::NONE);
  ASSERT_EQ(c.topic("t").partitions[0].leader, 2);
  EXPECT_EQ(samsa::testing::run(c.io, c.controller->balance_leaders()), 1);
  EXPECT_EQ(c.topic("t").partitions[0].leader, 1);
  EXPECT_EQ(c.topic("t").partitions[1].leader, 2);
  EXPECT_EQ(samsa::testing::run(c.io, c.controller->balance_leaders()), 0);
}

}  // namespace
}  // namespace samsa::cluster
