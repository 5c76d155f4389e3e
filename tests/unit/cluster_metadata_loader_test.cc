// The metadata seam on one node without a broker: the active controller
// proposes through an in-memory metadata log, the metadata loader applies what
// was committed and publishes images with deltas.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "cluster/controller.h"
#include "cluster/metadata_loader.h"
#include "metadata_test_util.h"
#include "raft/memory_metadata_log.h"

namespace samsa::cluster {
namespace {

using samsa::testing::run;

struct Published {
  ImagePtr image;
  ImageDelta delta;
};

struct Node {
  explicit Node(raft::MemoryMetadataLog& log) : log(log) {
    loader = std::make_unique<MetadataLoader>(log, [this](ImagePtr img, DeltaPtr d) { published.push_back({img, *d}); });
    loader->set_cluster_id("cluster-1");  // what meta.properties holds on a real node
    ControllerSettings cs;
    cs.seed = 7;
    controller = std::make_unique<Controller>(cs, log, *loader);
  }
  ImagePtr image() const { return loader->image(); }
  const ImageDelta& last_delta() const { return published.back().delta; }

  raft::MemoryMetadataLog& log;
  std::unique_ptr<MetadataLoader> loader;
  std::unique_ptr<Controller> controller;
  std::vector<Published> published;
};

struct MetadataSeam : ::testing::Test {
  MetadataSeam() : log(clock), node(log) {
    EXPECT_TRUE(node.loader->load());
    EXPECT_EQ(run(io, node.controller->register_broker(1, "localhost", 9092, std::nullopt)).error, ErrorCode::NONE);
  }
  OpResult create(std::string name, int32_t partitions, std::map<std::string, std::string> configs = {}) {
    TopicSpec s;
    s.name = std::move(name);
    s.num_partitions = partitions;
    s.configs = std::move(configs);
    return run(io, node.controller->create_topic(std::move(s), false));
  }
  OpResult alter(int8_t type, std::string name, std::string key, std::optional<std::string> value,
                 bool validate_only = false) {
    std::vector<std::pair<std::string, std::optional<std::string>>> changes{{std::move(key), std::move(value)}};
    return run(io, node.controller->alter_configs(type, std::move(name), std::move(changes), validate_only));
  }

  asio::io_context io;
  ManualClock clock{1'700'000'000'000};
  raft::MemoryMetadataLog log;
  Node node;
};

TEST_F(MetadataSeam, LoadPublishesAFullImage) {
  ASSERT_GE(node.published.size(), 1u);
  EXPECT_TRUE(node.published.front().delta.full);
  EXPECT_EQ(node.image()->cluster_id, "cluster-1");
  EXPECT_EQ(node.image()->controller_id, 1);
  ASSERT_EQ(node.image()->brokers.count(1), 1u);
  EXPECT_EQ(node.image()->brokers.at(1).host, "localhost");
}

TEST_F(MetadataSeam, CreateAndDeleteTopicsReachTheImageWithDeltas) {
  auto created = create("orders", 3);
  ASSERT_EQ(created.error, ErrorCode::NONE);
  auto* t = node.image()->find_topic("orders");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, created.topic_id);
  EXPECT_EQ(t->partitions.size(), 3u);
  EXPECT_EQ(node.image()->partition_count, 3);
  EXPECT_EQ(node.image()->last_offset, static_cast<int64_t>(log.entries().size()) - 1);
  EXPECT_FALSE(node.last_delta().full);
  EXPECT_EQ(node.last_delta().topics, std::vector<std::string>{"orders"});
  // The batch was stamped by the log's clock.
  EXPECT_EQ(log.entries().back().append_time_ms, 1'700'000'000'000);

