#include "coordinator/txn_service.h"

#include <spdlog/spdlog.h>

#include "coordinator/placement.h"
#include "protocol/record_batch.h"

namespace samsa::coordinator {

namespace {
// How long an addition waits for another one of the same transaction (kAddWaits steps).
constexpr auto kAddWaitStep = std::chrono::milliseconds(5);
constexpr int kAddWaits = 200;
}  // namespace

TxnService::TxnService(TxnCoordinator& txns, PartitionWriter& writer, const Clock& clock, AllocateProducerId allocate,
                       PartitionCount partitions, TxnServiceConfig config)
    : txns_(txns),
      writer_(writer),
      clock_(clock),
      allocate_(std::move(allocate)),
      partitions_(std::move(partitions)),
      config_(config) {}

void TxnService::clear_busy(const std::string& id) {
  if (auto* live = txns_.find(id)) live->busy = false;
}

// Logs `m` durably to its __transaction_state partition, then stores it.
asio::awaitable<ErrorCode> TxnService::persist(const TopicPartition& tp, TxnMetadata m) {
  std::vector<KeyValue> kvs;
  kvs.emplace_back(encode_txn_key(m.transactional_id), encode_txn_value(m));
  auto op = append_records(writer_, served_, tp, kvs, clock_.now_ms());
  auto err = co_await std::move(op);
  if (err == ErrorCode::NONE) txns_.put(m);
  co_return err;
}

asio::awaitable<void> write_markers_here(PartitionWriter& local, GroupCoordinator& groups, const Clock& clock,
                                         std::vector<MarkerWrite*> items, MarkerSpec spec) {
  for (auto* w : items) {
    if (!local.hosts(w->tp)) {
      if (!spec.skip_missing) w->error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      continue;
    }
    protocol::EndTxnMarker m{spec.commit ? protocol::ControlType::commit : protocol::ControlType::abort,
                             spec.coordinator_epoch};
    auto batch = protocol::build_end_txn_marker(m, spec.producer_id, spec.producer_epoch, clock.now_ms());
    auto op = local.append(w->tp, std::span<uint8_t>(batch), PartitionWriter::kAnyLeaderEpoch);
    w->error = co_await std::move(op);
    if (w->error != ErrorCode::NONE) {
      spdlog::warn("writing a transaction marker to {} failed: {}", w->tp.to_string(), error_name(w->error));
      continue;
    }
    if (w->tp.topic == kOffsetsTopic) groups.complete_txn(spec.producer_id, w->tp.partition, spec.commit);
  }
}

// Phase two of EndTxn: `m` is in Prepare{Commit,Abort} (logged) and busy.
// Writes the markers, then logs Complete*. On failure the Prepare* state stays
// and upkeep() retries.
asio::awaitable<ErrorCode> TxnService::finish_txn(TopicPartition state_tp, TxnMetadata m) {
  const bool commit = m.state == TxnState::prepare_commit;
  std::vector<MarkerWrite> items;
  for (auto& [t, p] : m.partitions) items.push_back(MarkerWrite{TopicPartition{t, p}});
  // The coordinator epoch is the leader epoch this partition's state was loaded at.
  auto coordinator_epoch = served_.serving_epoch(state_tp);
  if (!coordinator_epoch) {
    clear_busy(m.transactional_id);
    co_return ErrorCode::NOT_COORDINATOR;
  }
  MarkerSpec spec{m.producer_id, m.producer_epoch, commit, coordinator_epoch->value, /*skip_missing=*/true};
  auto op_markers = writer_.write_markers(items, spec);
  co_await std::move(op_markers);
  ErrorCode first_error = ErrorCode::NONE;
  for (auto& w : items)
    if (first_error == ErrorCode::NONE) first_error = w.error;
  if (first_error != ErrorCode::NONE) {
    clear_busy(m.transactional_id);
    co_return first_error;
  }
  m.state = commit ? TxnState::complete_commit : TxnState::complete_abort;
  if (m.next_producer_id >= 0) {
    // Transactions v2 exhausted the epoch: the markers are written, so the producer moves on.
    m.previous_producer_id = m.producer_id;
    m.producer_id = m.next_producer_id;
    m.producer_epoch = 0;
    m.next_producer_id = -1;
  }
  m.partitions.clear();
  m.start_ms = -1;
  m.update_ms = clock_.now_ms();
  m.busy = false;
  auto op = persist(state_tp, m);
  auto err = co_await std::move(op);
  if (err != ErrorCode::NONE) clear_busy(m.transactional_id);
  co_return err;
}

// Ongoing -> Prepare{Commit,Abort} -> markers -> Complete*. `fence` bumps the
// epoch first (timeouts and InitProducerId fencing an open transaction). A transactions v2
// EndTxn bumps it too, so its markers fence the producer's writes of this transaction; an
// exhausted epoch also draws the producer id that Complete* moves to.
asio::awaitable<ErrorCode> TxnService::end_txn(TopicPartition state_tp, TxnMetadata m, bool commit, bool fence,
                                               int16_t client_version) {
  m.busy = true;
  if (auto* live = txns_.find(m.transactional_id)) live->busy = true;
  if (fence) {
    ++m.producer_epoch;
  } else if (client_version >= 2) {
    m.client_version = client_version;
    if (m.producer_epoch >= kExhaustedEpoch) {
      auto alloc = allocate_();
      int64_t next = co_await std::move(alloc);
      if (next < 0) {
        clear_busy(m.transactional_id);
        co_return ErrorCode::COORDINATOR_NOT_AVAILABLE;
      }
      m.next_producer_id = next;
    }
    ++m.producer_epoch;
  }
  m.state = commit ? TxnState::prepare_commit : TxnState::prepare_abort;
  m.update_ms = clock_.now_ms();
  auto op = persist(state_tp, m);
  auto err = co_await std::move(op);
  if (err != ErrorCode::NONE) {
    clear_busy(m.transactional_id);
    co_return err;
  }
  auto fin = finish_txn(state_tp, m);
  co_return co_await std::move(fin);
}

asio::awaitable<InitProducerResult> TxnService::init_producer(TopicPartition tp, std::string id, int32_t timeout_ms,
                                                              int64_t expected_pid, int16_t expected_epoch) {
  InitProducerResult out;
  if (auto err = served_.check(tp); err != ErrorCode::NONE) {
    out.error = err;
    co_return out;
  }
  auto d = decide_init(txns_.find(id), timeout_ms, config_.max_timeout_ms, expected_pid, expected_epoch);
  if (d.error != ErrorCode::NONE) {
    out.error = d.error;
    co_return out;
  }
  TxnMetadata next;
  next.transactional_id = id;
  if (auto* m = txns_.find(id)) next = *m;
  if (d.abort_ongoing) {
    // Fence the previous producer: abort its transaction under a new epoch.
    auto op = end_txn(tp, next, false, true);
    if (auto err = co_await std::move(op); err != ErrorCode::NONE) {
      out.error = ErrorCode::CONCURRENT_TRANSACTIONS;  // the client retries; upkeep finishes the abort
      co_return out;
    }
    next = *txns_.find(id);
  }
  if (d.new_producer_id) {
    auto alloc = allocate_();
    int64_t pid = co_await std::move(alloc);
    if (pid < 0) {
      out.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
      co_return out;
    }
    next.producer_id = pid;
    next.producer_epoch = 0;
  } else {
    ++next.producer_epoch;
  }
  next.timeout_ms = timeout_ms;
  next.state = TxnState::empty;
  next.partitions.clear();
  next.start_ms = -1;
  next.update_ms = clock_.now_ms();
  next.busy = false;
  auto op = persist(tp, next);
  out.error = co_await std::move(op);
  out.producer_id = next.producer_id;
  out.epoch = next.producer_epoch;
  co_return out;
}

asio::awaitable<ErrorCode> TxnService::add_partitions(TopicPartition tp, std::string id, int64_t pid, int16_t epoch,
                                                      std::vector<TxnPartition> parts, int16_t client_version) {
  if (auto err = served_.check(tp); err != ErrorCode::NONE) co_return err;
  auto* m = txns_.find(id);
  auto err = decide_add_partitions(m, pid, epoch);
  // Another addition of this transaction is being written (a produce's partitions on several
  // shards or brokers ask at once): wait for it rather than have the write retried.
  for (int waits = 0; err == ErrorCode::CONCURRENT_TRANSACTIONS && m && m->busy && m->state != TxnState::prepare_commit &&
                      m->state != TxnState::prepare_abort && waits < kAddWaits;
       ++waits) {
    asio::steady_timer pause(co_await asio::this_coro::executor, kAddWaitStep);
    co_await pause.async_wait(asio::use_awaitable);
    if (auto again = served_.check(tp); again != ErrorCode::NONE) co_return again;
    m = txns_.find(id);
    err = decide_add_partitions(m, pid, epoch);
  }
  if (err != ErrorCode::NONE) co_return err;
  TxnMetadata next = *m;
  size_t before = next.partitions.size();
  for (auto& p : parts) next.partitions.insert(p);
  if (next.state == TxnState::ongoing && next.partitions.size() == before) co_return ErrorCode::NONE;  // nothing new
  if (next.state != TxnState::ongoing) {
    next.state = TxnState::ongoing;
    next.start_ms = clock_.now_ms();
    next.client_version = client_version;
  }
  next.update_ms = clock_.now_ms();
  m->busy = true;
  auto op = persist(tp, next);
  err = co_await std::move(op);
  clear_busy(id);
  co_return err;
}

VerifyDecision TxnService::verify_partitions(const TopicPartition& tp, const std::string& id, int64_t pid,
                                             int16_t epoch, const std::vector<TxnPartition>& parts) {
  VerifyDecision d;
  d.error = served_.check(tp);
  if (d.error != ErrorCode::NONE) return d;
  return decide_verify(txns_.find(id), pid, epoch, parts);
}

asio::awaitable<InitProducerResult> TxnService::end(TopicPartition tp, std::string id, int64_t pid, int16_t epoch,
                                                    bool commit, int16_t client_version) {
  InitProducerResult out;
  out.error = served_.check(tp);
  if (out.error != ErrorCode::NONE) co_return out;
  auto* m = txns_.find(id);
  auto d = decide_end(m, pid, epoch, commit, client_version);
  out.error = d.error;
  if (d.error == ErrorCode::NONE && d.write) {
    auto op = end_txn(tp, *m, commit, false, client_version);
    out.error = co_await std::move(op);
  }
  if (out.error == ErrorCode::NONE) {
    if (const auto* now = txns_.find(id)) {
      out.producer_id = now->producer_id;
      out.epoch = now->producer_epoch;
    }
  }
  co_return out;
}

asio::awaitable<void> TxnService::upkeep() {
  const int32_t n = partitions_(kTransactionStateTopic);
  if (n <= 0) co_return;
  const int64_t now = clock_.now_ms();
  std::vector<std::pair<TxnMetadata, bool>> work;  // (metadata, abort a timed-out one)
  for (auto& id : timed_out(txns_.all(), now)) work.emplace_back(*txns_.find(id), true);
  for (auto& [id, m] : txns_.all()) {
    if (recovery_action(m) != TxnRecovery::none) work.emplace_back(m, false);
  }
  // transactional.id.expiration.ms: idle ids are forgotten (tombstoned).
  for (auto& id : expired_ids(txns_.all(), now, config_.id_expiration_ms)) {
    TopicPartition tp{kTransactionStateTopic, offsets_partition_for(id, n)};
    if (!served_.serving_epoch(tp)) continue;
    std::vector<KeyValue> kvs;
    kvs.emplace_back(encode_txn_key(id), std::nullopt);
    auto op = append_records(writer_, served_, tp, kvs, clock_.now_ms());
    if (co_await std::move(op) == ErrorCode::NONE) {
      auto* m = txns_.find(id);
      if (m && !m->busy) txns_.erase(id);
    }
  }
  for (auto& [m, abort] : work) {
    TopicPartition tp{kTransactionStateTopic, offsets_partition_for(m.transactional_id, n)};
    if (!served_.serving_epoch(tp)) continue;
    auto* live = txns_.find(m.transactional_id);
    if (!live || live->busy) continue;
    if (abort) {
      spdlog::info("aborting transaction {} (producer {}) after its timeout of {} ms", m.transactional_id,
                   m.producer_id, m.timeout_ms);
      auto op = end_txn(tp, m, false, true);
      co_await std::move(op);
    } else {
      live->busy = true;
      auto op = finish_txn(tp, m);
      co_await std::move(op);
    }
  }
}

bool TxnService::begin_load(const TopicPartition& tp, Epoch epoch) {
  if (!served_.begin_load(tp, epoch)) return false;
  drop_ids_of(tp);  // a follower's log may have changed under the old state
  return true;
}

void TxnService::unload_partition(const TopicPartition& tp) {
  if (!served_.remove(tp)) return;
  drop_ids_of(tp);
  spdlog::info("unloaded the transactional ids of {}", tp.to_string());
}

void TxnService::drop_ids_of(const TopicPartition& tp) {
  const int32_t n = partitions_(kTransactionStateTopic);
  std::vector<std::string> gone;
  for (auto& [id, _] : txns_.all())
    if (n <= 0 || offsets_partition_for(id, n) == tp.partition) gone.push_back(id);
  for (auto& id : gone) txns_.erase(id);
}

ErrorCode TxnService::load_partition(const TopicPartition& tp, Epoch epoch) {
  if (!served_.loading(tp, epoch) && !begin_load(tp, epoch)) return ErrorCode::NONE;  // superseded
  size_t records = 0;
  auto err = writer_.replay(tp, [&](std::span<const uint8_t> batch) {
    protocol::RecordIterator it;
    if (it.open(batch) != ErrorCode::NONE || it.header().is_control()) return;
    protocol::RecordView rv;
    while (it.next(rv)) {
      if (!rv.key) continue;
      auto id = decode_txn_key(*rv.key);
      if (!id) continue;
      ++records;
      if (!rv.value) {
        txns_.erase(*id);
      } else if (auto m = decode_txn_value(*rv.value)) {
        m->transactional_id = *id;
        txns_.put(*m);
      }
    }
  });
  if (err != ErrorCode::NONE) return err;  // stays loading: COORDINATOR_LOAD_IN_PROGRESS
  served_.complete_load(tp, epoch);
  spdlog::info("loaded {} transaction record(s) from {} at leader epoch {}", records, tp.to_string(), epoch.value);
  return err;
}

}  // namespace samsa::coordinator
