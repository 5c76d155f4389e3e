// The coordinators' persistence without a broker: GroupService and TxnService
// over an in-memory PartitionWriter (appends kept in order, optionally held
// "not yet durable" or failed on demand), and the replay of a real log through
// storage::Env with fault injection.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <set>

#include "base/clock.h"
#include "coordinator/consumer_group.h"
#include "coordinator/group_service.h"
#include "replication/log_replay.h"
#include "coordinator/placement.h"
#include "coordinator/txn_service.h"
#include "protocol/batch_header.h"
#include "protocol/record_batch.h"
#include "storage/fault_injection_env.h"
#include "storage/log.h"
#include "storage_test_util.h"

namespace samsa::coordinator {
namespace {

constexpr int64_t kServicesNow = 1'700'000'000'000;

// Appends are kept per partition, in order; `hold` keeps them pending (not yet
// durable) until release(); `fail_with` fails them as a flush error would.
class MemoryWriter final : public PartitionWriter {
 public:
  struct Entry {
    TopicPartition tp;
    protocol::Bytes batch;
  };

  MemoryWriter(asio::io_context& io, const Clock& clock) : io_(io), clock_(clock) {}

  bool hosts(const TopicPartition& tp) const override { return hosted.count(tp) > 0; }

  asio::awaitable<ErrorCode> append(const TopicPartition& tp, std::span<uint8_t> batch, Epoch leader_epoch) override {
    if (!hosts(tp)) co_return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    epochs.push_back(leader_epoch);
    if (fail_with != ErrorCode::NONE) co_return fail_with;
    int64_t& next = next_offset_[tp];
    auto h = protocol::BatchHeader::parse(batch.data());
    for (int i = 0; i < 8; ++i) batch[i] = static_cast<uint8_t>(static_cast<uint64_t>(next) >> (56 - 8 * i));
    next += h.last_offset_delta + 1;
    appended.push_back({tp, protocol::Bytes(batch.begin(), batch.end())});
    if (hold) {
      asio::steady_timer gate(io_, asio::steady_timer::time_point::max());
      gates_.push_back(&gate);
      asio::error_code ec;
      co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return ErrorCode::NONE;
  }

  ErrorCode replay(const TopicPartition& tp, const BatchFn& fn) override {
    if (!hosts(tp)) return ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    for (auto& e : appended)
      if (e.tp == tp) fn(e.batch);
    return ErrorCode::NONE;
  }

  // One shard: every marked partition is "here", with `groups` beside it.
  asio::awaitable<void> write_markers(std::vector<MarkerWrite>& items, MarkerSpec spec) override {
    std::vector<MarkerWrite*> all;
    for (auto& w : items) all.push_back(&w);
    auto op = write_markers_here(*this, *groups, clock_, all, spec);
    co_await std::move(op);
  }

  void release() {
    for (auto* g : gates_) g->cancel();
    gates_.clear();
  }

  std::set<TopicPartition> hosted;
  ErrorCode fail_with = ErrorCode::NONE;
  bool hold = false;
  std::vector<Entry> appended;
  std::vector<Epoch> epochs;  // the leader epoch of each append
  GroupCoordinator* groups = nullptr;

 private:
  asio::io_context& io_;
  const Clock& clock_;
  std::map<TopicPartition, int64_t> next_offset_;
  std::vector<asio::steady_timer*> gates_;
};

// Runs what is ready on `io` until nothing is (bounded).
void drain(asio::io_context& io) {
  for (int i = 0; i < 100; ++i) {
    io.restart();
    if (io.poll() == 0) return;
  }
}

// Starts `op` and runs what is ready; its result if it finished. One that is
// still waiting finishes later (its result is then dropped).
template <typename T>
std::optional<T> run(asio::io_context& io, asio::awaitable<T> op) {
  auto out = std::make_shared<std::optional<T>>();
  asio::co_spawn(io, std::move(op), [out](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    *out = std::move(v);
  });
  drain(io);
  return *out;
}

bool run(asio::io_context& io, asio::awaitable<void> op) {
  auto done = std::make_shared<bool>(false);
  asio::co_spawn(io, std::move(op), [done](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    *done = true;
  });
  drain(io);
  return *done;
}

const TopicPartition kOffsets0{kOffsetsTopic, 0};
const TopicPartition kTxnState0{kTransactionStateTopic, 0};

class CoordinatorServicesTest : public ::testing::Test {
 protected:
  CoordinatorServicesTest() {
    GroupConfig cfg;
    cfg.initial_rebalance_delay_ms = 0;
    groups = std::make_unique<GroupCoordinator>(io, cfg, [this] { return clock.now_ms(); });
    writer.hosted = {kOffsets0, kTxnState0, {"t", 0}};
    writer.groups = groups.get();
    group_service = std::make_unique<GroupService>(io, *groups, writer, clock, one_partition);
    txn_service = std::make_unique<TxnService>(
        txns, writer, clock, [this]() -> asio::awaitable<int64_t> { co_return next_pid++; }, one_partition,
        TxnServiceConfig{});
    // This broker leads both coordinator partitions (empty so far) at epoch 0.
    EXPECT_EQ(group_service->load_partition(kOffsets0, Epoch(0)), ErrorCode::NONE);
    EXPECT_EQ(txn_service->load_partition(kTxnState0, Epoch(0)), ErrorCode::NONE);
  }

