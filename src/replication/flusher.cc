#include "replication/flusher.h"

#include <spdlog/spdlog.h>

#include "observe/metrics.h"
#include "replication/partition.h"

namespace samsa::replication {

namespace {

using observe::Family;
using observe::MetricType;

// Microseconds recorded, milliseconds exposed, as Kafka's LogFlushRateAndTimeMs.
const Family kFlushTime{"kafka_log_logflushstats_logflushrateandtimems",
                        "Time of one partition's fdatasync (log segment and indexes) in a group commit, in ms.",
                        MetricType::kHistogram, {}, {4, 23, 0.001}};
const Family kRoundPartitions{"samsa_log_group_commit_partitions",
                              "Partitions synced together in one group-commit round.", MetricType::kHistogram, {},
                              {0, 15, 1.0}};
const Family kRoundWaiters{"samsa_log_group_commit_waiters",
                           "Produce waits (acks=all) completed by one group-commit round.", MetricType::kHistogram,
                           {}, {0, 15, 1.0}};
const Family kPurgatory{"kafka_server_delayedoperationpurgatory_purgatorysize",
                        "Requests waiting: Produce for durability (acks=all), Fetch for data (min.bytes).",
                        MetricType::kGauge, {"delayedOperation"}};

}  // namespace

void note_waiting(std::string_view operation, int delta) {
  if (auto* reg = observe::local()) reg->gauge(kPurgatory, {operation}).add(delta);
}

Flusher::Flusher(asio::io_context& io)
    : io_(io), next_(std::make_shared<Round>(io.get_executor())), thread_([this] { sync_thread_main(); }) {}

Flusher::~Flusher() { stop(); }

void Flusher::stop() {
  {
    std::lock_guard lk(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Flusher::sync_thread_main() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

asio::awaitable<ErrorCode> Flusher::wait_durable(Partition& p, int64_t offset) {
  // The partition may be deleted while this waits (its topic deleted, or its
  // replica reassigned away): it is not touched again then.
  const auto alive = p.alive_token();
  while (p.durable_offset() <= Offset(offset)) {
    dirty_.insert(&p);
    auto round = next_;
    maybe_start_round();
    if (!round->finished) {
      ++round->waiters;
      note_waiting("Produce", +1);
      round->done.expires_at(asio::steady_timer::time_point::max());
      asio::error_code ec;
      co_await round->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      note_waiting("Produce", -1);
    }
    if (alive.expired()) co_return ErrorCode::NOT_LEADER_OR_FOLLOWER;
    if (p.offline()) co_return ErrorCode::KAFKA_STORAGE_ERROR;
  }
  co_return ErrorCode::NONE;
}

void Flusher::request_flush(Partition& p) {
  dirty_.insert(&p);
  maybe_start_round();
}

void Flusher::forget(Partition& p) { dirty_.erase(&p); }

// Takes every dirty partition's flush ticket (the files and the offset they
// cover), syncs them on the sync thread, then completes the round here.
void Flusher::maybe_start_round() {
  if (in_progress_ || dirty_.empty()) return;
  in_progress_ = true;
  auto round = next_;
  next_ = std::make_shared<Round>(io_.get_executor());
  struct Item {
    Partition* p;
    std::weak_ptr<bool> alive;  // the partition may be deleted while its files sync
    storage::FlushTicket ticket;
  };
  auto items = std::make_shared<std::vector<Item>>();
  for (auto* p : dirty_) items->push_back(Item{p, p->alive_token(), p->prepare_flush()});
  dirty_.clear();
  auto job = [this, items, round] {
    // One status per partition: a failing log dir fails only its partitions.
    auto results = std::make_shared<std::vector<storage::Status>>();
    auto micros = std::make_shared<std::vector<int64_t>>();
    for (auto& it : *items) {
      auto start = std::chrono::steady_clock::now();
      results->push_back(it.ticket.run());
      micros->push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
    }
    asio::post(io_, [this, items, round, results, micros] {
      if (auto* reg = observe::local()) {  // recorded on the shard: its registry is single-writer
        auto h = reg->histogram(kFlushTime);
        for (int64_t us : *micros) h.record(us);
        reg->histogram(kRoundPartitions).record(static_cast<int64_t>(items->size()));
        reg->histogram(kRoundWaiters).record(round->waiters);
      }
      for (size_t i = 0; i < items->size(); ++i) {
        auto& it = (*items)[i];
        const auto& st = (*results)[i];
        if (it.alive.expired()) continue;
        if (st) {
          it.p->complete_flush(it.ticket);
          continue;
        }
        // State unknown after a failed fdatasync: the log refuses work and its dir goes offline.
        spdlog::error("fdatasync of {} failed: {}", it.p->tp().to_string(), st.to_string());
        it.p->log().mark_failed();
        it.p->check_io_error(st);
      }
      round->finished = true;
      round->done.cancel();
      in_progress_ = false;
      maybe_start_round();
    });
  };
  {
    std::lock_guard lk(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

}  // namespace samsa::replication
