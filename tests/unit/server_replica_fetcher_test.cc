// The replica fetcher (server/replica_fetcher.h) end to end on one
// io_context: a follower Partition on a temp dir fetches, through a
// ReplicaFetcherManager reconciled with a hand-built image, from a fake leader
// on loopback that answers Fetch v12 from a real leader Partition the way the
// broker's fetch handler does (epoch check, DivergingEpoch, reads to the log
// end). Every run is bounded in time.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <functional>

#include "base/clock.h"
#include "protocol/batch_header.h"
#include "protocol/messages/fetch.h"
#include "replication/open_partition.h"
#include "replication/replica_state_epochs.h"
#include "server/replica_fetcher.h"
#include "storage/log_manager.h"
#include "replication_test_util.h"
#include "storage_test_util.h"

namespace samsa::server {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;
using replication::Partition;
using storage::testing::make_batch;

const protocol::Uuid kFetcherTopicId{7};

// Answers Fetch v12 from `leader` (see the file comment) and keeps the requests.
struct FakeLeader {
  tcp::acceptor acceptor;
  Partition* leader;
  std::vector<protocol::FetchRequest> requests;
  FakeLeader(asio::io_context& io, Partition* p)
      : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), leader(p) {}
  uint16_t port() const { return acceptor.local_endpoint().port(); }

  protocol::Bytes answer(int32_t corr, const protocol::FetchRequest& req) {
    protocol::FetchResponse resp;
    for (auto& t : req.topics) {
      auto& tr = resp.responses.emplace_back();
      tr.topic = t.topic;
      for (auto& p : t.partitions) {
        auto& pr = tr.partitions.emplace_back();
        pr.partition_index = p.partition;
        pr.high_watermark = leader->high_watermark().value;
        pr.log_start_offset = leader->log_start_offset().value;
        pr.error_code = to_int(leader->check_leader_epoch(Epoch(p.current_leader_epoch)));
        if (pr.error_code != 0) continue;
        auto d = replication::diverging_epoch(leader->log().leader_epoch_cache(), leader->log_end_offset(),
                                              Epoch(p.last_fetched_epoch), Offset(p.fetch_offset));
        if (d) {
          pr.diverging_epoch.epoch = d->epoch.value;
          pr.diverging_epoch.end_offset = d->end_offset.value;
          continue;
        }
        auto r = leader->read_for_follower(p.fetch_offset, static_cast<size_t>(p.partition_max_bytes));
        pr.error_code = to_int(r.error);
        for (auto& c : r.chunks) {
          const size_t at = pr.records.owned.size();
          pr.records.owned.resize(at + c.len);
          EXPECT_EQ(::pread(c.fd, pr.records.owned.data() + at, c.len, c.pos), static_cast<ssize_t>(c.len));
        }
      }
    }
    protocol::Writer w;
    w.i32(0);
    w.i32(corr);
    w.uvarint(0);  // response header v1 (flexible)
    resp.encode(w, 12);
    w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
    return std::move(w.buffer());
  }

