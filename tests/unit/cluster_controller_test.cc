// The controller's admin bounds (issue 18): the metadata log's name is not a
// topic, requests asking for excessive partition counts are refused before
// allocating, the partition budget, batched creation publishing one delta, and
// the image's shared topic tables.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "cluster/controller.h"
#include "cluster/metadata_loader.h"
#include "metadata_test_util.h"
#include "raft/memory_metadata_log.h"
#include "cluster/topic_name.h"
#include "server/partition_budget.h"

namespace samsa::cluster {
namespace {

using samsa::testing::run;

// The controller's operations, each run to completion (the tests below were
// written against the synchronous controller).
struct SyncController {
  asio::io_context& io;
  Controller& c;
  MetadataLoader& loader;
  void load() { ASSERT_TRUE(loader.load()); }
  std::vector<OpResult> create_topics(std::vector<TopicSpec> specs, bool validate_only) {
    return run(io, c.create_topics(std::move(specs), validate_only));
  }
  OpResult create_topic(TopicSpec spec, bool validate_only) { return run(io, c.create_topic(std::move(spec), validate_only)); }
  OpResult delete_topic(std::string name) { return run(io, c.delete_topic(std::move(name))); }
  OpResult create_partitions(std::string name, int32_t total, std::vector<std::vector<int32_t>> a, bool validate_only) {
    return run(io, c.create_partitions(std::move(name), total, std::move(a), validate_only));
  }
  OpResult register_broker(int32_t id, std::string host, int32_t port, std::optional<std::string> rack) {
    return run(io, c.register_broker(id, std::move(host), port, std::move(rack)));
  }
};

struct Fixture {
  explicit Fixture(int64_t max_partitions = 0) {
    ControllerSettings cs;
    cs.max_partitions = max_partitions;
    cs.max_partitions_reason = "test";
    cs.seed = 11;
    loader = std::make_unique<MetadataLoader>(log, [this](ImagePtr img, DeltaPtr d) {
      image = img;
      deltas.push_back(*d);
    });
    real = std::make_unique<Controller>(cs, log, *loader);
    controller = std::make_unique<SyncController>(SyncController{io, *real, *loader});
    controller->load();
    controller->register_broker(1, "localhost", 9092, std::nullopt);
  }
  TopicSpec spec(std::string name, int32_t partitions) {
    TopicSpec s;
    s.name = std::move(name);
    s.num_partitions = partitions;
    return s;
  }
  asio::io_context io;
  ManualClock clock;
  raft::MemoryMetadataLog log{clock};
  std::unique_ptr<MetadataLoader> loader;
  std::unique_ptr<Controller> real;
  std::unique_ptr<SyncController> controller;
  ImagePtr image;
  std::vector<ImageDelta> deltas;
};

TEST(ClusterController, ClusterMetadataNameRefused) {
  Fixture f;
  for (bool validate_only : {true, false}) {
    auto r = f.controller->create_topic(f.spec(std::string(kClusterMetadataTopic), 1), validate_only);
    EXPECT_EQ(r.error, ErrorCode::INVALID_REQUEST);
    EXPECT_EQ(r.message, "Creation of internal topic __cluster_metadata is prohibited.");
  }
  EXPECT_EQ(f.image->find_topic(std::string(kClusterMetadataTopic)), nullptr);
}

TEST(ClusterController, ReplayIgnoresClusterMetadataTopicRecord) {
  Fixture f;
  // A data dir written before the name was refused.
  Uuid id{};
  id[0] = 1;
  run(f.io, f.log.append({encode_record(topic_record(std::string(kClusterMetadataTopic), id)),
                          encode_record(partition_record(id, 0, {1}, {1}, 1, 0))}));
  f.controller->load();
  EXPECT_EQ(f.image->find_topic(std::string(kClusterMetadataTopic)), nullptr);
  EXPECT_EQ(f.image->find_topic(id), nullptr);
  EXPECT_EQ(f.image->partition_count, 0);
}

TEST(ClusterController, ExcessivePartitionCountsRefusedBeforeAllocation) {
  Fixture f;
  for (bool validate_only : {true, false}) {
    auto r = f.controller->create_topic(f.spec("huge", 2147483647), validate_only);
    EXPECT_EQ(r.error, ErrorCode::POLICY_VIOLATION);
    EXPECT_EQ(r.message, kExcessivePartitionsMessage);
    auto rs = f.controller->create_topics({f.spec("a", 6000), f.spec("b", 6000)}, validate_only);
    EXPECT_EQ(rs[0].error, ErrorCode::POLICY_VIOLATION);
    EXPECT_EQ(rs[1].error, ErrorCode::POLICY_VIOLATION);
  }
  TopicSpec assigned;
  assigned.name = "assigned";
  for (int32_t p = 0; p <= kMaxPartitionsPerRequest; ++p) assigned.assignments[p] = {1};
  EXPECT_EQ(f.controller->create_topic(assigned, false).error, ErrorCode::POLICY_VIOLATION);
  ASSERT_EQ(f.controller->create_topic(f.spec("small", 1), false).error, ErrorCode::NONE);
  auto r = f.controller->create_partitions("small", 2147483647, {}, true);
  EXPECT_EQ(r.error, ErrorCode::POLICY_VIOLATION);
  EXPECT_EQ(r.message, kExcessiveBatchMessage);
  EXPECT_EQ(f.controller->create_partitions("small", kMaxRecordsPerOp + 1, {}, false).error, ErrorCode::NONE);
}

TEST(ClusterController, DuplicateReplicasRefused) {
  Fixture f;
  TopicSpec s;
  s.name = "dup";
  s.assignments[0] = std::vector<int32_t>(100000, 1);
  EXPECT_EQ(f.controller->create_topic(s, false).error, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
}

TEST(ClusterController, PartitionBudget) {
  Fixture f(10);
  auto r = f.controller->create_topic(f.spec("eleven", 11), false);
  EXPECT_EQ(r.error, ErrorCode::POLICY_VIOLATION);
  EXPECT_NE(r.message.find("above its limit of 10 (test)"), std::string::npos) << r.message;
  auto rs = f.controller->create_topics({f.spec("six", 6), f.spec("five", 5)}, false);
  EXPECT_EQ(rs[0].error, ErrorCode::NONE);
  EXPECT_EQ(rs[1].error, ErrorCode::POLICY_VIOLATION);  // six + five > 10
  EXPECT_EQ(f.controller->create_partitions("six", 11, {}, false).error, ErrorCode::POLICY_VIOLATION);
  EXPECT_EQ(f.controller->create_partitions("six", 10, {}, false).error, ErrorCode::NONE);
  EXPECT_EQ(f.image->partition_count, 10);
  ASSERT_EQ(f.controller->delete_topic("six").error, ErrorCode::NONE);
  EXPECT_EQ(f.image->partition_count, 0);
}

TEST(ClusterController, BatchIsOneAppendAndOneDelta) {
  Fixture f;
  int appends = f.log.appends();
  size_t deltas = f.deltas.size();
  std::vector<TopicSpec> specs;
  for (int i = 0; i < 50; ++i) specs.push_back(f.spec("t" + std::to_string(i), 2));
  specs.push_back(f.spec("t7", 1));  // already in the batch: created once
  specs.push_back(f.spec("bad name", 1));
  auto rs = f.controller->create_topics(specs, false);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(rs[i].error, ErrorCode::NONE) << i;
  EXPECT_EQ(rs[50].error, ErrorCode::TOPIC_ALREADY_EXISTS);
  EXPECT_EQ(rs[51].error, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(f.log.appends(), appends + 1);
  ASSERT_EQ(f.deltas.size(), deltas + 1);
  EXPECT_FALSE(f.deltas.back().full);
  EXPECT_EQ(f.deltas.back().topics.size(), 50u);
  EXPECT_EQ(f.image->topics.size(), 50u);
}

TEST(ClusterController, CollisionsFoundWithoutScan) {
  Fixture f;
  ASSERT_EQ(f.controller->create_topic(f.spec("a.b", 1), false).error, ErrorCode::NONE);
  auto r = f.controller->create_topic(f.spec("a_b", 1), false);
  EXPECT_EQ(r.error, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(r.message, "Topic 'a_b' collides with existing topic: a.b");
  auto rs = f.controller->create_topics({f.spec("x.y", 1), f.spec("x_y", 1)}, false);
  EXPECT_EQ(rs[0].error, ErrorCode::NONE);
  EXPECT_EQ(rs[1].error, ErrorCode::INVALID_TOPIC_EXCEPTION);
  ASSERT_EQ(f.controller->delete_topic("a.b").error, ErrorCode::NONE);
  EXPECT_EQ(f.controller->create_topic(f.spec("a_b", 1), false).error, ErrorCode::NONE);
}

TEST(ClusterSharedMap, CopiesShareUntouchedBucketsAndStayIndependent) {
  SharedMap<std::string, int, std::hash<std::string>> a;
  for (int i = 0; i < 5000; ++i) a.set("k" + std::to_string(i), i);
  auto b = a;
  b.set("k1", -1);
  b.erase("k2");
  b.set("new", 7);
  EXPECT_EQ(*a.find("k1"), 1);
  EXPECT_NE(a.find("k2"), nullptr);
  EXPECT_EQ(a.find("new"), nullptr);
  EXPECT_EQ(*b.find("k1"), -1);
  EXPECT_EQ(b.find("k2"), nullptr);
  EXPECT_EQ(a.size(), 5000u);
  EXPECT_EQ(b.size(), 5000u);
  *b.find_mutable("k3") = 33;
  EXPECT_EQ(*a.find("k3"), 3);
  size_t n = 0;
  b.for_each([&](const std::string&, int) { ++n; });
  EXPECT_EQ(n, b.size());
}

}  // namespace
}  // namespace samsa::cluster

namespace samsa::server {
namespace {

TEST(PartitionBudget, FromDescriptorsAndMaps) {
  auto b = partition_budget(400, 65530);
  EXPECT_EQ(b.max_partitions, 400 - 64);
  EXPECT_NE(b.reason.find("open-files limit is 400"), std::string::npos);
  b = partition_budget(1 << 20, 65530);
  EXPECT_EQ(b.max_partitions, (65530 - 1024) / 2);
  EXPECT_NE(b.reason.find("vm.max_map_count"), std::string::npos);
  EXPECT_EQ(partition_budget(-1, -1).max_partitions, 0);  // unknown: no limit
  EXPECT_EQ(partition_budget(10, -1).max_partitions, 1);
}

}  // namespace
}  // namespace samsa::server
