// A partition replica hosted by this broker: the log plus the state the request
// path needs around it (high watermark, waiting fetches, durability waiters).
//
// Ownership: owned by exactly one shard (see Shard::partitions); every method
// runs on that shard's thread. Other shards reach it through run_on().
#pragma once
#include <asio.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/error_code.h"
#include "protocol/wire.h"
#include "storage/log.h"
#include "storage/topic_partition.h"

namespace samsa::replication {

using storage::TopicPartition;
using storage::TopicPartitionHash;

// Wakes a fetch that waits for data (long poll). Lives on the fetch's shard; a
// partition keeps only weak references and posts the wake-up to that shard.
struct FetchWaiter {
  explicit FetchWaiter(asio::any_io_executor ex) : executor(ex), timer(ex) {}
  asio::any_io_executor executor;
  asio::steady_timer timer;
  bool woken = false;
};

struct AppendOutcome {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
  bool duplicate = false;  // an idempotent retry answered with its original offsets
};

struct ReadOutcome {
  ErrorCode error = ErrorCode::NONE;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  int64_t log_end_offset = -1;
  int64_t last_stable_offset = -1;
  std::vector<protocol::FileChunk> chunks;
  size_t bytes = 0;
  std::vector<storage::AbortedTxn> aborted;  // read_committed: aborted transactions in range
};

// Called with the error when an I/O error failed the log (the log dir goes
// offline); runs on the partition's shard.
using IoErrorHandler = std::function<void(const storage::Status&)>;

class Partition {
 public:
  // `dir_online`: the shared online flag of the log dir (null: always online).
  Partition(TopicPartition tp, protocol::Uuid topic_id, std::unique_ptr<storage::Log> log,
            std::shared_ptr<const std::atomic<bool>> dir_online = nullptr, IoErrorHandler on_io_error = nullptr);
  ~Partition();

  const TopicPartition& tp() const { return tp_; }
  const protocol::Uuid& topic_id() const { return topic_id_; }
  storage::Log& log() { return *log_; }
  // The log failed or its log dir went offline: Produce and Fetch answer
  // KAFKA_STORAGE_ERROR, maintenance and flushes leave it alone.
  bool offline() const {
    return log_->failed() || (dir_online_ && !dir_online_->load(std::memory_order_acquire));
  }
  // An operation on the log failed with `st`: if the log is now failed, its
  // log dir is reported (offline).
  void check_io_error(const storage::Status& st);

  // Appends validated batches (patched in place with offsets). Wakes waiting fetches.
  AppendOutcome append(std::span<uint8_t> batches, int64_t now_ms);
  // read_committed reads stop at the last stable offset instead of the HW.
  ReadOutcome read(int64_t offset, size_t max_bytes, bool min_one_batch, bool read_committed = false);

  // On one node the ISR is this replica alone, so the high watermark is the log end.
  int64_t high_watermark() const;
  int64_t log_start_offset() const;
  int64_t log_end_offset() const;
  int64_t last_stable_offset() const { return log_->last_stable_offset(high_watermark()); }

  std::pair<int64_t, int64_t> max_timestamp_and_offset() const;
  // {offset, timestamp} of the first record with timestamp >= ts, if any.
  std::optional<std::pair<int64_t, int64_t>> offset_for_timestamp(int64_t ts) const;

  // Durability (group commit, see Flusher): offsets below durable_offset() are fdatasync'ed.
  int64_t durable_offset() const { return log_->recovery_point(); }
  storage::FlushTicket prepare_flush() const { return log_->prepare_flush(); }
  void complete_flush(const storage::FlushTicket& t) { log_->complete_flush(t); }
  std::weak_ptr<bool> alive_token() const { return alive_; }
  void close();

  void add_waiter(std::weak_ptr<FetchWaiter> w);
  void set_config(const storage::LogConfig& cfg);
  const storage::LogConfig& config() const { return config_; }

 private:
  void wake_waiters();

  TopicPartition tp_;
  protocol::Uuid topic_id_;
  std::unique_ptr<storage::Log> log_;
  std::shared_ptr<const std::atomic<bool>> dir_online_;
  IoErrorHandler on_io_error_;
  storage::LogConfig config_;
  std::vector<std::weak_ptr<FetchWaiter>> waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace samsa::replication