  asio::awaitable<void> serve(tcp::socket s) {
    asio::error_code ec;
    for (;;) {
      uint8_t head[4];
      co_await asio::async_read(s, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
      const int32_t n = protocol::load_be32(head);
      if (ec || n < 8 || n > (1 << 20)) co_return;
      protocol::Bytes f(static_cast<size_t>(n));
      co_await asio::async_read(s, asio::buffer(f), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      protocol::Reader r(f);
      const int16_t key = r.i16(), version = r.i16();
      const int32_t corr = r.i32();
      r.nstring(false);                  // client id
      EXPECT_EQ(r.uvarint(), 0u);        // request header v2: no tagged fields from our client
      EXPECT_EQ(key, 1);
      EXPECT_EQ(version, 12);
      protocol::FetchRequest req;
      req.decode(r, 12);
      EXPECT_TRUE(r.ok());
      requests.push_back(req);
      auto out = answer(corr, req);
      co_await asio::async_write(s, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
  }

  asio::awaitable<void> run() {
    for (;;) {
      asio::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(acceptor.get_executor(), serve(std::move(s)), asio::detached);
    }
  }
};

class ReplicaFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logs_ = replication::testing::open_log_manager(dir_);
    ASSERT_TRUE(logs_);
    leader_ = open("leader");
    auto f = open("t");
    follower_ = f.get();
    hosted_[follower_->tp()] = std::move(f);
    server_ = std::make_unique<FakeLeader>(io_, leader_.get());
    asio::co_spawn(io_, server_->run(), asio::detached);
    ReplicaFetcherConfig c;
    c.node_id = NodeId(1);
    c.max_wait_ms = 50;
    c.backoff_ms = 20;
    ReplicaFetcherHooks hooks;
    hooks.find = [this](const TopicPartition& tp) { return tp == follower_->tp() ? follower_ : nullptr; };
    hooks.truncated = [this] { ++truncations_; };
    manager_ = std::make_unique<ReplicaFetcherManager>(io_.get_executor(), SystemClock::instance(), c, hooks, 1);
  }
  void TearDown() override {
    manager_->stop();
    asio::error_code ec;
    server_->acceptor.close(ec);
    io_.run_for(200ms);  // the stopped loops end
    for (auto* p : {leader_.get(), follower_}) {
      auto tp = p->tp();
      p->close();
      logs_->release(tp);
    }
  }
  std::unique_ptr<Partition> open(const std::string& topic) {
    std::string error;
    auto p = replication::open_partition(*logs_, clock_, {topic, 0}, kFetcherTopicId, storage::LogConfig{}, &error);
    EXPECT_TRUE(p) << error;
    return p;
  }
  // Broker 2 (the leader, on the fake server) leads "t"-0 at `epoch`; broker 1 follows.
  cluster::MetadataImage image(int32_t leader, int32_t epoch) {
    cluster::MetadataImage img;
    for (int32_t id : {1, 2}) {
      auto& b = img.brokers[id];
      b.id = id;
      b.endpoints = {{"PLAINTEXT", "127.0.0.1", id == 2 ? server_->port() : 1, 0}};
    }
    auto t = std::make_shared<cluster::TopicInfo>();
    t->name = "t";
    t->id = kFetcherTopicId;
    cluster::PartitionInfo p;
    p.leader = leader;
    p.leader_epoch = epoch;
    p.replicas = p.isr = {1, 2};
    t->partitions.push_back(p);
    img.topics.set("t", t);
    return img;
  }
  void append(Partition& p, int records) {
    auto b = make_batch(records);
    ASSERT_EQ(p.append(b, clock_.now_ms()).error, ErrorCode::NONE);
  }
  static std::vector<uint8_t> bytes(Partition& p) { return replication::testing::replica_bytes(p); }
  // Runs the io_context until `done` holds (bounded).
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) io_.run_for(10ms);
    return done();
  }

  storage::testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  asio::io_context io_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<Partition> leader_;
  Partition* follower_ = nullptr;
  replication::ReplicaManager::PartitionMap hosted_;
  std::unique_ptr<FakeLeader> server_;
  std::unique_ptr<ReplicaFetcherManager> manager_;
  int truncations_ = 0;
};

