// quorum_settings(): the quorum from server.properties keys (Kafka's names and defaults).
#include <gtest/gtest.h>

#include "quorum/quorum_config.h"

namespace samsa::quorum {
namespace {

std::variant<std::optional<QuorumSettings>, std::string> settings(
    std::vector<std::pair<std::string, std::string>> kv) {
  std::vector<std::string> warnings;
  auto loaded = config::load_broker_config(std::nullopt, kv, warnings);
  EXPECT_TRUE(std::holds_alternative<config::BrokerConfig>(loaded)) << std::get<std::string>(loaded);
  return quorum_settings(std::get<config::BrokerConfig>(loaded));
}

TEST(QuorumConfig, NoVotersMeansTheSingleNodeLog) {
  auto s = settings({});
  ASSERT_TRUE(std::holds_alternative<std::optional<QuorumSettings>>(s));
  EXPECT_FALSE(std::get<std::optional<QuorumSettings>>(s).has_value());
}

TEST(QuorumConfig, StaticVotersWithKafkasDefaults) {
  auto s = settings({{"node.id", "2"},
                     {"process.roles", "broker,controller"},
                     {"controller.quorum.voters", "1@a:9093,2@b:9095,3@c:9097"}});
  auto& q = std::get<std::optional<QuorumSettings>>(s);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->raft.local_id, NodeId(2));
  EXPECT_EQ(q->raft.voters, (std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}));
  EXPECT_EQ(q->voters.at(NodeId(3)), (PeerAddress{"c", 9097}));
  EXPECT_EQ(q->raft.election_timeout_ms, 1000);
  EXPECT_EQ(q->raft.fetch_timeout_ms, 2000);
  EXPECT_EQ(q->raft.election_backoff_max_ms, 1000);
  EXPECT_EQ(q->raft.request_timeout_ms, 2000);
  EXPECT_EQ(q->raft.retry_backoff_ms, 20);
  EXPECT_EQ(q->max_record_bytes_between_snapshots, 20971520);
  EXPECT_EQ(q->max_snapshot_interval_ms, 3600000);
  EXPECT_EQ(q->segment_bytes, 1073741824);
  EXPECT_EQ(q->segment_ms, 604800000);
  EXPECT_TRUE(q->controller);
  EXPECT_TRUE(q->broker);
}

TEST(QuorumConfig, TimeoutsAreRead) {
  auto s = settings({{"node.id", "1"},
                     {"controller.quorum.voters", "1@localhost:9093"},
                     {"controller.quorum.election.timeout.ms", "300"},
                     {"controller.quorum.fetch.timeout.ms", "600"},
                     {"controller.quorum.request.timeout.ms", "700"}});
  auto& q = std::get<std::optional<QuorumSettings>>(s);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->raft.election_timeout_ms, 300);
  EXPECT_EQ(q->raft.fetch_timeout_ms, 600);
  EXPECT_EQ(q->raft.request_timeout_ms, 700);
}

TEST(QuorumConfig, SnapshotAndSegmentSettingsAreRead) {
  auto s = settings({{"node.id", "1"},
                     {"controller.quorum.voters", "1@localhost:9093"},
                     {"metadata.log.max.record.bytes.between.snapshots", "4096"},
                     {"metadata.log.max.snapshot.interval.ms", "0"},
                     {"metadata.log.segment.bytes", "8192"},
                     {"metadata.log.segment.ms", "60000"}});
  auto& q = std::get<std::optional<QuorumSettings>>(s);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->max_record_bytes_between_snapshots, 4096);
  EXPECT_EQ(q->max_snapshot_interval_ms, 0);
  EXPECT_EQ(q->segment_bytes, 8192);
  EXPECT_EQ(q->segment_ms, 60000);
}

TEST(QuorumConfig, AControllerOutsideTheVotersIsRefused) {
  auto s = settings({{"node.id", "4"}, {"process.roles", "controller"}, {"controller.quorum.voters", "1@a:9093"}});
  ASSERT_TRUE(std::holds_alternative<std::string>(s));
  EXPECT_NE(std::get<std::string>(s).find("not in controller.quorum.voters"), std::string::npos);
}

TEST(QuorumConfig, ABrokerOnlyNodeIsAnObserver) {
  auto s = settings({{"node.id", "4"}, {"process.roles", "broker"}, {"controller.quorum.voters", "1@a:9093"}});
  auto& q = std::get<std::optional<QuorumSettings>>(s);
  ASSERT_TRUE(q.has_value());
  EXPECT_FALSE(q->controller);
  EXPECT_EQ(q->raft.voters, (std::vector<NodeId>{NodeId(1)}));
}

// Was refused ("not supported yet") until observers could join a dynamic quorum
// (KIP-853): without a voter set on disk the node is an observer that finds
// the leader through the bootstrap servers; a malformed one is still refused.
TEST(QuorumConfig, TheDynamicFormWithoutAVoterSetStartsAnObserver) {
  auto s = settings({{"node.id", "1"}, {"controller.quorum.bootstrap.servers", "a:9093"}});
  ASSERT_TRUE(std::holds_alternative<std::optional<QuorumSettings>>(s)) << std::get<std::string>(s);
  auto& q = std::get<std::optional<QuorumSettings>>(s);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->raft.dynamic);
  EXPECT_TRUE(q->raft.voters.empty());
  EXPECT_EQ(q->bootstrap.at(NodeId(-2)), (PeerAddress{"a", 9093}));
  auto bad = settings({{"node.id", "1"}, {"controller.quorum.bootstrap.servers", "a"}});
  ASSERT_TRUE(std::holds_alternative<std::string>(bad));
  EXPECT_NE(std::get<std::string>(bad).find("is not host:port"), std::string::npos);
}

// What the node's voter-set entry should say (UpdateRaftVoter): the advertised endpoint of the
// controller listener when advertised.listeners names it, else the bound one; an empty host is
// "localhost"; other listeners are not part of it.
TEST(QuorumConfig, LocalEndpointsAreTheControllerListenersAdvertisedElseBound) {
  auto bound = settings({{"node.id", "1"},
                         {"process.roles", "broker,controller"},
                         {"controller.quorum.bootstrap.servers", "a:9093"},
                         {"listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"},
                         {"advertised.listeners", "PLAINTEXT://b1:9092"},
                         {"controller.listener.names", "CONTROLLER"}});
  auto& q = std::get<std::optional<QuorumSettings>>(bound);
  ASSERT_TRUE(q);
  ASSERT_EQ(q->local_endpoints.size(), 1u);
  EXPECT_EQ(q->local_endpoints[0].name, "CONTROLLER");
  EXPECT_EQ(q->local_endpoints[0].host, "localhost");
  EXPECT_EQ(q->local_endpoints[0].port, 9093);
  auto advertised = settings({{"node.id", "1"},
                              {"process.roles", "broker,controller"},
                              {"controller.quorum.bootstrap.servers", "a:9093"},
                              {"listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"},
                              {"advertised.listeners", "PLAINTEXT://b1:9092,CONTROLLER://c1.example:19093"},
                              {"controller.listener.names", "CONTROLLER"}});
  auto& a = std::get<std::optional<QuorumSettings>>(advertised);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->local_endpoints.size(), 1u);
  EXPECT_EQ(a->local_endpoints[0].host, "c1.example");
  EXPECT_EQ(a->local_endpoints[0].port, 19093);
}

}  // namespace
}  // namespace samsa::quorum
