// Replication throttles (server/replication_quota.h): the throttled-replica
// lists, the bounds taken from the image's dynamic broker configs, and the
// rate check.
#include "server/replication_quota.h"

#include <gtest/gtest.h>

namespace samsa::server {
namespace {

TEST(ReplicationThrottledReplicas, WildcardAndPartitionBrokerPairs) {
  EXPECT_TRUE(replica_throttled("*", 7, 3));
  EXPECT_TRUE(replica_throttled(" 0:1, 0:2 ,1:3", 0, 2));
  EXPECT_TRUE(replica_throttled("0:1,0:2,1:3", 1, 3));
  EXPECT_FALSE(replica_throttled("0:1,0:2,1:3", 1, 2));
  EXPECT_FALSE(replica_throttled("0:1,0:2,1:3", 2, 1));
  EXPECT_FALSE(replica_throttled("", 0, 1));
  EXPECT_FALSE(replica_throttled("0:x,junk,:1,0:", 0, 1));
}

TEST(ReplicationThrottledReplicas, FromTheTopicConfigsOfTheImage) {
  cluster::MetadataImage image;
  auto t = std::make_shared<cluster::TopicInfo>();
  t->name = "moving";
  t->configs["leader.replication.throttled.replicas"] = "0:1,0:2";
  t->configs["follower.replication.throttled.replicas"] = "0:4";
  image.topics.set("moving", t);
  const TopicPartition p0{"moving", 0}, p1{"moving", 1}, other{"other", 0};
  EXPECT_TRUE(replica_throttled(image, p0, kLeaderThrottledReplicas, 2));
  EXPECT_FALSE(replica_throttled(image, p0, kLeaderThrottledReplicas, 4));
  EXPECT_TRUE(replica_throttled(image, p0, kFollowerThrottledReplicas, 4));
  EXPECT_FALSE(replica_throttled(image, p1, kFollowerThrottledReplicas, 4));
  EXPECT_FALSE(replica_throttled(image, other, kLeaderThrottledReplicas, 1));
}

TEST(ReplicationQuotaBounds, BrokerLayerOverClusterDefaultElseUnlimited) {
  ReplicationQuotas q(QuotaWindow{11, 1000});
  cluster::MetadataImage image;
  q.apply(image, 2);
  EXPECT_FALSE(q.leader.limited());
  EXPECT_FALSE(q.follower.limited());
  image.broker_configs[""]["leader.replication.throttled.rate"] = "5000";
  image.broker_configs["2"]["leader.replication.throttled.rate"] = "7000";
  image.broker_configs["3"]["follower.replication.throttled.rate"] = "9000";
  q.apply(image, 2);
  EXPECT_EQ(q.leader.limit(), 7000);
  EXPECT_FALSE(q.follower.limited());  // broker 3's layer is not ours
  q.apply(image, 1);
  EXPECT_EQ(q.leader.limit(), 5000);  // the cluster default
  image.broker_configs.clear();
  q.apply(image, 1);
  EXPECT_FALSE(q.leader.limited());  // cleared: unlimited again
}

TEST(ReplicationQuotaRate, ExceededOnlyAboveTheBound) {
  ReplicationQuota q(QuotaWindow{2, 1000});
  q.record(1 << 20, 0);
  EXPECT_FALSE(q.exceeded(0));  // no bound
  q.set_limit(1 << 20);
  EXPECT_FALSE(q.exceeded(0));  // 1 MiB over at least one window: at the bound
  q.record(1, 0);
  EXPECT_TRUE(q.exceeded(0));  // one byte more
  EXPECT_FALSE(q.exceeded(5000));  // the samples have expired
}

}  // namespace
}  // namespace samsa::server