TEST_F(ReplicaFetcherTest, FollowerCopiesTheLeaderAndTakesItsHighWatermark) {
  leader_->become_leader(Epoch(1));
  append(*leader_, 3);
  append(*leader_, 4);
  follower_->become_follower(Epoch(1));
  manager_->reconcile(image(2, 1), hosted_);
  ASSERT_EQ(manager_->fetcher_count(), 1u);
  ASSERT_TRUE(run_until([&] { return follower_->high_watermark() == Offset(7); }));
  EXPECT_EQ(bytes(*follower_), bytes(*leader_));
  EXPECT_EQ(follower_->latest_log_epoch(), Epoch(1));
  append(*leader_, 2);  // more, fetched by the running loop
  ASSERT_TRUE(run_until([&] { return follower_->high_watermark() == Offset(9); }));
  EXPECT_EQ(bytes(*follower_), bytes(*leader_));
  ASSERT_FALSE(server_->requests.empty());
  const auto& req = server_->requests.back();
  EXPECT_EQ(req.replica_id, 1);
  EXPECT_EQ(req.max_wait_ms, 50);
  EXPECT_EQ(req.min_bytes, 1);
  EXPECT_EQ(req.max_bytes, 10 << 20);
  ASSERT_EQ(req.topics.size(), 1u);
  ASSERT_EQ(req.topics[0].partitions.size(), 1u);
  EXPECT_EQ(req.topics[0].partitions[0].current_leader_epoch, 1);
  EXPECT_EQ(req.topics[0].partitions[0].partition_max_bytes, 1 << 20);
  EXPECT_EQ(truncations_, 0);

  // The follower becomes the leader: nothing is fetched any more.
  follower_->become_leader(Epoch(2));
  manager_->reconcile(image(1, 2), hosted_);
  EXPECT_EQ(manager_->fetcher_count(), 0u);
}

TEST_F(ReplicaFetcherTest, ExtraRecordsOfAnOldEpochAreTruncatedAtTheDivergingEpoch) {
  // The follower led epoch 1 and wrote 0-5; the leader kept 0-2 of it, then led epoch 2.
  follower_->become_leader(Epoch(1));
  append(*follower_, 3);
  append(*follower_, 3);
  auto first = bytes(*follower_);
  first.resize(first.size() / 2);
  leader_->become_follower(Epoch(1));
  ASSERT_EQ(leader_->append_as_follower(first, clock_.now_ms()).error, ErrorCode::NONE);
  leader_->update_follower_high_watermark(Offset(3));
  leader_->become_leader(Epoch(2));
  append(*leader_, 2);  // epoch 2: 3-4
  follower_->become_follower(Epoch(2));
  manager_->reconcile(image(2, 2), hosted_);
  ASSERT_TRUE(run_until([&] { return bytes(*follower_) == bytes(*leader_); }));
  EXPECT_EQ(follower_->log_end_offset(), Offset(5));
  EXPECT_EQ(follower_->latest_log_epoch(), Epoch(2));
  EXPECT_GE(truncations_, 1);
}

TEST_F(ReplicaFetcherTest, AStaleEpochIsParkedUntilTheImageCatchesUp) {
  leader_->become_leader(Epoch(3));
  append(*leader_, 2);
  follower_->become_follower(Epoch(2));
  manager_->reconcile(image(2, 2), hosted_);  // our image is behind the leader's
  auto* f = manager_->fetcher(NodeId(2));
  ASSERT_TRUE(f);
  ASSERT_TRUE(run_until([&] { return f->state(follower_->tp())->fenced; }));
  const size_t asked = server_->requests.size();
  io_.run_for(150ms);
  EXPECT_EQ(server_->requests.size(), asked);  // parked: no more requests for it
  EXPECT_EQ(follower_->log_end_offset(), Offset(0));
  follower_->become_follower(Epoch(3));
  manager_->reconcile(image(2, 3), hosted_);
  ASSERT_TRUE(run_until([&] { return follower_->high_watermark() == Offset(2); }));
  EXPECT_EQ(bytes(*follower_), bytes(*leader_));
}

TEST_F(ReplicaFetcherTest, AFollowerBelowTheLeadersLogStartRestartsThere) {
  leader_->become_leader(Epoch(1));
  ASSERT_TRUE(leader_->truncate_fully_and_start_at(Offset(100)));  // the leader's older data is gone
  append(*leader_, 3);
  follower_->become_follower(Epoch(1));
  manager_->reconcile(image(2, 1), hosted_);
  ASSERT_TRUE(run_until([&] { return follower_->high_watermark() == Offset(103); }));
  EXPECT_EQ(follower_->log_start_offset(), Offset(100));
  EXPECT_EQ(bytes(*follower_), bytes(*leader_));
  EXPECT_GE(truncations_, 1);
}

}  // namespace
}  // namespace samsa::server
