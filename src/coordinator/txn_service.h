// The transaction coordinator's I/O: every state change of a transactional id
// is logged durably to its __transaction_state partition before it is applied,
// and ending a transaction is two-phase: Prepare{Commit,Abort} is logged,
// markers are written (durably) to every partition of the transaction —
// __consumer_offsets ones make the transaction's offset commits visible —,
// then Complete{Commit,Abort} is logged and the client answered. A Prepare*
// state found after a restart, or left by a failed marker write, is completed
// by upkeep(), which also aborts transactions past their timeout (fencing the
// producer with a new epoch) and forgets idle ids. The decisions themselves are
// the pure functions of txn_state.h; the writes go through a PartitionWriter.
//
// Ownership: one per shard, next to that shard's TxnCoordinator; every method
// runs on that shard's thread (the owner of the id's partition). A state
// change in flight marks the id busy (TxnMetadata::busy), so changes of one id
// run one at a time.
#pragma once
#include <asio.hpp>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "coordinator/group_service.h"
#include "coordinator/partition_writer.h"
#include "coordinator/txn_state.h"

namespace samsa::coordinator {

struct TxnServiceConfig {
  int32_t max_timeout_ms = 900000;           // transaction.max.timeout.ms
  int64_t id_expiration_ms = 604800000;      // transactional.id.expiration.ms
};

// A fresh producer id (from the controller's blocks); -1 when none can be had.
using AllocateProducerId = std::function<asio::awaitable<int64_t>()>;

struct InitProducerResult {
  ErrorCode error = ErrorCode::NONE;
  int64_t producer_id = -1;
  int16_t epoch = -1;
};

class TxnService {
 public:
  TxnService(TxnCoordinator& txns, PartitionWriter& writer, const Clock& clock, AllocateProducerId allocate,
             PartitionCount partitions, TxnServiceConfig config);

  TxnCoordinator& txns() { return txns_; }

  // InitProducerId of transactional id `id` (its partition is `tp`).
  // expected_pid/epoch are -1 before v3.
  asio::awaitable<InitProducerResult> init_producer(TopicPartition tp, std::string id, int32_t timeout_ms,
                                                    int64_t expected_pid, int16_t expected_epoch);
  // AddPartitionsToTxn / AddOffsetsToTxn, and the implicit additions of transactions v2
  // (`client_version` 2: the transaction takes it when it begins).
  asio::awaitable<ErrorCode> add_partitions(TopicPartition tp, std::string id, int64_t pid, int16_t epoch,
                                            std::vector<TxnPartition> parts, int16_t client_version = 0);
  // AddPartitionsToTxn with verify_only: nothing is written.
  VerifyDecision verify_partitions(const TopicPartition& tp, const std::string& id, int64_t pid, int16_t epoch,
                                   const std::vector<TxnPartition>& parts);
  // EndTxn. The answer names the producer id and epoch the producer goes on with (EndTxn v5).
  asio::awaitable<InitProducerResult> end(TopicPartition tp, std::string id, int64_t pid, int16_t epoch,
                                          bool commit, int16_t client_version = 0);
  // Timeouts, completion of Prepare* states, expiry of idle ids (the shard's timer).
  asio::awaitable<void> upkeep();

  // Leadership of __transaction_state partitions, as GroupService's
  // (coordinator_partitions.h): begin_load drops the ids of `tp` and answers
  // COORDINATOR_LOAD_IN_PROGRESS for them; load_partition rebuilds them from
  // the log and serves them at `epoch`, the coordinator epoch the markers
  // carry (Prepare* states found are completed by upkeep()); unload_partition
  // drops them (NOT_COORDINATOR; writes in flight fail).
  bool begin_load(const TopicPartition& tp, Epoch epoch);
  ErrorCode load_partition(const TopicPartition& tp, Epoch epoch);
  void unload_partition(const TopicPartition& tp);
  ErrorCode check(const TopicPartition& tp) const { return served_.check(tp); }
  const CoordinatorPartitions& served() const { return served_; }

 private:
  asio::awaitable<ErrorCode> persist(const TopicPartition& tp, TxnMetadata m);
  asio::awaitable<ErrorCode> finish_txn(TopicPartition state_tp, TxnMetadata m);
  asio::awaitable<ErrorCode> end_txn(TopicPartition state_tp, TxnMetadata m, bool commit, bool fence,
                                     int16_t client_version = 0);
  void clear_busy(const std::string& id);
  void drop_ids_of(const TopicPartition& tp);

  TxnCoordinator& txns_;
  PartitionWriter& writer_;
  const Clock& clock_;
  AllocateProducerId allocate_;
  PartitionCount partitions_;
  TxnServiceConfig config_;
  CoordinatorPartitions served_;
};

// What writing markers does where the partitions live (on their shard, with
// that shard's writer and group coordinator): each marker made durable, then,
// in a __consumer_offsets partition, the transaction's offset commits applied
// (commit) or dropped (abort). A partition not hosted here is
// UNKNOWN_TOPIC_OR_PARTITION, or skipped when spec.skip_missing.
asio::awaitable<void> write_markers_here(PartitionWriter& local, GroupCoordinator& groups, const Clock& clock,
                                         std::vector<MarkerWrite*> items, MarkerSpec spec);

}  // namespace samsa::coordinator
