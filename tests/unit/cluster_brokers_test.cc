// Brokers in a cluster, the controller's side (issue 12): registration and
// broker epochs, heartbeats and unfencing, session expiry and the leadership
// moves it causes, controlled shutdown, unregistration, and placement over the
// unfenced brokers and their racks. Time is a ManualClock; the metadata log is
// in memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/clock.h"
#include "cluster/broker_heartbeats.h"
#include "cluster/controller.h"
#include "cluster/metadata_loader.h"
#include "cluster/placement.h"
#include "cluster_test_cluster.h"
#include "metadata_test_util.h"

namespace samsa::cluster {
namespace {

using samsa::testing::run;

using test_support::Cluster;
using test_support::incarnation;
using test_support::kSessionMs;

TEST(ClusterBrokers, RegistrationEpochIsTheRecordOffsetAndStartsFenced) {
  Cluster c;
  auto r = c.register_broker(c.registration(2, 1, "rack-a"));
  ASSERT_EQ(r.error, ErrorCode::NONE) << r.message;
  EXPECT_EQ(r.broker_epoch, c.image->last_offset);  // the record is the batch's only one
  const auto& b = c.broker(2);
  EXPECT_EQ(b.epoch, r.broker_epoch);
  EXPECT_TRUE(b.fenced);
  EXPECT_FALSE(b.in_controlled_shutdown);
  EXPECT_EQ(b.incarnation_id, incarnation(1));
  EXPECT_EQ(b.rack, std::optional<std::string>("rack-a"));
  ASSERT_EQ(b.endpoints.size(), 1u);
  EXPECT_EQ(b.endpoints[0].name, "PLAINTEXT");
  EXPECT_EQ(b.host, "host2");
  EXPECT_EQ(b.port, 9092);
  EXPECT_TRUE(c.deltas.back().brokers);

  // The same process asking again (a lost answer): the same epoch, nothing written.
  int appends = c.log.appends();
  auto again = c.register_broker(c.registration(2, 1, "rack-a"));
  EXPECT_EQ(again.error, ErrorCode::NONE);
  EXPECT_EQ(again.broker_epoch, r.broker_epoch);
  EXPECT_EQ(c.log.appends(), appends);

  // A fenced registration has no valid session (as in Kafka): another process may take the id.
  auto other = c.register_broker(c.registration(2, 9));
  ASSERT_EQ(other.error, ErrorCode::NONE);
  EXPECT_GT(other.broker_epoch, r.broker_epoch);
  EXPECT_EQ(c.broker(2).incarnation_id, incarnation(9));

  // Unfenced and beating: another process is refused while the session lives.
  ASSERT_FALSE(c.beat(2, other.broker_epoch, c.image->last_offset).is_fenced);
  auto dup = c.register_broker(c.registration(2, 10));
  EXPECT_EQ(dup.error, ErrorCode::DUPLICATE_BROKER_REGISTRATION);
  EXPECT_EQ(dup.message, "Another broker is registered with that broker id.");
  c.clock.advance(kSessionMs);
  EXPECT_EQ(c.register_broker(c.registration(2, 10)).error, ErrorCode::DUPLICATE_BROKER_REGISTRATION);

  // Once the session expired, another incarnation may register (even before the check fenced it).
  c.clock.advance(1);
  auto later = c.register_broker(c.registration(2, 10));
  ASSERT_EQ(later.error, ErrorCode::NONE);
  EXPECT_GT(later.broker_epoch, other.broker_epoch);
  EXPECT_EQ(c.broker(2).incarnation_id, incarnation(10));
  EXPECT_TRUE(c.broker(2).fenced);
}

TEST(ClusterBrokers, RegistrationChecksClusterIdFeaturesAndLeadership) {
  Cluster c;
  auto wrong = c.registration(2, 1);
  wrong.cluster_id = "other";
  auto r = c.register_broker(wrong);
  EXPECT_EQ(r.error, ErrorCode::INCONSISTENT_CLUSTER_ID);
  EXPECT_EQ(r.message, "Expected cluster ID cluster-1, but got cluster ID other");
  EXPECT_EQ(r.broker_epoch, -1);

  // A finalized feature the broker does not support.
  FeatureLevelRecord f;
  f.name = "metadata.version";
  f.feature_level = 20;
  run(c.io, c.log.append({encode_record(f)}));
  auto unsupported = c.register_broker(c.registration(2, 1));  // names none: supports level 1 only
  EXPECT_EQ(unsupported.error, ErrorCode::UNSUPPORTED_VERSION);
  EXPECT_EQ(unsupported.message,
            "Unable to register because the broker does not support version 20 of metadata.version. It wants a "
            "version between 1 and 1, inclusive.");
  auto older = c.registration(2, 1);
  older.features.push_back({"metadata.version", 1, 19});
  EXPECT_EQ(c.register_broker(older).error, ErrorCode::UNSUPPORTED_VERSION);
  auto supported = c.registration(2, 1);
  supported.features.push_back({"metadata.version", 1, 25});
  EXPECT_EQ(c.register_broker(supported).error, ErrorCode::NONE);

  c.log.set_leader(NodeId(5), Epoch(3));
  auto moved = c.register_broker(c.registration(3, 1));
  EXPECT_EQ(moved.error, ErrorCode::NOT_CONTROLLER);
  EXPECT_EQ(c.beat(2, c.epoch(2), 100).error, ErrorCode::NOT_CONTROLLER);
}

TEST(ClusterBrokers, HeartbeatUnfencesOnceCaughtUp) {
  Cluster c;
  auto r = c.register_broker(c.registration(2, 1));
  ASSERT_EQ(r.error, ErrorCode::NONE);

  auto stale = c.beat(2, r.broker_epoch - 1, r.broker_epoch);
  EXPECT_EQ(stale.error, ErrorCode::STALE_BROKER_EPOCH);
  EXPECT_EQ(stale.message,
            "Expected broker epoch " + std::to_string(r.broker_epoch) + ", but got broker epoch " +
                std::to_string(r.broker_epoch - 1));
  EXPECT_EQ(c.beat(7, 0, 0).error, ErrorCode::STALE_BROKER_EPOCH);

  auto behind = c.beat(2, r.broker_epoch, r.broker_epoch - 1);
  EXPECT_EQ(behind.error, ErrorCode::NONE);
  EXPECT_FALSE(behind.is_caught_up);
  EXPECT_TRUE(behind.is_fenced);
  EXPECT_FALSE(behind.should_shutdown);
  EXPECT_TRUE(c.broker(2).fenced);

  // Caught up but wanting to stay fenced.
  auto wants = c.beat(2, r.broker_epoch, r.broker_epoch, true);
  EXPECT_TRUE(wants.is_caught_up);
  EXPECT_TRUE(wants.is_fenced);

  auto caught = c.beat(2, r.broker_epoch, r.broker_epoch);
  EXPECT_TRUE(caught.is_caught_up);
  EXPECT_FALSE(caught.is_fenced);
  EXPECT_FALSE(c.broker(2).fenced);
  EXPECT_EQ(c.broker(2).epoch, r.broker_epoch);  // unfencing keeps the epoch

  // Asking to be fenced again.
  auto fenced = c.beat(2, r.broker_epoch, c.image->last_offset, true);
  EXPECT_TRUE(fenced.is_fenced);
  EXPECT_TRUE(c.broker(2).fenced);
}

TEST(ClusterBrokers, ExpiredSessionFencesAndMovesLeaders) {
  Cluster c;
  for (int id : {1, 2, 3}) c.join(id);
  ASSERT_EQ(c.create("three", 6, 3).error, ErrorCode::NONE);
  ASSERT_EQ(c.create("single", 6, 1).error, ErrorCode::NONE);
  auto before = *c.image;

  // Brokers 1 and 2 keep beating; 3 goes silent.
  c.clock.advance(kSessionMs / 2);
  EXPECT_EQ(c.fence_expired(), 0);
  c.beat_all({1, 2});
  c.clock.advance(kSessionMs / 2);
  EXPECT_EQ(c.fence_expired(), 0);  // exactly the timeout: still alive
  c.clock.advance(1);
  EXPECT_EQ(c.fence_expired(), 1);
  EXPECT_TRUE(c.broker(3).fenced);
  EXPECT_FALSE(c.broker(1).fenced);
  EXPECT_FALSE(c.broker(2).fenced);

  for (auto& name : {"three", "single"}) {
    const auto& now = c.topic(name).partitions;
    const auto& was = before.find_topic(name)->partitions;
    for (size_t p = 0; p < now.size(); ++p) {
      EXPECT_NE(now[p].leader, 3) << name << p;
      if (was[p].leader == 3) {
        EXPECT_EQ(now[p].leader_epoch, was[p].leader_epoch + 1) << name << p;
        EXPECT_GT(now[p].partition_epoch, was[p].partition_epoch);
      } else {
        EXPECT_EQ(now[p].leader, was[p].leader);
        EXPECT_EQ(now[p].leader_epoch, was[p].leader_epoch);
      }
      if (std::string(name) == "three") {
        EXPECT_EQ(now[p].isr.size(), 2u);  // 3 left the ISR
        EXPECT_NE(now[p].leader, -1);
        // The new leader is the first remaining replica in replica order.
        if (was[p].leader == 3)
          for (auto r : now[p].replicas)
            if (r != 3) {
              EXPECT_EQ(now[p].leader, r);
              break;
            }
      } else if (was[p].leader == 3) {
        EXPECT_EQ(now[p].leader, -1);  // offline: no other replica
        EXPECT_EQ(now[p].isr, std::vector<int32_t>{3});  // the last member stays
      }
    }
  }

  // Broker 3 comes back with the same epoch: unfenced, its offline partitions lead again.
  auto back = c.beat(3, c.epoch(3), c.image->last_offset);
  EXPECT_FALSE(back.is_fenced);
  for (size_t p = 0; p < 6; ++p) {
    auto& now = c.topic("single").partitions[p];
    EXPECT_EQ(now.leader, now.replicas.front()) << p;
    if (before.find_topic("single")->partitions[p].leader == 3)
      EXPECT_EQ(now.leader_epoch, before.find_topic("single")->partitions[p].leader_epoch + 2);
  }
  // Its RF=3 partitions stay led by the others (it is out of their ISR until replication adds it).
  for (auto& p : c.topic("three").partitions) EXPECT_NE(p.leader, 3);
}

TEST(ClusterBrokers, PeriodicCheckFencesExpiredBrokers) {
  Cluster c;
  c.join(1);
  c.join(2);
  c.clock.advance(kSessionMs + 1);
  c.beat_all({1});
  c.controller->start_session_checks(c.io.get_executor(), std::chrono::milliseconds(1));
  c.io.restart();
  for (int i = 0; i < 1000 && !c.broker(2).fenced; ++i) c.io.run_one_for(std::chrono::milliseconds(100));
  c.controller->stop_session_checks();
  c.io.restart();
  c.io.run_for(std::chrono::milliseconds(50));  // what the stop left behind finishes
  EXPECT_TRUE(c.broker(2).fenced);
  EXPECT_FALSE(c.broker(1).fenced);
}

TEST(ClusterBrokers, NewControllerGivesEveryBrokerAFreshSession) {
  Cluster c;
  c.join(1);
  c.join(2);
  c.clock.advance(kSessionMs * 3);
  c.controller->activate();  // e.g. elected after a long failover
  EXPECT_EQ(c.fence_expired(), 0);
  c.clock.advance(kSessionMs / 2);
  c.beat_all({1});
  c.clock.advance(kSessionMs / 2 + 1);
  EXPECT_EQ(c.fence_expired(), 1);
  EXPECT_TRUE(c.broker(2).fenced);
  EXPECT_FALSE(c.broker(1).fenced);
}

TEST(ClusterBrokers, ThisNodesOwnBrokerNeverExpires) {
  Cluster c;
  ASSERT_EQ(run(c.io, c.controller->register_broker(1, "localhost", 9092, std::nullopt)).error, ErrorCode::NONE);
  EXPECT_FALSE(c.broker(1).fenced);
  c.clock.advance(kSessionMs * 10);
  EXPECT_EQ(c.fence_expired(), 0);
  EXPECT_FALSE(c.broker(1).fenced);
  // Its session is alive: another process may not take the id.
  EXPECT_EQ(c.register_broker(c.registration(1, 4)).error, ErrorCode::DUPLICATE_BROKER_REGISTRATION);
}

TEST(ClusterBrokers, ThisNodesRestartedBrokerIsNotADuplicate) {
  Cluster c;  // node 1: controller and broker in one process
  c.join(1);
  c.join(2);
  // Both processes die uncleanly; node 1 restarts and is the new active controller.
  c.controller->activate();
  EXPECT_EQ(c.register_broker(c.registration(2, 20)).error, ErrorCode::DUPLICATE_BROKER_REGISTRATION);
  auto self = c.register_broker(c.registration(1, 21));
  EXPECT_EQ(self.error, ErrorCode::NONE);
  // Heard from by this controller: another process taking the id is refused again.
  ASSERT_FALSE(c.beat(1, self.broker_epoch, c.image->last_offset).is_fenced);
  EXPECT_EQ(c.register_broker(c.registration(1, 22)).error, ErrorCode::DUPLICATE_BROKER_REGISTRATION);
}

TEST(ClusterBrokers, ControlledShutdownMovesLeadershipsFirst) {
  Cluster c;
  for (int id : {1, 2, 3}) c.join(id);
  ASSERT_EQ(c.create("t", 9, 2).error, ErrorCode::NONE);
  ASSERT_EQ(c.create("solo", 3, 1).error, ErrorCode::NONE);
  ASSERT_GT(c.leader_counts("t")[1], 0);
  c.beat_all({2, 3});

  auto first = c.beat(1, c.epoch(1), c.image->last_offset, false, true);
  EXPECT_EQ(first.error, ErrorCode::NONE);
  EXPECT_FALSE(first.should_shutdown);
  EXPECT_FALSE(first.is_fenced);
  EXPECT_TRUE(c.broker(1).in_controlled_shutdown);
  EXPECT_EQ(c.leader_counts("t").count(1), 0u);
  for (auto& p : c.topic("t").partitions) {
    EXPECT_NE(p.leader, -1);
    EXPECT_EQ(std::count(p.isr.begin(), p.isr.end(), 1), 0);
  }
  for (auto& p : c.topic("solo").partitions)
    if (p.replicas.front() == 1) EXPECT_EQ(p.leader, -1);  // RF=1: offline, as in Kafka
  // New partitions avoid a broker that is shutting down.
  ASSERT_EQ(c.create("later", 12, 2).error, ErrorCode::NONE);
  for (auto& p : c.topic("later").partitions) EXPECT_EQ(std::count(p.replicas.begin(), p.replicas.end(), 1), 0);

  // The others have not replayed the moves yet: not yet.
  auto second = c.beat(1, c.epoch(1), c.image->last_offset, false, true);
  EXPECT_FALSE(second.should_shutdown);
  c.beat_all({2, 3});
  auto third = c.beat(1, c.epoch(1), c.image->last_offset, false, true);
  EXPECT_TRUE(third.should_shutdown);
  EXPECT_TRUE(third.is_fenced);
  EXPECT_TRUE(c.broker(1).fenced);
  // Its session ended: the restarted process registers at once.
  auto again = c.registration(1, 77);
  EXPECT_EQ(c.register_broker(again).error, ErrorCode::NONE);
}

TEST(ClusterBrokers, ShutdownWithoutLeadershipsIsImmediate) {
  Cluster c;
  c.join(1);
  c.join(2);
  auto r = c.beat(2, c.epoch(2), c.image->last_offset, false, true);
  EXPECT_TRUE(r.should_shutdown);
  EXPECT_TRUE(r.is_fenced);
  EXPECT_TRUE(c.broker(2).fenced);
  // A fenced broker asking to stop may stop.
  auto fresh = c.register_broker(c.registration(3, 3));
  auto f = c.beat(3, fresh.broker_epoch, 0, false, true);
  EXPECT_TRUE(f.should_shutdown);
}

TEST(ClusterBrokers, UnregisterRemovesTheBrokerAndItsLeaderships) {
  Cluster c;
  for (int id : {1, 2}) c.join(id);
  ASSERT_EQ(c.create("t", 4, 2).error, ErrorCode::NONE);
  auto unknown = run(c.io, c.controller->unregister_broker(NodeId(9)));
  EXPECT_EQ(unknown.error, ErrorCode::BROKER_ID_NOT_REGISTERED);
  EXPECT_EQ(unknown.message, "Broker ID 9 is not currently registered");
  int64_t epoch2 = c.epoch(2);
  ASSERT_EQ(run(c.io, c.controller->unregister_broker(NodeId(2))).error, ErrorCode::NONE);
  EXPECT_EQ(c.image->brokers.count(2), 0u);
  EXPECT_TRUE(c.deltas.back().brokers);
  for (auto& p : c.topic("t").partitions) {
    EXPECT_EQ(p.leader, 1);
    EXPECT_EQ(p.isr, std::vector<int32_t>{1});
  }
  EXPECT_EQ(c.beat(2, epoch2, c.image->last_offset).error, ErrorCode::STALE_BROKER_EPOCH);
  // The id is free again.
  EXPECT_EQ(c.register_broker(c.registration(2, 50)).error, ErrorCode::NONE);
}

TEST(ClusterBrokers, PlacementSpreadsLeadersEvenly) {
  Cluster c;
  for (int id : {1, 2, 3}) c.join(id);
  ASSERT_EQ(c.create("rf1", 100, 1).error, ErrorCode::NONE);
  ASSERT_EQ(c.create("rf3", 100, 3).error, ErrorCode::NONE);
  for (auto& name : {"rf1", "rf3"}) {
    auto counts = c.leader_counts(name);
    ASSERT_EQ(counts.size(), 3u) << name;
    for (auto& [id, n] : counts) {
      EXPECT_GE(n, 33) << name << " broker " << id;
      EXPECT_LE(n, 34) << name << " broker " << id;
    }
  }
  for (auto& p : c.topic("rf3").partitions) {
    auto r = p.replicas;
    std::sort(r.begin(), r.end());
    EXPECT_EQ(r, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(p.isr, p.replicas);
    EXPECT_EQ(p.leader, p.replicas.front());
  }
  // Growing a topic spreads the new partitions too.
  ASSERT_EQ(c.create("grown", 1, 1).error, ErrorCode::NONE);
  ASSERT_EQ(run(c.io, c.controller->create_partitions("grown", 100, {}, false)).error, ErrorCode::NONE);
  std::map<int32_t, int> grown;
  for (size_t p = 1; p < 100; ++p) ++grown[c.topic("grown").partitions[p].leader];
  for (auto& [id, n] : grown) EXPECT_EQ(n, 33) << id;
}

TEST(ClusterBrokers, PlacementSpreadsReplicasOverRacks) {
  Cluster c;
  std::map<int32_t, std::string> rack_of;
  for (int id = 1; id <= 6; ++id) {
    rack_of[id] = "rack-" + std::to_string((id - 1) / 2);
    c.join(id, rack_of[id]);
  }
  ASSERT_EQ(c.create("racked", 60, 3).error, ErrorCode::NONE);
  std::map<int32_t, int> replicas;
  for (auto& p : c.topic("racked").partitions) {
    std::set<std::string> racks;
    for (auto r : p.replicas) {
      racks.insert(rack_of[r]);
      ++replicas[r];
    }
    EXPECT_EQ(racks.size(), 3u) << "partition " << p.partition;
  }
  auto leaders = c.leader_counts("racked");
  ASSERT_EQ(leaders.size(), 6u);
  for (auto& [id, n] : leaders) EXPECT_EQ(n, 10) << id;
  for (auto& [id, n] : replicas) EXPECT_EQ(n, 30) << id;
  // RF 2 over 3 racks: never twice the same rack.
  ASSERT_EQ(c.create("two", 30, 2).error, ErrorCode::NONE);
  for (auto& p : c.topic("two").partitions) EXPECT_NE(rack_of[p.replicas[0]], rack_of[p.replicas[1]]);
}

TEST(ClusterBrokers, ReplicationFactorAboveUnfencedBrokersRefused) {
  Cluster c;
  for (int id : {1, 2, 3}) c.join(id);
  ASSERT_EQ(c.beat(3, c.epoch(3), c.image->last_offset, true).is_fenced, true);
  auto r = c.create("rf3", 1, 3);
  EXPECT_EQ(r.error, ErrorCode::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(r.message,
            "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached "
            "because only 2 broker(s) are registered.");
  ASSERT_EQ(c.create("rf2", 10, 2).error, ErrorCode::NONE);
  for (auto& p : c.topic("rf2").partitions) EXPECT_EQ(std::count(p.replicas.begin(), p.replicas.end(), 3), 0);
  auto grow = run(c.io, c.controller->create_partitions("rf2", 12, {}, false));
  EXPECT_EQ(grow.error, ErrorCode::NONE);
  ASSERT_EQ(c.create("rf1", 1, 1).error, ErrorCode::NONE);

  // Explicit assignments: unknown brokers refused; fenced ones kept out of the ISR.
  TopicSpec unknown;
  unknown.name = "unknown";
  unknown.assignments[0] = {1, 9};
  auto u = run(c.io, c.controller->create_topic(unknown, false));
  EXPECT_EQ(u.error, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(u.message, "Broker 9 is not registered.");
  TopicSpec partly;
  partly.name = "partly";
  partly.assignments[0] = {3, 2};
  ASSERT_EQ(run(c.io, c.controller->create_topic(partly, false)).error, ErrorCode::NONE);
  EXPECT_EQ(c.topic("partly").partitions[0].replicas, (std::vector<int32_t>{3, 2}));
  EXPECT_EQ(c.topic("partly").partitions[0].isr, std::vector<int32_t>{2});
  EXPECT_EQ(c.topic("partly").partitions[0].leader, 2);
  TopicSpec fenced;
  fenced.name = "fenced";
  fenced.assignments[0] = {3};
  auto f = run(c.io, c.controller->create_topic(fenced, false));
  EXPECT_EQ(f.error, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(f.message, "All brokers specified in the manual partition assignment for partition 0 are fenced or in "
                       "controlled shutdown.");
  EXPECT_EQ(c.image->find_topic("fenced"), nullptr);

  // Every broker fenced.
  c.beat(1, c.epoch(1), c.image->last_offset, true);
  c.beat(2, c.epoch(2), c.image->last_offset, true);
  auto none = c.create("none", 1, 1);
  EXPECT_EQ(none.error, ErrorCode::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(none.message, "Unable to replicate the partition 1 time(s): All brokers are currently fenced.");
}

TEST(ClusterBrokers, StateMachineFollowsKafka) {
  using S = BrokerState;
  auto next = [](S s, bool fence, bool shutdown, bool caught_up, bool leads = false, bool others = false) {
    return next_broker_state(s, HeartbeatAsk{fence, shutdown, caught_up, leads, others});
  };
  EXPECT_EQ(next(S::fenced, false, false, false), S::fenced);
  EXPECT_EQ(next(S::fenced, false, false, true), S::unfenced);
  EXPECT_EQ(next(S::fenced, true, false, true), S::fenced);
  EXPECT_EQ(next(S::fenced, false, true, false), S::shutdown_now);
  EXPECT_EQ(next(S::unfenced, false, false, true), S::unfenced);
  EXPECT_EQ(next(S::unfenced, true, false, true), S::fenced);
  EXPECT_EQ(next(S::unfenced, true, true, true), S::shutdown_now);
  EXPECT_EQ(next(S::unfenced, false, true, true, true), S::controlled_shutdown);
  EXPECT_EQ(next(S::unfenced, false, true, true, false), S::shutdown_now);
  EXPECT_EQ(next(S::controlled_shutdown, false, true, true, true, true), S::controlled_shutdown);
  EXPECT_EQ(next(S::controlled_shutdown, false, true, true, false, false), S::controlled_shutdown);
  EXPECT_EQ(next(S::controlled_shutdown, false, true, true, false, true), S::shutdown_now);
}

TEST(ClusterPlacement, StripedOverOneRackRotatesLeaders) {
  Random rng(3);
  StripedPlacer placer({{1, std::nullopt}, {2, std::nullopt}, {3, std::nullopt}, {4, std::nullopt}}, rng);
  std::map<int32_t, int> leaders;
  for (int p = 0; p < 40; ++p) {
    auto r = placer.place(2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_NE(r[0], r[1]);
    ++leaders[r[0]];
  }
  for (auto& [id, n] : leaders) EXPECT_EQ(n, 10) << id;
}

}  // namespace
}  // namespace samsa::cluster
