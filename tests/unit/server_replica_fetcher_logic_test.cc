// The follower's decisions (server/replica_fetcher_logic.h) over hand-built
// images and responses: which hosted replicas follow which leader, where the
// leader is reached, how many whole batches a response holds, what each
// partition of a Fetch response makes the follower do.
#include <gtest/gtest.h>

#include "protocol/batch_header.h"
#include "server/replica_fetcher_logic.h"
#include "storage_test_util.h"

namespace samsa::server {
namespace {

const protocol::Uuid kLogicTopicId{1, 2, 3};

cluster::BrokerInfo broker(int32_t id, bool fenced = false) {
  cluster::BrokerInfo b;
  b.id = id;
  b.fenced = fenced;
  b.endpoints = {{"CONTROLLER", "c" + std::to_string(id), 9000 + id, 0},
                 {"PLAINTEXT", "p" + std::to_string(id), 9100 + id, 0},
                 {"INTERNAL", "i" + std::to_string(id), 9200 + id, 0}};
  b.host = b.endpoints[0].host;
  b.port = b.endpoints[0].port;
  return b;
}

// Brokers 1, 2, 3 (3 fenced); topic "t": partition 0 led by 1, 1 led by 2
// (both replicated on 1, 2, 3), 2 led by 3 (fenced), 3 without a leader, 4 led
// by 2 on replicas 2, 3 only.
cluster::MetadataImage image() {
  cluster::MetadataImage img;
  for (int32_t id : {1, 2, 3}) img.brokers[id] = broker(id, id == 3);
  auto t = std::make_shared<cluster::TopicInfo>();
  t->name = "t";
  t->id = kLogicTopicId;
  const int32_t leaders[] = {1, 2, 3, -1, 2};
  for (int32_t p = 0; p < 5; ++p) {
    cluster::PartitionInfo pi;
    pi.partition = p;
    pi.leader = leaders[p];
    pi.leader_epoch = 7 + p;
    pi.replicas = p == 4 ? std::vector<int32_t>{2, 3} : std::vector<int32_t>{1, 2, 3};
    pi.isr = pi.replicas;
    t->partitions.push_back(pi);
  }
  img.topics.set("t", t);
  return img;
}

TEST(ReplicaFetcherLogic, FollowsOnlyReplicasLedByAnotherLiveBroker) {
  auto img = image();
  const NodeId self(1);
  EXPECT_FALSE(follow_target(img, self, {"t", 0}, kLogicTopicId));  // led here
  auto t = follow_target(img, self, {"t", 1}, kLogicTopicId);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->leader, NodeId(2));
  EXPECT_EQ(t->leader_epoch, Epoch(8));
  EXPECT_FALSE(follow_target(img, self, {"t", 2}, kLogicTopicId));  // leader fenced
  EXPECT_FALSE(follow_target(img, self, {"t", 3}, kLogicTopicId));  // no leader
  EXPECT_FALSE(follow_target(img, self, {"t", 4}, kLogicTopicId));  // not a replica here
  EXPECT_FALSE(follow_target(img, self, {"t", 5}, kLogicTopicId));  // no such partition
  EXPECT_FALSE(follow_target(img, self, {"t", -1}, kLogicTopicId));
  EXPECT_FALSE(follow_target(img, self, {"t", 1}, protocol::Uuid{9}));  // deleted and recreated
  EXPECT_FALSE(follow_target(img, self, {"gone", 1}, kLogicTopicId));
  img.brokers.erase(2);  // the leader unregistered
  EXPECT_FALSE(follow_target(img, self, {"t", 1}, kLogicTopicId));
}

TEST(ReplicaFetcherLogic, ReachesTheLeaderOnTheInterBrokerListenerElseTheFirstBrokerOne) {
  const std::vector<std::string> controllers{"CONTROLLER"};
  auto b = broker(2);
  EXPECT_EQ(inter_broker_address(b, "INTERNAL", controllers), (BrokerAddress{"i2", 9202}));
  EXPECT_EQ(inter_broker_address(b, "PLAINTEXT", controllers), (BrokerAddress{"p2", 9102}));
  // Not registered under that name: the first listener that is not a controller's.
  EXPECT_EQ(inter_broker_address(b, "REPLICATION", controllers), (BrokerAddress{"p2", 9102}));
  b.endpoints = {b.endpoints[0]};
  EXPECT_FALSE(inter_broker_address(b, "PLAINTEXT", controllers));
  b.endpoints = {{"PLAINTEXT", "p2", 70000, 0}};  // a port no socket has
  EXPECT_FALSE(inter_broker_address(b, "PLAINTEXT", controllers));
}

TEST(ReplicaFetcherLogic, WholeBatchesPrefixStopsAtAPartialOrMalformedBatch) {
  auto one = storage::testing::make_batch(3);
  auto two = storage::testing::make_batch(2);
  std::vector<uint8_t> both(one);
  both.insert(both.end(), two.begin(), two.end());
  EXPECT_EQ(whole_batches_prefix(both), both.size());
  EXPECT_EQ(whole_batches_prefix({}), 0u);
  // Cut anywhere inside the second batch: only the first counts.
  for (size_t cut : {one.size() + 1, one.size() + 12, one.size() + 61, both.size() - 1})
    EXPECT_EQ(whole_batches_prefix(std::span<const uint8_t>(both).first(cut)), one.size()) << cut;
  EXPECT_EQ(whole_batches_prefix(std::span<const uint8_t>(one).first(one.size() - 1)), 0u);
  // A batchLength too small for a header, negative, or past the end.
  for (int32_t bad : {0, 48, -1, INT32_MAX}) {
    std::vector<uint8_t> b(both);
    protocol::store_be32(b.data() + one.size() + protocol::batch::kLength, bad);
    EXPECT_EQ(whole_batches_prefix(b), one.size()) << bad;
  }
}

FetchedPartition answer(ErrorCode e, size_t bytes = 0, size_t raw = 0) {
  FetchedPartition p;
  p.error = e;
  p.high_watermark = Offset(10);
  p.log_start_offset = Offset(0);
  p.record_bytes = bytes;
  p.raw_record_bytes = raw ? raw : bytes;
  return p;
}

TEST(ReplicaFetcherLogic, EachPartitionAnswerLeadsToOneAction) {
  EXPECT_EQ(decide(answer(ErrorCode::NONE, 100)), FetchAction::kAppend);
  EXPECT_EQ(decide(answer(ErrorCode::NONE)), FetchAction::kHighWatermark);
  EXPECT_EQ(decide(answer(ErrorCode::NONE, 0, 30)), FetchAction::kBackoff);  // only part of a batch
  auto diverged = answer(ErrorCode::NONE);
  diverged.diverging = {Epoch(3), Offset(42)};
  EXPECT_EQ(decide(diverged), FetchAction::kTruncateDiverging);
  diverged.diverging = {Epoch(-1), Offset(-1)};  // the field's default: no divergence
  EXPECT_EQ(decide(diverged), FetchAction::kHighWatermark);
  EXPECT_EQ(decide(answer(ErrorCode::OFFSET_OUT_OF_RANGE)), FetchAction::kOutOfRange);
  EXPECT_EQ(decide(answer(ErrorCode::FENCED_LEADER_EPOCH)), FetchAction::kFenced);
  for (auto e : {ErrorCode::NOT_LEADER_OR_FOLLOWER, ErrorCode::UNKNOWN_LEADER_EPOCH,
                 ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, ErrorCode::KAFKA_STORAGE_ERROR,
                 ErrorCode::UNKNOWN_SERVER_ERROR, ErrorCode::TOPIC_AUTHORIZATION_FAILED})
    EXPECT_EQ(decide(answer(e, 100)), FetchAction::kBackoff) << error_name(e);
}

TEST(ReplicaFetcherLogic, OutOfRangeRestartsBelowTheLeadersStartElseCutsToWhatBothCommitted) {
  using A = OutOfRangeAction;
  // fetch offset, log end, local HW, leader log start, leader HW
  EXPECT_EQ(out_of_range_action(Offset(5), Offset(5), Offset(5), Offset(100), Offset(150)),
            (A{A::kStartAt, Offset(100)}));
  // Past the leader's end (an unclean election): down to the leader's HW.
  EXPECT_EQ(out_of_range_action(Offset(80), Offset(80), Offset(70), Offset(0), Offset(60)),
            (A{A::kTruncateTo, Offset(60)}));
  // The leader ahead: down to our own HW.
  EXPECT_EQ(out_of_range_action(Offset(80), Offset(80), Offset(70), Offset(0), Offset(90)),
            (A{A::kTruncateTo, Offset(70)}));
  // The leader sent no offsets (-1): our HW.
  EXPECT_EQ(out_of_range_action(Offset(80), Offset(80), Offset(70), Offset(-1), Offset(-1)),
            (A{A::kTruncateTo, Offset(70)}));
  EXPECT_EQ(out_of_range_action(Offset(0), Offset(0), Offset(0), Offset(-1), Offset(-1)),
            (A{A::kTruncateTo, Offset(0)}));
}

}  // namespace
}  // namespace samsa::server