  static int32_t one_partition(const char*) { return 1; }

  // One member joins and the leader's SyncGroup answers once the group record
  // is written (as the SyncGroup handler does); returns the answer.
  SyncResult join_and_sync(const std::string& group) {
    auto& g = groups->get_or_create(group);
    JoinParams p{.client_id = "c", .client_host = "/10.0.0.1", .session_timeout_ms = 30000,
                 .rebalance_timeout_ms = 30000, .protocol_type = "consumer"};
    p.protocols.emplace_back("range", Bytes{0, 0, 0, 0, 0, 0});
    JoinResult joined;  // an old client (no MEMBER_ID_REQUIRED round): one join
    g.join(p, clock.now_ms(), [&](JoinResult r) { joined = std::move(r); });
    EXPECT_EQ(joined.error, ErrorCode::NONE);
    std::optional<SyncResult> synced;
    g.sync(joined.member_id, std::nullopt, joined.generation, std::nullopt, std::nullopt,
           {{joined.member_id, Bytes{7, 7}}}, clock.now_ms(), [&](SyncResult r) {
             group_service->reply_after_group_record(group, std::move(r), [&](SyncResult r) { synced = std::move(r); });
           });
    drain(io);
    EXPECT_TRUE(synced.has_value());
    return synced ? *synced : SyncResult{};
  }

  OffsetCommitWork commit_work(const std::string& group, int64_t offset) {
    OffsetCommitWork w;
    w.group = group;
    w.tp = kOffsets0;
    OffsetCommitItem i;
    i.topic = "t";
    i.partition = 0;
    i.value.offset = offset;
    i.value.commit_timestamp = clock.now_ms();
    w.items.push_back(i);
    return w;
  }

  // An id with an ongoing transaction over `parts`, as AddPartitionsToTxn leaves it.
  void ongoing(const std::string& id, std::set<TxnPartition> parts) {
    TxnMetadata m;
    m.transactional_id = id;
    m.producer_id = 42;
    m.producer_epoch = 3;
    m.state = TxnState::ongoing;
    m.partitions = std::move(parts);
    m.start_ms = m.update_ms = clock.now_ms();
    txns.put(m);
  }

  // Producer 42 (epoch 3) of "tx" commits offset `offset` of t-0 for group
  // "g" in its ongoing transaction over t-0 and __consumer_offsets-0; the
  // commit waits in __consumer_offsets for the marker. The log is then cleared.
  void pending_txn_offset(int64_t offset) {
    TxnOffsetCommitWork tw;
    tw.group = "g";
    tw.producer = {42, 3};
    tw.tp = kOffsets0;
    tw.items.push_back(OffsetCommitItem{"t", 0, {offset, -1, "", kServicesNow, std::nullopt}});
    EXPECT_EQ(run(io, group_service->commit_txn_offsets(tw)), ErrorCode::NONE);
    EXPECT_EQ(groups->pending_partitions("g").size(), 1u);
    ongoing("tx", {{"t", 0}, {kOffsetsTopic, 0}});
    writer.appended.clear();
  }

  // The appends in order: "state:<State>" for a __transaction_state record,
  // "<topic>-<p>:commit|abort" for a marker, "<topic>-<p>:records" otherwise.
  std::vector<std::string> log_story() const {
    std::vector<std::string> out;
    for (auto& e : writer.appended) {
      auto h = protocol::BatchHeader::parse(e.batch.data());
      if (h.is_control()) {
        auto m = storage::marker_of(e.batch);
        out.push_back(e.tp.to_string() + (m == storage::TxnMarker::commit ? ":commit" : ":abort"));
        continue;
      }
      if (e.tp.topic != kTransactionStateTopic) {
        out.push_back(e.tp.to_string() + ":records");
        continue;
      }
      protocol::RecordIterator it;
      EXPECT_EQ(it.open(e.batch), ErrorCode::NONE);
      protocol::RecordView rv;
      while (it.next(rv)) {
        auto v = rv.value ? decode_txn_value(*rv.value) : std::nullopt;
        out.push_back(std::string("state:") + (v ? txn_state_name(v->state) : "tombstone"));
      }
    }
    return out;
  }