  EXPECT_EQ(create("orders", 1).error, ErrorCode::TOPIC_ALREADY_EXISTS);
  size_t before = node.published.size();
  ASSERT_EQ(run(io, node.controller->delete_topic("orders")).error, ErrorCode::NONE);
  EXPECT_EQ(node.published.size(), before + 1);
  EXPECT_EQ(node.image()->find_topic("orders"), nullptr);
  EXPECT_EQ(node.image()->partition_count, 0);
  EXPECT_EQ(node.last_delta().topics, std::vector<std::string>{"orders"});
  EXPECT_EQ(run(io, node.controller->delete_topic("orders")).error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST_F(MetadataSeam, ConfigsOfTopicsAndBrokers) {
  ASSERT_EQ(create("t", 1, {{"cleanup.policy", "compact"}}).error, ErrorCode::NONE);
  EXPECT_EQ(node.image()->find_topic("t")->configs.at("cleanup.policy"), "compact");
  int appends = log.appends();
  EXPECT_EQ(alter(2, "t", "retention.ms", "1000", /*validate_only=*/true).error, ErrorCode::NONE);
  EXPECT_EQ(log.appends(), appends);  // validated, nothing proposed
  EXPECT_EQ(node.image()->find_topic("t")->configs.count("retention.ms"), 0u);

  ASSERT_EQ(alter(2, "t", "retention.ms", "1000").error, ErrorCode::NONE);
  EXPECT_EQ(node.image()->find_topic("t")->configs.at("retention.ms"), "1000");
  EXPECT_FALSE(node.last_delta().full);
  EXPECT_EQ(node.last_delta().topics, std::vector<std::string>{"t"});
  ASSERT_EQ(alter(2, "t", "cleanup.policy", std::nullopt).error, ErrorCode::NONE);
  EXPECT_EQ(node.image()->find_topic("t")->configs.count("cleanup.policy"), 0u);

  // A broker default reaches every topic's log config: a full delta.
  ASSERT_EQ(alter(4, "", "log.retention.ms", "5000").error, ErrorCode::NONE);
  EXPECT_TRUE(node.last_delta().full);
  EXPECT_EQ(node.image()->broker_configs.at("").at("log.retention.ms"), "5000");
  EXPECT_EQ(alter(2, "missing", "retention.ms", "1").error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST_F(MetadataSeam, ProducerIdBlocksNeverRepeat) {
  EXPECT_EQ(run(io, node.controller->allocate_producer_ids(1, 1000)), 0);
  EXPECT_EQ(run(io, node.controller->allocate_producer_ids(1, 1000)), 1000);
  EXPECT_EQ(node.image()->next_producer_id, 2000);
  Node restarted(log);  // a restart replays the blocks handed out
  ASSERT_TRUE(restarted.loader->load());
  EXPECT_EQ(run(io, restarted.controller->allocate_producer_ids(1, 10)), 2000);
}

TEST_F(MetadataSeam, NotLeaderIsAnsweredAndChangesNothing) {
  ASSERT_EQ(create("kept", 1).error, ErrorCode::NONE);
  auto image = node.image();
  size_t published = node.published.size();
  size_t entries = log.entries().size();
  log.set_leader(NodeId(2), Epoch(3));  // another node leads the quorum now
  auto r = create("refused", 1);
  EXPECT_EQ(r.error, ErrorCode::NOT_CONTROLLER);
  EXPECT_EQ(run(io, node.controller->delete_topic("kept")).error, ErrorCode::NOT_CONTROLLER);
  EXPECT_EQ(alter(2, "kept", "retention.ms", "1").error, ErrorCode::NOT_CONTROLLER);
  EXPECT_EQ(run(io, node.controller->allocate_producer_ids(1, 1000)), -1);
  EXPECT_EQ(node.image(), image);  // the very same image: nothing applied
  EXPECT_EQ(node.published.size(), published);
  EXPECT_EQ(log.entries().size(), entries);

  // The log itself says why, with the epoch.
  auto appended = run(io, log.append({encode_record(NoOpRecord{})}));
  EXPECT_EQ(appended.error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(appended.epoch, Epoch(3));

  log.set_leader(NodeId(1), Epoch(4));  // leading again
  EXPECT_EQ(create("accepted", 1).error, ErrorCode::NONE);
  EXPECT_EQ(log.entries().back().epoch, Epoch(4));
}

TEST_F(MetadataSeam, FailedAppendIsAStorageErrorAndChangesNothing) {
  auto image = node.image();
  log.fail_next_append(ErrorCode::KAFKA_STORAGE_ERROR);
  auto r = create("t", 1);
  EXPECT_EQ(r.error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(r.message, "metadata log append failed");
  EXPECT_EQ(node.image(), image);
  EXPECT_EQ(create("t", 1).error, ErrorCode::NONE);  // the next one goes through
}

// The loader applies what the log commits, whoever proposed it (later: the
// controller on another node), and names exactly the touched topics.
TEST_F(MetadataSeam, LoaderAppliesCommittedBatchesWithTheirDelta) {
  ASSERT_EQ(create("other", 1).error, ErrorCode::NONE);
  Uuid id{};
  id[0] = 42;
  std::vector<protocol::Bytes> batch{encode_record(topic_record("remote", id)),
                                     encode_record(partition_record(id, 0, {1}, {1}, 1, 0)),
                                     encode_record(partition_record(id, 1, {1}, {1}, 1, 0)),
                                     encode_record(config_record(kTopicResource, "other", "retention.ms", "7"))};
  auto appended = run(io, log.append(batch));
  ASSERT_EQ(appended.error, ErrorCode::NONE);
  EXPECT_EQ(node.image()->last_offset, appended.offset.value);
  auto* t = node.image()->find_topic("remote");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->partitions.size(), 2u);
  EXPECT_EQ(node.image()->find_topic("other")->configs.at("retention.ms"), "7");
  EXPECT_FALSE(node.last_delta().full);
  EXPECT_EQ(node.last_delta().topics, (std::vector<std::string>{"other", "remote"}));
  // The previous image is untouched and shares the topic the batch did not change.
  auto& before = node.published[node.published.size() - 2].image;
  EXPECT_EQ(before->find_topic("remote"), nullptr);
}

TEST_F(MetadataSeam, ReplayAfterRestartGivesTheSameImage) {
  ASSERT_EQ(create("a", 2, {{"retention.ms", "10"}}).error, ErrorCode::NONE);
  ASSERT_EQ(create("b.c", 1).error, ErrorCode::NONE);
  ASSERT_EQ(run(io, node.controller->create_partitions("a", 4, {}, false)).error, ErrorCode::NONE);
  ASSERT_EQ(run(io, node.controller->delete_topic("b.c")).error, ErrorCode::NONE);
  ASSERT_EQ(alter(4, "1", "log.retention.ms", "99").error, ErrorCode::NONE);
  ASSERT_NE(run(io, node.controller->allocate_producer_ids(1, 100)), -1);
  auto live = node.image();

  Node restarted(log);
  ASSERT_TRUE(restarted.loader->load());
  auto replayed = restarted.image();
  ASSERT_EQ(restarted.published.size(), 1u);
  EXPECT_TRUE(restarted.published[0].delta.full);
  EXPECT_EQ(replayed->cluster_id, live->cluster_id);
  EXPECT_EQ(replayed->controller_id, live->controller_id);
  EXPECT_EQ(replayed->last_offset, live->last_offset);
  EXPECT_EQ(replayed->partition_count, live->partition_count);
  EXPECT_EQ(replayed->next_producer_id, live->next_producer_id);
  EXPECT_EQ(replayed->broker_configs, live->broker_configs);
  EXPECT_EQ(replayed->brokers.size(), live->brokers.size());
  EXPECT_EQ(replayed->topics.size(), live->topics.size());
  EXPECT_EQ(replayed->find_topic("b.c"), nullptr);
  auto* a = replayed->find_topic("a");
  auto* a_live = live->find_topic("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->id, a_live->id);
  EXPECT_EQ(a->configs, a_live->configs);
  ASSERT_EQ(a->partitions.size(), 4u);
  for (size_t p = 0; p < 4; ++p) EXPECT_EQ(a->partitions[p].replicas, a_live->partitions[p].replicas);
  // The restarted node's controller validates against the replayed image.
  EXPECT_EQ(run(io, restarted.controller->create_topic(TopicSpec{"a", 1, -1, {}, {}}, false)).error,
            ErrorCode::TOPIC_ALREADY_EXISTS);
}

TEST_F(MetadataSeam, ReplayErrorIsReportedAndNothingPublished) {
  ASSERT_EQ(create("a", 1).error, ErrorCode::NONE);
  log.fail_next_replay(storage::Status::io_error("read", EIO), 1);
  Node restarted(log);
  auto st = restarted.loader->load();
  EXPECT_FALSE(st);
  EXPECT_TRUE(restarted.published.empty());
}

// Operations run one at a time: the second of two concurrent creations of one
// name validates against an image holding the first.
TEST_F(MetadataSeam, ConcurrentOperationsAreSerialized) {
  std::vector<OpResult> results;
  for (int i = 0; i < 2; ++i) {
    TopicSpec s{"same", 1, -1, {}, {}};
    asio::co_spawn(io, node.controller->create_topic(s, false), [&results](std::exception_ptr e, OpResult r) {
      if (e) std::rethrow_exception(e);
      results.push_back(r);
    });
  }
  io.restart();
  io.run();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].error, ErrorCode::NONE);
  EXPECT_EQ(results[1].error, ErrorCode::TOPIC_ALREADY_EXISTS);
  EXPECT_EQ(node.image()->topics.size(), 1u);
}

// A value the loader cannot use (a type or version from a newer writer,
// garbage) is skipped, the rest of its batch applied, live and on replay; old
// format values (an older Samsa's log) are applied like Kafka's records.
TEST_F(MetadataSeam, UnknownOrOldValuesInABatch) {
  Uuid id{};
  id[0] = 7;
  protocol::Bytes unknown{0x01, 0x63, 0x00, 0x00};       // type 99
  protocol::Bytes newer = encode_record(topic_record("n", id));
  newer[2] = 0x05;                                       // TopicRecord version 5
  protocol::Bytes garbage{0x01, 0x03, 0x00, 0xff};       // a PartitionRecord cut short
  protocol::Writer old;                                  // the old format: int16 type, int16 version, fields
  old.i16(2), old.i16(0), old.string(true, "old-style"), old.uuid(id);
  protocol::Writer old_part;
  old_part.i16(3), old_part.i16(0), old_part.uuid(id), old_part.i32(0);
  old_part.uvarint(1), old_part.i32(1), old_part.uvarint(1), old_part.i32(1), old_part.i32(1), old_part.i32(0);
  std::vector<protocol::Bytes> batch{unknown, newer, garbage, old.buffer(), old_part.buffer()};
  auto appended = run(io, log.append(batch));
  ASSERT_EQ(appended.error, ErrorCode::NONE);
  EXPECT_EQ(node.image()->last_offset, appended.offset.value);
  auto* t = node.image()->find_topic("old-style");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->partitions.size(), 1u);
  EXPECT_EQ(node.image()->find_topic("n"), nullptr);
  EXPECT_EQ(node.last_delta().topics, (std::vector<std::string>{"old-style"}));

  Node restarted(log);
  ASSERT_TRUE(restarted.loader->load());
  auto* r = restarted.image()->find_topic("old-style");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->partitions.size(), 1u);
  EXPECT_EQ(restarted.image()->topics.size(), node.image()->topics.size());
}

// A log whose commits the test hands over itself, saying whether more is known
// committed (a restarted node replaying the cluster's history).
class CatchingUpLog final : public raft::MetadataLog {
 public:
  NodeId local_id() const override { return NodeId(2); }
  raft::LeaderAndEpoch leader() const override { return {NodeId(1), Epoch(3)}; }
  void set_commit_listener(CommitListener l) override { listener = std::move(l); }
  bool catching_up() const override { return catching; }
  void set_caught_up_listener(std::function<void()> l) override { caught_up = std::move(l); }
  asio::awaitable<raft::AppendResult> append(std::vector<protocol::Bytes>) override {
    co_return raft::AppendResult{ErrorCode::NOT_LEADER_OR_FOLLOWER, Offset(-1), Epoch(-1), {}};
  }
  storage::Status replay(const std::function<void(Offset, std::span<const uint8_t>)>&) override {
    return storage::Status::ok();
  }
  void commit(int64_t base, const MetadataRecord& r) {
    std::vector<protocol::Bytes> values{encode_record(r)};
    listener(Offset(base), Epoch(3), values);
  }

  CommitListener listener;
  std::function<void()> caught_up;
  bool catching = false;
};

TEST(MetadataLoaderCatchUp, HistoryIsPublishedAsOneImageOnceCaughtUp) {
  CatchingUpLog log;
  std::vector<Published> published;
  MetadataLoader loader(log, [&](ImagePtr img, DeltaPtr d) { published.push_back({img, *d}); });
  ASSERT_TRUE(loader.load());
  ASSERT_EQ(published.size(), 1u);  // the (empty) replayed image

  Uuid a{}, b{};
  a[0] = 1;
  b[0] = 2;
  log.catching = true;
  log.commit(0, topic_record("a", a));
  log.commit(1, partition_record(a, 0, {1, 2, 3}, {1, 2, 3}, 2, 0));
  PartitionChangeRecord moved;
  moved.topic_id = a;
  moved.partition_id = 0;
  moved.leader = 3;
  log.commit(2, moved);  // the leader of epoch 0 is history: 3 leads at epoch 1
  log.commit(3, topic_record("b", b));
  EXPECT_EQ(published.size(), 1u) << "nothing published while the log knows of more committed records";
  EXPECT_EQ(loader.image()->last_offset, 3) << "the image itself keeps up (the controller reads it)";

  log.catching = false;
  log.caught_up();
  ASSERT_EQ(published.size(), 2u);
  const auto& p = published.back();
  EXPECT_EQ(p.image->last_offset, 3);
  EXPECT_EQ(p.delta.topics, (std::vector<std::string>{"a", "b"})) << "every topic the held batches touched, once";
  const PartitionInfo& part = p.image->find_topic("a")->partitions.at(0);
  EXPECT_EQ(part.leader, 3);
  EXPECT_EQ(part.leader_epoch, 1);

  log.caught_up();  // nothing held: nothing published again
  EXPECT_EQ(published.size(), 2u);
  PartitionChangeRecord back;
  back.topic_id = a;
  back.partition_id = 0;
  back.leader = 2;
  log.commit(4, back);  // caught up: each batch is published as it commits
  ASSERT_EQ(published.size(), 3u);
  EXPECT_EQ(published.back().delta.topics, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace samsa::cluster
