// AlterPartition (56) between a partition leader and the active controller:
// the broker's codecs (server/controller_forwarding.h) at every version, the
// controller listener's side (server/alter_partition_handler.h) turning the
// wire request into the controller's and its answer back, and a request
// served end to end against a controller over an in-memory metadata log.
#include <gtest/gtest.h>

#include "cluster_test_cluster.h"
#include "protocol/messages/alter_partition.h"
#include "server/alter_partition_handler.h"
#include "server/controller_forwarding.h"
#include "wire_test_util.h"

namespace samsa::server {
namespace {

using samsa::testing::run;

using samsa::testing::decode_as;
using samsa::testing::encode_as;

cluster::AlterPartitionRequest sample(int16_t version) {
  cluster::AlterPartitionRequest req;
  req.broker = NodeId(2);
  req.broker_epoch = 41;
  req.version = version;
  auto& t = req.topics.emplace_back();
  t.name = version < 2 ? "orders" : "";
  if (version >= 2) t.id[3] = 9;
  auto& p = t.partitions.emplace_back();
  p.partition = 5;
  p.leader_epoch = 7;
  p.partition_epoch = 12;
  p.leader_recovery_state = version >= 1 ? 1 : 0;
  p.new_isr = {{2, version >= 3 ? 41 : -1}, {3, version >= 3 ? 17 : -1}};
  return req;
}

TEST(ServerAlterPartition, RequestSurvivesTheWireAtEveryVersion) {
  for (int16_t v = 0; v <= 3; ++v) {
    const auto req = sample(v);
    auto bytes = encode_alter_partition(req);
    auto wire = decode_as<protocol::AlterPartitionRequest>(bytes, v);
    EXPECT_EQ(wire.broker_id, 2);
    EXPECT_EQ(wire.broker_epoch, 41);
    ASSERT_EQ(wire.topics.size(), 1u);
    ASSERT_EQ(wire.topics[0].partitions.size(), 1u);
    auto& wp = wire.topics[0].partitions[0];
    if (v >= 3) {
      EXPECT_TRUE(wp.new_isr.empty());
      ASSERT_EQ(wp.new_isr_with_epochs.size(), 2u);
      EXPECT_EQ(wp.new_isr_with_epochs[1].broker_epoch, 17);
    } else {
      EXPECT_EQ(wp.new_isr, (std::vector<int32_t>{2, 3}));
      EXPECT_TRUE(wp.new_isr_with_epochs.empty());
    }
    // What the controller listener makes of it is what was sent.
    auto back = alter_partition_request_of(wire, v);
    EXPECT_EQ(back.broker, req.broker);
    EXPECT_EQ(back.broker_epoch, req.broker_epoch);
    EXPECT_EQ(back.version, v);
    ASSERT_EQ(back.topics.size(), 1u);
    EXPECT_EQ(back.topics[0].name, req.topics[0].name) << v;
    EXPECT_EQ(back.topics[0].id, req.topics[0].id) << v;
    auto& bp = back.topics[0].partitions[0];
    auto& rp = req.topics[0].partitions[0];
    EXPECT_EQ(bp.partition, rp.partition);
    EXPECT_EQ(bp.leader_epoch, rp.leader_epoch);
    EXPECT_EQ(bp.partition_epoch, rp.partition_epoch);
    EXPECT_EQ(bp.leader_recovery_state, rp.leader_recovery_state) << v;
    EXPECT_EQ(bp.new_isr, rp.new_isr) << v;
  }
}

TEST(ServerAlterPartition, AnswerSurvivesTheWireAtEveryVersion) {
  cluster::AlterPartitionResponse resp;
  auto& t = resp.topics.emplace_back();
  auto& ok = t.partitions.emplace_back();
  ok.partition = 5;
  ok.leader = 2;
  ok.leader_epoch = 7;
  ok.isr = {2, 3};
  ok.leader_recovery_state = 1;
  ok.partition_epoch = 13;
  auto& refused = t.partitions.emplace_back();
  refused.partition = 6;
  refused.error = ErrorCode::INELIGIBLE_REPLICA;
  for (int16_t v = 0; v <= 3; ++v) {
    t.name = v < 2 ? "orders" : "";
    t.id = protocol::Uuid{};
    if (v >= 2) t.id[0] = 1;
    auto out = decode_alter_partition(encode_as(alter_partition_response_of(resp), v), v);
    EXPECT_EQ(out.error, ErrorCode::NONE);
    ASSERT_EQ(out.topics.size(), 1u);
    EXPECT_EQ(out.topics[0].name, t.name);
    EXPECT_EQ(out.topics[0].id, t.id);
    ASSERT_EQ(out.topics[0].partitions.size(), 2u);
    auto& p = out.topics[0].partitions[0];
    EXPECT_EQ(p.error, ErrorCode::NONE);
    EXPECT_EQ(p.leader, 2);
    EXPECT_EQ(p.leader_epoch, 7);
    EXPECT_EQ(p.isr, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(p.leader_recovery_state, v >= 1 ? 1 : 0);  // not on the wire before v1
    EXPECT_EQ(p.partition_epoch, 13);
    EXPECT_EQ(out.topics[0].partitions[1].error, ErrorCode::INELIGIBLE_REPLICA);
  }
  // A top-level error, and an answer that does not parse.
  cluster::AlterPartitionResponse stale;
  stale.error = ErrorCode::STALE_BROKER_EPOCH;
  EXPECT_EQ(decode_alter_partition(encode_as(alter_partition_response_of(stale), 3), 3).error,
            ErrorCode::STALE_BROKER_EPOCH);
  const protocol::Bytes junk{0, 0, 0};
  auto bad = decode_alter_partition(junk, kAlterPartitionVersion);
  EXPECT_EQ(bad.error, ErrorCode::UNKNOWN_SERVER_ERROR);
  EXPECT_TRUE(bad.topics.empty());
}

TEST(ServerAlterPartition, ServedByTheController) {
  cluster::test_support::Cluster c;
  for (int id : {1, 2}) c.join(id);
  cluster::TopicSpec s;
  s.name = "t";
  s.assignments[0] = {1, 2};
  ASSERT_EQ(run(c.io, c.controller->create_topic(s, false)).error, ErrorCode::NONE);
  const auto& p = c.topic("t").partitions[0];

  cluster::AlterPartitionRequest req;
  req.broker = NodeId(1);
  req.broker_epoch = c.epoch(1);
  req.version = kAlterPartitionVersion;
  auto& t = req.topics.emplace_back();
  t.id = c.topic("t").id;
  auto& item = t.partitions.emplace_back();
  item.partition = 0;
  item.leader_epoch = p.leader_epoch;
  item.partition_epoch = p.partition_epoch;
  item.new_isr = {{1, c.epoch(1)}};
  auto wire = decode_as<protocol::AlterPartitionRequest>(encode_alter_partition(req), req.version);
  auto resp = run(c.io, serve_alter_partition(*c.controller, wire, req.version));
  auto out = decode_alter_partition(encode_as(resp, req.version), req.version);
  ASSERT_EQ(out.error, ErrorCode::NONE);
  ASSERT_EQ(out.topics.size(), 1u);
  EXPECT_EQ(out.topics[0].id, c.topic("t").id);
  ASSERT_EQ(out.topics[0].partitions.size(), 1u);
  EXPECT_EQ(out.topics[0].partitions[0].error, ErrorCode::NONE);
  EXPECT_EQ(out.topics[0].partitions[0].isr, std::vector<int32_t>{1});
  EXPECT_EQ(out.topics[0].partitions[0].partition_epoch, c.topic("t").partitions[0].partition_epoch);
  EXPECT_EQ(c.topic("t").partitions[0].isr, std::vector<int32_t>{1});
}

}  // namespace
}  // namespace samsa::server