  asio::io_context io;
  ManualClock clock{kServicesNow};
  MemoryWriter writer{io, clock};
  std::unique_ptr<GroupCoordinator> groups;
  TxnCoordinator txns;
  int64_t next_pid = 1000;
  std::unique_ptr<GroupService> group_service;
  std::unique_ptr<TxnService> txn_service;
};

TEST_F(CoordinatorServicesTest, GroupMetadataAndOffsetsAreWrittenAndReplayedIntoTheSameState) {
  auto synced = join_and_sync("g");
  EXPECT_EQ(synced.error, ErrorCode::NONE);
  EXPECT_EQ(synced.assignment, (Bytes{7, 7}));
  auto w = commit_work("g", 15);
  w.generation = 1;
  w.member_id = groups->find("g")->leader();
  ASSERT_TRUE(run(io, group_service->commit_offsets(w)));
  EXPECT_EQ(w.items[0].error, ErrorCode::NONE);
  ASSERT_EQ(writer.appended.size(), 2u);  // the group record, then the offset commit

  // A coordinator that starts over (as after a restart) replays the partition.
  GroupCoordinator fresh(io, GroupConfig{}, [this] { return clock.now_ms(); });
  GroupService reloaded(io, fresh, writer, clock, one_partition);
  EXPECT_EQ(reloaded.load_partition(kOffsets0, Epoch(0)), ErrorCode::NONE);
  auto before = groups->group_record("g");
  auto after = fresh.group_record("g");
  ASSERT_TRUE(before && after);
  EXPECT_EQ(encode_group_value(*after), encode_group_value(*before));
  ASSERT_NE(fresh.offsets("g"), nullptr);
  EXPECT_EQ(fresh.offsets("g")->at({"t", 0}).offset, 15);
}

TEST_F(CoordinatorServicesTest, AnOffsetCommitIsAppliedOnlyOnceItsAppendIsDurable) {
  writer.hold = true;
  auto w = commit_work("simple", 7);
  bool done = run(io, group_service->commit_offsets(w));
  EXPECT_FALSE(done);
  ASSERT_EQ(writer.appended.size(), 1u);  // written, not yet durable...
  auto* offsets = groups->offsets("simple");
  EXPECT_TRUE(offsets == nullptr || offsets->empty());  // ...so not applied
  writer.release();
  drain(io);
  ASSERT_NE(groups->offsets("simple"), nullptr);
  EXPECT_EQ(groups->offsets("simple")->at({"t", 0}).offset, 7);
}

TEST_F(CoordinatorServicesTest, ExpiredOffsetsAreTombstonedDurablyBeforeTheyAreForgotten) {
  auto w = commit_work("simple", 7);
  ASSERT_TRUE(run(io, group_service->commit_offsets(w)));
  group_service->start(/*retention_ms=*/60000, /*check_interval_ms=*/1000);
  writer.appended.clear();
  writer.hold = true;
  clock.advance(120000);
  groups->tick();
  drain(io);
  ASSERT_EQ(writer.appended.size(), 1u);  // the tombstones, not yet durable...
  ASSERT_NE(groups->offsets("simple"), nullptr);
  EXPECT_EQ(groups->offsets("simple")->size(), 1u);  // ...so the offset is still there
  writer.release();
  drain(io);
  auto* offsets = groups->offsets("simple");
  EXPECT_TRUE(offsets == nullptr || offsets->empty());
  // One batch: the offset's tombstone and the dead group's.
  protocol::RecordIterator it;
  ASSERT_EQ(it.open(writer.appended[0].batch), ErrorCode::NONE);
  protocol::RecordView rv;
  int tombstones = 0;
  while (it.next(rv)) tombstones += rv.value ? 0 : 1;
  EXPECT_EQ(tombstones, 2);
}

TEST_F(CoordinatorServicesTest, CommitWritesPrepareThenAMarkerInEachPartitionThenComplete) {
  pending_txn_offset(99);

  EXPECT_EQ(run(io, txn_service->end(kTxnState0, "tx", 42, 3, true))->error, ErrorCode::NONE);
  EXPECT_EQ(log_story(), (std::vector<std::string>{"state:PrepareCommit", "__consumer_offsets-0:commit", "t-0:commit",
                                                   "state:CompleteCommit"}));
  EXPECT_EQ(txns.find("tx")->state, TxnState::complete_commit);
  EXPECT_FALSE(txns.find("tx")->busy);
  EXPECT_TRUE(groups->pending_partitions("g").empty());
  ASSERT_NE(groups->offsets("g"), nullptr);
  EXPECT_EQ(groups->offsets("g")->at({"t", 0}).offset, 99);
}

// Transactions v2 (EndTxn v5): the epoch is bumped at Prepare, the markers carry the new one
// (fencing the producer's late writes of this transaction), and the answer names it.
TEST_F(CoordinatorServicesTest, TransactionsV2EndTxnBumpsTheEpochForItsMarkers) {
  ongoing("tx", {{"t", 0}});
  auto end = run(io, txn_service->end(kTxnState0, "tx", 42, 3, true, /*client_version=*/2));
  ASSERT_TRUE(end);
  EXPECT_EQ(end->error, ErrorCode::NONE);
  EXPECT_EQ(end->producer_id, 42);
  EXPECT_EQ(end->epoch, 4);
  EXPECT_EQ(log_story(), (std::vector<std::string>{"state:PrepareCommit", "t-0:commit", "state:CompleteCommit"}));
  for (auto& e : writer.appended) {
    auto h = protocol::BatchHeader::parse(e.batch.data());
    if (h.is_control()) EXPECT_EQ(h.producer_epoch, 4);
  }
  EXPECT_EQ(txns.find("tx")->producer_epoch, 4);
  EXPECT_EQ(txns.find("tx")->client_version, 2);
  // Its retry (the epoch before the bump) is answered as done, with the same id and epoch.
  auto again = run(io, txn_service->end(kTxnState0, "tx", 42, 3, true, 2));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->error, ErrorCode::NONE);
  EXPECT_EQ(again->epoch, 4);
  // The next transaction is added at epoch 4 (as a Produce v12 does).
  EXPECT_EQ(run(io, txn_service->add_partitions(kTxnState0, "tx", 42, 4, {{"t", 0}}, 2)), ErrorCode::NONE);
  EXPECT_EQ(txns.find("tx")->state, TxnState::ongoing);
}

TEST_F(CoordinatorServicesTest, TransactionsV2ExhaustedEpochMovesToANewProducerId) {
  ongoing("tx", {{"t", 0}});
  txns.find("tx")->producer_epoch = kExhaustedEpoch;
  auto end = run(io, txn_service->end(kTxnState0, "tx", 42, kExhaustedEpoch, false, 2));
  ASSERT_TRUE(end);
  EXPECT_EQ(end->error, ErrorCode::NONE);
  EXPECT_EQ(end->producer_id, 1000);  // drawn from the allocator
  EXPECT_EQ(end->epoch, 0);
  // The markers were written by the old id at the last epoch, which fences it for good.
  for (auto& e : writer.appended) {
    auto h = protocol::BatchHeader::parse(e.batch.data());
    if (h.is_control()) {
      EXPECT_EQ(h.producer_id, 42);
      EXPECT_EQ(h.producer_epoch, INT16_MAX);
    }
  }
  const TxnMetadata* m = txns.find("tx");
  EXPECT_EQ(m->previous_producer_id, 42);
  EXPECT_EQ(m->next_producer_id, -1);
  // The old id's retry is recognised.
  auto again = run(io, txn_service->end(kTxnState0, "tx", 42, kExhaustedEpoch, false, 2));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->error, ErrorCode::NONE);
  EXPECT_EQ(again->producer_id, 1000);
}

TEST_F(CoordinatorServicesTest, AbortWritesAbortMarkersAndDropsTheTransactionsOffsets) {
  pending_txn_offset(5);

  EXPECT_EQ(run(io, txn_service->end(kTxnState0, "tx", 42, 3, false))->error, ErrorCode::NONE);
  EXPECT_EQ(log_story(), (std::vector<std::string>{"state:PrepareAbort", "__consumer_offsets-0:abort", "t-0:abort",
                                                   "state:CompleteAbort"}));
  EXPECT_EQ(txns.find("tx")->state, TxnState::complete_abort);
  EXPECT_TRUE(groups->pending_partitions("g").empty());
  auto* offsets = groups->offsets("g");
  EXPECT_TRUE(offsets == nullptr || offsets->empty());
}

TEST_F(CoordinatorServicesTest, WriterErrorsSurfaceAsTheHandlersKafkaErrors) {
  // An offset commit whose append fails answers the append's error on every partition.
  writer.fail_with = ErrorCode::KAFKA_STORAGE_ERROR;
  auto w = commit_work("simple", 7);
  ASSERT_TRUE(run(io, group_service->commit_offsets(w)));
  EXPECT_EQ(w.items[0].error, ErrorCode::KAFKA_STORAGE_ERROR);
  auto* offsets = groups->offsets("simple");
  EXPECT_TRUE(offsets == nullptr || offsets->empty());

  // The leader's SyncGroup whose group record fails: COORDINATOR_NOT_AVAILABLE.
  EXPECT_EQ(join_and_sync("g").error, ErrorCode::COORDINATOR_NOT_AVAILABLE);

  // EndTxn whose Prepare record fails: the error, the transaction still Ongoing and free.
  ongoing("tx", {{"t", 0}});
  EXPECT_EQ(run(io, txn_service->end(kTxnState0, "tx", 42, 3, true))->error, ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(txns.find("tx")->state, TxnState::ongoing);
  EXPECT_FALSE(txns.find("tx")->busy);

  // A coordinator partition still loading here: COORDINATOR_LOAD_IN_PROGRESS everywhere.
  writer.fail_with = ErrorCode::NONE;
  ASSERT_TRUE(group_service->begin_load(kOffsets0, Epoch(1)));
  ASSERT_TRUE(txn_service->begin_load(kTxnState0, Epoch(1)));
  auto w2 = commit_work("simple", 8);
  ASSERT_TRUE(run(io, group_service->commit_offsets(w2)));
  EXPECT_EQ(w2.items[0].error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(run(io, txn_service->end(kTxnState0, "tx", 42, 3, true))->error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  auto init = run(io, txn_service->init_producer(kTxnState0, "other", 60000, -1, -1));
  ASSERT_TRUE(init);
  EXPECT_EQ(init->error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
}

TEST_F(CoordinatorServicesTest, AMarkerThatCannotBeWrittenLeavesPrepareUntilUpkeepCompletesIt) {
  ongoing("tx", {{"t", 0}});
  // The Prepare record is held (not yet durable); the marker after it fails.
  writer.hold = true;
  auto end = run(io, txn_service->end(kTxnState0, "tx", 42, 3, true));
  EXPECT_FALSE(end);  // the Prepare record is not durable yet
  writer.fail_with = ErrorCode::KAFKA_STORAGE_ERROR;  // the marker will fail
  writer.hold = false;
  writer.release();
  drain(io);
  EXPECT_EQ(txns.find("tx")->state, TxnState::prepare_commit);
  EXPECT_FALSE(txns.find("tx")->busy);

  // The disk is back: the shard's upkeep finishes the commit.
  writer.fail_with = ErrorCode::NONE;
  writer.appended.clear();
  EXPECT_TRUE(run(io, txn_service->upkeep()));
  EXPECT_EQ(log_story(), (std::vector<std::string>{"t-0:commit", "state:CompleteCommit"}));
  EXPECT_EQ(txns.find("tx")->state, TxnState::complete_commit);
}

TEST_F(CoordinatorServicesTest, TxnStateIsReplayedFromItsPartition) {
  auto init = run(io, txn_service->init_producer(kTxnState0, "tx", 60000, -1, -1));
  ASSERT_TRUE(init);
  EXPECT_EQ(init->error, ErrorCode::NONE);
  EXPECT_EQ(init->producer_id, 1000);
  EXPECT_EQ(run(io, txn_service->add_partitions(kTxnState0, "tx", 1000, 0, {{"t", 0}})), ErrorCode::NONE);
  TxnCoordinator fresh;
  TxnService reloaded(fresh, writer, clock, [] () -> asio::awaitable<int64_t> { co_return -1; }, one_partition,
                      TxnServiceConfig{});
  EXPECT_EQ(reloaded.load_partition(kTxnState0, Epoch(0)), ErrorCode::NONE);
  ASSERT_NE(fresh.find("tx"), nullptr);
  EXPECT_EQ(fresh.find("tx")->state, TxnState::ongoing);
  EXPECT_EQ(fresh.find("tx")->producer_id, 1000);
  EXPECT_EQ(fresh.find("tx")->partitions, (std::set<TxnPartition>{{"t", 0}}));
}

// ---- coordinators follow partition leadership --------------------------------------------

TEST(CoordinatorPartitions, LoadsAtANewerEpochServeOnceLoadedAndEndWithLeadership) {
  CoordinatorPartitions served;
  const TopicPartition tp{kOffsetsTopic, 3};
  EXPECT_EQ(served.check(tp), ErrorCode::NOT_COORDINATOR);
  EXPECT_TRUE(served.begin_load(tp, Epoch(2)));
  EXPECT_EQ(served.check(tp), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_TRUE(served.any_loading());
  EXPECT_FALSE(served.serving_epoch(tp));
  EXPECT_FALSE(served.complete_load(tp, Epoch(1)));  // another epoch's load
  EXPECT_TRUE(served.complete_load(tp, Epoch(2)));
  EXPECT_EQ(served.check(tp), ErrorCode::NONE);
  EXPECT_EQ(served.serving_epoch(tp), Epoch(2));
  EXPECT_FALSE(served.any_loading());
  EXPECT_FALSE(served.begin_load(tp, Epoch(2)));  // the same epoch again: nothing to reload
  EXPECT_FALSE(served.begin_load(tp, Epoch(1)));  // an older one: stale
  EXPECT_TRUE(served.begin_load(tp, Epoch(5)));   // a new leader epoch: reload
  EXPECT_EQ(served.check(tp), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_TRUE(served.remove(tp));
  EXPECT_FALSE(served.complete_load(tp, Epoch(5)));  // leadership lost before the replay ended
  EXPECT_EQ(served.check(tp), ErrorCode::NOT_COORDINATOR);
  EXPECT_FALSE(served.remove(tp));
}

TEST(CoordinatorPartitions, AppendErrorsMapToWhatKafkasCoordinatorsAnswer) {
  EXPECT_EQ(coordinator_write_error(ErrorCode::NOT_LEADER_OR_FOLLOWER), ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(coordinator_write_error(ErrorCode::NOT_ENOUGH_REPLICAS), ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(coordinator_write_error(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND), ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(coordinator_write_error(ErrorCode::REQUEST_TIMED_OUT), ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(coordinator_write_error(ErrorCode::NONE), ErrorCode::NONE);
}

TEST_F(CoordinatorServicesTest, GroupsAreUnloadedWithLeadershipAndReloadedFromTheLogAtTheNextEpoch) {
  auto w = commit_work("simple", 11);
  ASSERT_TRUE(run(io, group_service->commit_offsets(w)));
  ASSERT_EQ(w.items[0].error, ErrorCode::NONE);
  EXPECT_EQ(writer.epochs, (std::vector<Epoch>{Epoch(0)}));  // written at the epoch it was loaded at

  EXPECT_EQ(join_and_sync("g").error, ErrorCode::NONE);

  // This broker becomes a follower of __consumer_offsets-0.
  group_service->unload_partition(kOffsets0);
  EXPECT_EQ(group_service->check(kOffsets0), ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(groups->offsets("simple"), nullptr);
  EXPECT_EQ(groups->find("g"), nullptr);
  auto w2 = commit_work("simple", 12);
  ASSERT_TRUE(run(io, group_service->commit_offsets(w2)));
  EXPECT_EQ(w2.items[0].error, ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(run(io, group_service->delete_group(kOffsets0, "simple")), ErrorCode::NOT_COORDINATOR);

  // Leader again at epoch 4: loading, then the log's state is back and writes carry epoch 4.
  ASSERT_TRUE(group_service->begin_load(kOffsets0, Epoch(4)));
  auto w3 = commit_work("simple", 13);
  ASSERT_TRUE(run(io, group_service->commit_offsets(w3)));
  EXPECT_EQ(w3.items[0].error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ(group_service->load_partition(kOffsets0, Epoch(4)), ErrorCode::NONE);
  ASSERT_NE(groups->offsets("simple"), nullptr);
  EXPECT_EQ(groups->offsets("simple")->at({"t", 0}).offset, 11);
  ASSERT_TRUE(run(io, group_service->commit_offsets(w3 = commit_work("simple", 14))));
  EXPECT_EQ(w3.items[0].error, ErrorCode::NONE);
  EXPECT_EQ(writer.epochs.back(), Epoch(4));
}

// A KIP-848 group's write that fails is written again, with the tombstones
// of the members that left before it: a reload does not bring them back.
TEST_F(CoordinatorServicesTest, AFailedConsumerGroupWriteKeepsItsTombstonesForTheNextOne) {
  TopicId t1{};
  t1[15] = 1;
  TopicCatalog topics{{"t", TopicMeta{t1, "t", 2}}};
  auto join = [](const std::string& id) {
    ConsumerHeartbeat h;
    h.member_id = id;
    h.member_epoch = 0;
    h.rebalance_timeout_ms = 30000;
    h.subscribed_topic_names = std::vector<std::string>{"t"};
    return h;
  };
  auto& g = groups->get_or_create_consumer("cg");
  ASSERT_EQ(g.heartbeat(join("a"), topics, clock.now_ms()).error, ErrorCode::NONE);
  ASSERT_EQ(g.heartbeat(join("b"), topics, clock.now_ms()).error, ErrorCode::NONE);
  EXPECT_EQ(run(io, group_service->persist_consumer_group("cg")), ErrorCode::NONE);
  ConsumerHeartbeat leave;
  leave.member_id = "b";
  leave.member_epoch = -1;
  ASSERT_EQ(g.heartbeat(leave, topics, clock.now_ms()).error, ErrorCode::NONE);
  writer.fail_with = ErrorCode::KAFKA_STORAGE_ERROR;
  EXPECT_EQ(run(io, group_service->persist_consumer_group("cg")), ErrorCode::KAFKA_STORAGE_ERROR);
  writer.fail_with = ErrorCode::NONE;
  EXPECT_EQ(run(io, group_service->persist_consumer_group("cg")), ErrorCode::NONE) << "written again";
  group_service->unload_partition(kOffsets0);
  ASSERT_EQ(group_service->load_partition(kOffsets0, Epoch(1)), ErrorCode::NONE);
  const auto* reloaded = groups->find_consumer("cg");
  ASSERT_NE(reloaded, nullptr);
  std::vector<std::string> members;
  for (auto& [id, _] : reloaded->members()) members.push_back(id);
  EXPECT_EQ(members, (std::vector<std::string>{"a"}));
}

// KIP-848 migration: the upgrade writes the classic group's tombstone and the
// consumer group's records in one batch, the downgrade the consumer group's
// tombstones and the classic record; a reload finds the group as converted.
TEST_F(CoordinatorServicesTest, OnlineConversionsAreWrittenInOneBatchAndReplayed) {
  TopicId t1{};
  t1[15] = 1;
  TopicCatalog topics{{"t", TopicMeta{t1, "t", 2}}};
  auto& classic = groups->get_or_create("mg");
  JoinParams p{.client_id = "c", .client_host = "/10.0.0.1", .session_timeout_ms = 30000,
               .rebalance_timeout_ms = 30000, .protocol_type = "consumer"};
  // ConsumerProtocolSubscription v0 of topic t (no user data).
  p.protocols.emplace_back("range", Bytes{0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff});
  JoinResult joined;
  classic.join(p, clock.now_ms(), [&](JoinResult r) { joined = std::move(r); });
  ASSERT_EQ(joined.error, ErrorCode::NONE);
  // Its rebalance completes: the classic group's record is in the log (the upgrade must tombstone it).
  std::optional<SyncResult> synced;
  classic.sync(joined.member_id, std::nullopt, joined.generation, std::nullopt, std::nullopt,
               {{joined.member_id, Bytes{0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}}},
               clock.now_ms(), [&](SyncResult r) {
                 group_service->reply_after_group_record("mg", std::move(r), [&](SyncResult r) { synced = std::move(r); });
               });
  drain(io);
  ASSERT_TRUE(synced && synced->error == ErrorCode::NONE);
  ConsumerHeartbeat h;
  h.member_id = "new";
  h.rebalance_timeout_ms = 30000;
  h.subscribed_topic_names = std::vector<std::string>{"t"};
  auto up = groups->upgrade_and_join("mg", h, topics);
  ASSERT_TRUE(up && up->error == ErrorCode::NONE);
  size_t batches = writer.appended.size();
  EXPECT_EQ(run(io, group_service->persist_consumer_group("mg")), ErrorCode::NONE);
  ASSERT_EQ(writer.appended.size(), batches + 1) << "one batch";
  EXPECT_FALSE(groups->conversion_due("mg"));
  auto reload = [&](int32_t epoch) {
    group_service->unload_partition(kOffsets0);
    ASSERT_EQ(group_service->load_partition(kOffsets0, Epoch(epoch)), ErrorCode::NONE);
  };
  reload(1);
  EXPECT_EQ(groups->find("mg"), nullptr) << "the classic record was tombstoned";
  auto* cg = groups->find_consumer("mg");
  ASSERT_NE(cg, nullptr);
  ASSERT_EQ(cg->members().size(), 2u);
  ASSERT_NE(cg->member(joined.member_id), nullptr);
  EXPECT_TRUE(cg->member(joined.member_id)->classic) << "still speaks the classic protocol";
  EXPECT_EQ(cg->member(joined.member_id)->assigned, (Assignment{{t1, {1}}})) << "its classic assignment";
  EXPECT_EQ(cg->member(joined.member_id)->member_epoch, joined.generation);
  // The consumer member leaves: the group goes back to classic, in one batch.
  ConsumerHeartbeat leave;
  leave.member_id = "new";
  leave.member_epoch = -1;
  ASSERT_EQ(cg->heartbeat(leave, topics, clock.now_ms()).error, ErrorCode::NONE);
  ASSERT_TRUE(groups->maybe_downgrade("mg"));
  batches = writer.appended.size();
  EXPECT_EQ(run(io, group_service->persist_consumer_group("mg")), ErrorCode::NONE);
  ASSERT_EQ(writer.appended.size(), batches + 1);
  reload(2);
  EXPECT_EQ(groups->find_consumer("mg"), nullptr) << "its records were tombstoned";
  auto* back = groups->find("mg");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->member_count(), 1u);
  EXPECT_TRUE(back->has_member(joined.member_id));
  EXPECT_EQ(back->protocol_type(), "consumer");
}

// A classic member leaving a consumer group (LeaveGroup) hears back once the
// group's records without it are durable, as Kafka answers.
TEST_F(CoordinatorServicesTest, AClassicMembersLeaveFromAConsumerGroupIsAnsweredOnceDurable) {
  TopicId t1{};
  t1[15] = 1;
  TopicCatalog topics{{"t", TopicMeta{t1, "t", 2}}};
  auto& cg = groups->get_or_create_consumer("lg");
  ConsumerHeartbeat h;
  h.member_id = "m";
  h.rebalance_timeout_ms = 30000;
  h.subscribed_topic_names = std::vector<std::string>{"t"};
  ASSERT_EQ(cg.heartbeat(h, topics, clock.now_ms()).error, ErrorCode::NONE);
  JoinParams p{.client_id = "c", .client_host = "/10.0.0.1", .session_timeout_ms = 30000,
               .rebalance_timeout_ms = 30000, .protocol_type = "consumer"};
  p.protocols.emplace_back("range", Bytes{0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff});
  auto joined = cg.classic_join(p, topics, clock.now_ms());
  ASSERT_EQ(joined.error, ErrorCode::NONE);
  EXPECT_EQ(run(io, group_service->persist_consumer_group("lg")), ErrorCode::NONE);
  writer.hold = true;
  using Left = std::pair<ErrorCode, std::vector<LeaveOutcome>>;
  std::optional<Left> left;
  asio::co_spawn(io, group_service->leave_group(kOffsets0, "lg", {{joined.member_id, std::nullopt, ErrorCode::NONE}}),
                 [&left](std::exception_ptr e, Left r) {
                   if (e) std::rethrow_exception(e);
                   left = std::move(r);
                 });
  drain(io);
  EXPECT_EQ(cg.member(joined.member_id), nullptr);
  EXPECT_FALSE(left) << "answered before its records were durable";
  writer.release();
  drain(io);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->first, ErrorCode::NONE);
  ASSERT_EQ(left->second.size(), 1u);
  EXPECT_EQ(left->second[0].error, ErrorCode::NONE);
}

TEST_F(CoordinatorServicesTest, MembersWaitingInJoinOrSyncAreAnsweredNotCoordinatorOnUnload) {
  auto& g = groups->get_or_create("g");
  JoinParams p{.client_id = "c", .client_host = "/10.0.0.1", .session_timeout_ms = 30000,
               .rebalance_timeout_ms = 30000, .protocol_type = "consumer"};
  p.protocols.emplace_back("range", Bytes{0, 0, 0, 0, 0, 0});
  JoinResult first;
  g.join(p, clock.now_ms(), [&](JoinResult r) { first = std::move(r); });  // completes: one member
  ASSERT_EQ(first.error, ErrorCode::NONE);
  // A second member joins: the rebalance waits for the first one to rejoin.
  std::optional<JoinResult> second;
  JoinParams p2 = p;
  p2.client_id = "c2";
  g.join(p2, clock.now_ms(), [&](JoinResult r) { second = std::move(r); });
  ASSERT_FALSE(second.has_value());  // waiting for the first member to rejoin
  group_service->unload_partition(kOffsets0);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->error, ErrorCode::NOT_COORDINATOR);
}

TEST_F(CoordinatorServicesTest, ACommitInFlightWhenLeadershipMovesFailsAndIsNotApplied) {
  writer.hold = true;
  auto w = commit_work("simple", 7);
  auto done = std::make_shared<bool>(false);
  asio::co_spawn(io, group_service->commit_offsets(w), [done](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    *done = true;
  });
  drain(io);
  ASSERT_FALSE(*done);
  group_service->unload_partition(kOffsets0);
  ASSERT_TRUE(group_service->begin_load(kOffsets0, Epoch(1)));  // and led again at a newer epoch
  writer.release();
  drain(io);
  ASSERT_TRUE(*done);
  EXPECT_EQ(w.items[0].error, ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(groups->offsets("simple"), nullptr);
}

TEST_F(CoordinatorServicesTest, MarkersCarryTheCoordinatorEpochAndANewLeaderCompletesAPreparedCommit) {
  ongoing("tx", {{"t", 0}});
  ASSERT_TRUE(txn_service->begin_load(kTxnState0, Epoch(3)));  // a new epoch: "tx" is dropped until replayed
  EXPECT_EQ(txns.find("tx"), nullptr);
  EXPECT_EQ(txn_service->load_partition(kTxnState0, Epoch(3)), ErrorCode::NONE);
  ongoing("tx", {{"t", 0}});

  // EndTxn's Prepare record is durable, the marker fails: the coordinator dies here.
  writer.hold = true;
  auto end = run(io, txn_service->end(kTxnState0, "tx", 42, 3, true));
  EXPECT_FALSE(end);
  writer.fail_with = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  writer.hold = false;
  writer.release();
  drain(io);
  txn_service->unload_partition(kTxnState0);
  EXPECT_EQ(txns.find("tx"), nullptr);
  auto init = run(io, txn_service->init_producer(kTxnState0, "tx", 60000, -1, -1));
  ASSERT_TRUE(init);
  EXPECT_EQ(init->error, ErrorCode::NOT_COORDINATOR);

  // The new leader (epoch 7) replays Prepare and its upkeep writes the
  // markers with coordinator epoch 7, then Complete.
  writer.fail_with = ErrorCode::NONE;
  TxnCoordinator fresh;
  TxnService next(fresh, writer, clock, []() -> asio::awaitable<int64_t> { co_return -1; }, one_partition,
                  TxnServiceConfig{});
  EXPECT_EQ(next.load_partition(kTxnState0, Epoch(7)), ErrorCode::NONE);
  ASSERT_NE(fresh.find("tx"), nullptr);
  EXPECT_EQ(fresh.find("tx")->state, TxnState::prepare_commit);
  writer.appended.clear();
  EXPECT_TRUE(run(io, next.upkeep()));
  EXPECT_EQ(log_story(), (std::vector<std::string>{"t-0:commit", "state:CompleteCommit"}));
  protocol::RecordIterator it;
  ASSERT_EQ(it.open(writer.appended[0].batch), ErrorCode::NONE);
  protocol::RecordView rv;
  ASSERT_TRUE(it.next(rv));
  auto marker = protocol::parse_end_txn_marker(rv.key, rv.value);
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->coordinator_epoch, 7);
}

// ---- replay through storage::Env --------------------------------------------------------

TEST(CoordinatorLogReplay, ReadsEveryBatchThroughTheEnvAndReportsReadErrors) {
  storage::testing::TempDir root;
  storage::FaultInjectionEnv env(storage::posix_env());
  env.set_skip_real_sync(true);
  storage::LogOpenOptions o;
  o.now_ms = kServicesNow;
  auto log = storage::Log::open(&env, root.sub("__consumer_offsets-0"), kOffsets0, o);
  ASSERT_TRUE(log) << log.status().to_string();
  for (int i = 0; i < 3; ++i) {
    auto b = storage::testing::make_batch(2 + i);
    ASSERT_EQ((*log)->append(b, 0, kServicesNow, false).error, ErrorCode::NONE);
  }
  std::vector<int64_t> bases;
  EXPECT_EQ(replication::for_each_batch(**log, [&](std::span<const uint8_t> b) {
              bases.push_back(protocol::BatchHeader::parse(b.data()).base_offset);
            }),
            ErrorCode::NONE);
  EXPECT_EQ(bases, (std::vector<int64_t>{0, 2, 5}));

  env.fail_next(storage::FaultInjectionEnv::kOpRead, EIO, 100);
  size_t seen = 0;
  EXPECT_EQ(replication::for_each_batch(**log, [&](std::span<const uint8_t>) { ++seen; }), ErrorCode::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(seen, 0u);
}

}  // namespace
}  // namespace samsa::coordinator

namespace samsa::coordinator {
namespace {

// KIP-447 with a KIP-848 group: the producer names its consumer's member id and member epoch
// (as the generation); a stale epoch is ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID,
// and a producer that names no member commits as before.
TEST_F(CoordinatorServicesTest, TxnOffsetCommitOfAConsumerGroupChecksTheMemberEpoch) {
  TopicId t1{};
  t1[15] = 1;
  TopicCatalog topics{{"t", TopicMeta{t1, "t", 2}}};
  auto& cg = groups->get_or_create_consumer("eos");
  ConsumerHeartbeat h;
  h.member_id = "m";
  h.rebalance_timeout_ms = 30000;
  h.subscribed_topic_names = std::vector<std::string>{"t"};
  auto joined = cg.heartbeat(h, topics, clock.now_ms());
  ASSERT_EQ(joined.error, ErrorCode::NONE);
  ASSERT_GT(joined.member_epoch, 0);
  auto work = [&](const std::string& member, int32_t generation) {
    TxnOffsetCommitWork w;
    w.group = "eos";
    w.producer = {42, 3};
    w.tp = kOffsets0;
    w.member_id = member;
    w.generation = generation;
    w.items.push_back(OffsetCommitItem{"t", 0, {5, -1, "", kServicesNow, std::nullopt}});
    return w;
  };
  auto current = work("m", joined.member_epoch);
  EXPECT_EQ(run(io, group_service->commit_txn_offsets(current)), ErrorCode::NONE);
  auto stale = work("m", joined.member_epoch - 1);
  EXPECT_EQ(run(io, group_service->commit_txn_offsets(stale)), ErrorCode::ILLEGAL_GENERATION);
  auto stranger = work("x", joined.member_epoch);
  EXPECT_EQ(run(io, group_service->commit_txn_offsets(stranger)), ErrorCode::UNKNOWN_MEMBER_ID);
  auto anonymous = work("", -1);
  EXPECT_EQ(run(io, group_service->commit_txn_offsets(anonymous)), ErrorCode::NONE);
}

}  // namespace
}  // namespace samsa::coordinator
