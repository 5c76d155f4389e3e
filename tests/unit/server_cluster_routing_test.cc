// Routing decisions of a broker in a cluster (server/cluster_routing.h), over
// hand-built images of three brokers.
#include <gtest/gtest.h>

#include "server/cluster_routing.h"

namespace samsa::server {
namespace {

cluster::BrokerInfo broker(int32_t id, bool fenced = false, std::optional<std::string> rack = std::nullopt) {
  cluster::BrokerInfo b;
  b.id = id;
  b.host = "host" + std::to_string(id);
  b.port = 9090 + id;
  b.rack = std::move(rack);
  b.fenced = fenced;
  return b;
}

// Brokers 1, 2, 3 (3 fenced unless `all_live`); topic "t" with one partition
// led by each broker (RF 1) and a fourth with no leader; controller 2.
cluster::MetadataImage three_brokers(bool all_live = false) {
  cluster::MetadataImage img;
  img.controller_id = 2;
  for (int32_t id : {1, 2, 3}) img.brokers[id] = broker(id, id == 3 && !all_live, "rack" + std::to_string(id));
  auto t = std::make_shared<cluster::TopicInfo>();
  t->name = "t";
  for (int32_t p = 0; p < 4; ++p) {
    cluster::PartitionInfo pi;
    pi.partition = p;
    pi.leader = p < 3 ? p + 1 : -1;
    pi.leader_epoch = 5;
    pi.replicas = {p < 3 ? p + 1 : 3};
    pi.isr = pi.replicas;
    t->partitions.push_back(pi);
  }
  img.topics.set("t", t);
  return img;
}

TEST(ServerClusterRouting, OnlyUnfencedBrokersAreLive) {
  auto img = three_brokers();
  auto live = live_brokers(img);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0]->id, 1);
  EXPECT_EQ(live[1]->id, 2);
  EXPECT_EQ(live[1]->rack, "rack2");
  EXPECT_FALSE(is_live_broker(img, 3));
  EXPECT_FALSE(is_live_broker(img, 7));
}

TEST(ServerClusterRouting, ControllerIdIsTheActiveControllerWhenItIsALiveBroker) {
  auto img = three_brokers();
  EXPECT_EQ(controller_id_for_clients(img, 1), 2);
  img.controller_id = 3;  // fenced as a broker: clients get a live broker instead
  EXPECT_EQ(controller_id_for_clients(img, 7), 1);
  img.controller_id = 9;  // a controller-only node: the broker answering, when it is live
  EXPECT_EQ(controller_id_for_clients(img, 2), 2);
  EXPECT_EQ(controller_id_for_clients(img, 3), 1);  // the answering broker is fenced
  cluster::MetadataImage empty;
  EXPECT_EQ(controller_id_for_clients(empty, 1), -1);
}

TEST(ServerClusterRouting, PartitionsOfAFencedBrokerListItOffline) {
  auto img = three_brokers();
  auto& parts = img.find_topic("t")->partitions;
  EXPECT_TRUE(offline_replicas(img, parts[0]).empty());
  EXPECT_EQ(offline_replicas(img, parts[2]), std::vector<int32_t>{3});
  EXPECT_EQ(visible_leader(img, parts[1]), 2);
  EXPECT_EQ(visible_leader(img, parts[3]), -1);
}

TEST(ServerClusterRouting, DataRequestsGoToTheLeaderOnly) {
  auto img = three_brokers();
  EXPECT_EQ(leader_error(img, 1, {"t", 0}), ErrorCode::NONE);
  EXPECT_EQ(leader_error(img, 1, {"t", 1}), ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(leader_error(img, 2, {"t", 1}), ErrorCode::NONE);
  EXPECT_EQ(leader_error(img, 1, {"t", 3}), ErrorCode::NOT_LEADER_OR_FOLLOWER);  // offline
  EXPECT_EQ(leader_error(img, 1, {"t", 4}), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(leader_error(img, 1, {"t", -1}), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(leader_error(img, 1, {"u", 0}), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  auto leader = current_leader(img, {"t", 1});
  ASSERT_TRUE(leader.has_value());
  EXPECT_EQ(leader->leader, 2);
  EXPECT_EQ(leader->epoch, 5);
  EXPECT_EQ(current_leader(img, {"t", 3})->leader, -1);
  EXPECT_FALSE(current_leader(img, {"u", 0}).has_value());
}

TEST(ServerClusterRouting, CoordinatorIsTheLiveLeaderOfTheKeysPartition) {
  auto img = three_brokers();
  auto* c = coordinator_broker(img, {"t", 1});
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->id, 2);
  EXPECT_EQ(c->host, "host2");
  EXPECT_EQ(coordinator_broker(img, {"t", 2}), nullptr);  // its leader is fenced
  EXPECT_EQ(coordinator_broker(img, {"t", 3}), nullptr);  // no leader
  EXPECT_EQ(coordinator_broker(img, {"t", 9}), nullptr);
}

TEST(ServerClusterRouting, InternalTopicsWaitForEnoughBrokersInACluster) {
  auto img = three_brokers();  // two live
  EXPECT_FALSE(internal_topic_replication_factor(img, 3, false).has_value());
  EXPECT_EQ(internal_topic_replication_factor(img, 2, false), 2);
  EXPECT_EQ(internal_topic_replication_factor(three_brokers(true), 3, false), 3);
  // One node without a quorum: capped, as before there were clusters.
  EXPECT_EQ(internal_topic_replication_factor(img, 3, true), 2);
  cluster::MetadataImage empty;
  EXPECT_EQ(internal_topic_replication_factor(empty, 3, true), 1);
}

}  // namespace
}  // namespace samsa::server
