// Transaction coordinator state: one TxnMetadata per transactional id, its
// record in __transaction_state, and the decisions of each transaction API as
// pure functions of (metadata, request, time) so they can be tested without a
// broker. The server does the I/O (records, markers) and applies the results.
//
// States and transitions (as Kafka's TransactionCoordinator):
//   Empty / CompleteCommit / CompleteAbort --AddPartitions--> Ongoing
//   Ongoing --EndTxn(commit)--> PrepareCommit --markers written--> CompleteCommit
//   Ongoing --EndTxn(abort) or timeout or fencing--> PrepareAbort --markers--> CompleteAbort
// A Prepare* state found when the log is replayed is completed at start-up.
//
// Ownership: TxnCoordinator is one per shard (the transactional ids whose
// __transaction_state partition it owns); every method runs on that thread.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/error_code.h"
#include "base/shard_affinity.h"
#include "protocol/wire.h"

namespace samsa::coordinator {

inline constexpr const char* kTransactionStateTopic = "__transaction_state";

enum class TxnState : int8_t {
  empty = 0,
  ongoing = 1,
  prepare_commit = 2,
  prepare_abort = 3,
  complete_commit = 4,
  complete_abort = 5,
  dead = 6,
  prepare_epoch_fence = 7,
};
const char* txn_state_name(TxnState s);  // Kafka's names: "Empty", "Ongoing", ...

using TxnPartition = std::pair<std::string, int32_t>;  // (topic, partition)

struct TxnMetadata {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t timeout_ms = 60000;
  TxnState state = TxnState::empty;
  std::set<TxnPartition> partitions;
  int64_t start_ms = -1;    // when the current transaction began
  int64_t update_ms = -1;   // last change
  bool busy = false;        // a state change is being written: others get CONCURRENT_TRANSACTIONS
  // Transactions v2 (KIP-890 part 2). `client_version` is the transaction version of the
  // producer's requests (2: EndTxn v5, Produce v12, TxnOffsetCommit v5; else 0): with 2 every
  // EndTxn bumps the epoch and its markers carry the new one. When that bump exhausts the
  // epochs, Prepare* names the producer id that follows (`next_producer_id`) and Complete*
  // moves to it at epoch 0, keeping the old one in `previous_producer_id` (a retried EndTxn
  // of the old id is recognised by it).
  int16_t client_version = 0;
  int64_t previous_producer_id = -1;
  int64_t next_producer_id = -1;
  bool bumps_epoch() const { return client_version >= 2; }
};

// The transaction version of a request (Kafka's TransactionVersion per API version).
inline int16_t txn_version_of_end_txn(int16_t api_version) { return api_version >= 5 ? 2 : 0; }
inline int16_t txn_version_of_produce(int16_t api_version) { return api_version >= 12 ? 2 : 0; }
inline int16_t txn_version_of_txn_offset_commit(int16_t api_version) { return api_version >= 5 ? 2 : 0; }
// An epoch at or above this is exhausted (Kafka's isEpochExhausted): the last one is kept for
// fencing, so a transactions v2 EndTxn still bumps it for its markers but moves the producer
// to a new producer id.
inline constexpr int16_t kExhaustedEpoch = INT16_MAX - 1;

// Record in __transaction_state: key = version int16 (0) + transactional id;
// value = version int16 (0), producer id int64, epoch int16, timeout int32,
// state int8, partitions [topic string, [partition int32]], last update
// int64, start int64. A null value (tombstone) removes the id.
// Value version 1 (Kafka's TransactionLogValue v1, flexible: compact strings and arrays,
// tagged-field sections) adds the tagged fields PreviousProducerId (0), NextProducerId (1) and
// ClientTransactionVersion (2); it is written for transactions v2 producers.
protocol::Bytes encode_txn_key(const std::string& transactional_id);
protocol::Bytes encode_txn_value(const TxnMetadata& m);
std::optional<std::string> decode_txn_key(std::span<const uint8_t> key);
std::optional<TxnMetadata> decode_txn_value(std::span<const uint8_t> value);

// ---- decisions -------------------------------------------------------------------------

// InitProducerId with a transactional id. `existing` is null for a new id.
struct InitDecision {
  ErrorCode error = ErrorCode::NONE;
  bool abort_ongoing = false;    // fence: abort the open transaction first (epoch + 1)
  bool complete_pending = false;  // a Prepare* is still being completed: retry later
  bool new_producer_id = false;  // first use, or the epoch is exhausted
};
InitDecision decide_init(const TxnMetadata* existing, int32_t timeout_ms, int32_t max_timeout_ms,
                         int64_t expected_pid, int16_t expected_epoch);

// Producer id/epoch checks shared by AddPartitionsToTxn, AddOffsetsToTxn, EndTxn.
ErrorCode check_producer(const TxnMetadata* m, int64_t producer_id, int16_t epoch);

// AddPartitionsToTxn / AddOffsetsToTxn: may partitions join now?
ErrorCode decide_add_partitions(const TxnMetadata* m, int64_t producer_id, int16_t epoch);

// AddPartitionsToTxn with verify_only (a partition leader asking before the first
// transactional write of a producer): each partition's answer — NONE when it is in the
// ongoing transaction, TRANSACTION_ABORTABLE when it is not — or one error for all.
struct VerifyDecision {
  ErrorCode error = ErrorCode::NONE;  // for every partition when not NONE
  std::vector<ErrorCode> per_partition;
};
VerifyDecision decide_verify(const TxnMetadata* m, int64_t producer_id, int16_t epoch,
                             const std::vector<TxnPartition>& parts);

struct EndDecision {
  ErrorCode error = ErrorCode::NONE;
  bool write = false;       // go through Prepare -> markers -> Complete
  bool already_done = false;  // a retry of an EndTxn that completed: answer NONE
};
// `client_version` is the request's (txn_version_of_end_txn). For transactions v2 the epoch
// of a retry is the one before the bump (Kafka's rules: Prepare*/Complete* at epoch + 1, or
// Complete* on the next producer id at epoch 0 after an exhausted epoch).
EndDecision decide_end(const TxnMetadata* m, int64_t producer_id, int16_t epoch, bool commit,
                       int16_t client_version = 0);

// What a coordinator that (re)loaded `m` from its log must do to finish it:
// markers + Complete* for a Prepare* state (phase two was cut off), nothing
// otherwise (an Ongoing one waits for its producer or its timeout).
enum class TxnRecovery { none, complete_commit, complete_abort };
TxnRecovery recovery_action(const TxnMetadata& m);

// Ongoing transactions older than their timeout at `now`.
std::vector<std::string> timed_out(const std::map<std::string, TxnMetadata>& txns, int64_t now_ms);

// Ids with no open or completing transaction, unchanged for longer than
// `expiration_ms` (transactional.id.expiration.ms): their records are tombstoned.
std::vector<std::string> expired_ids(const std::map<std::string, TxnMetadata>& txns, int64_t now_ms,
                                     int64_t expiration_ms);

// The transactional ids of one shard. A plain map: the decisions above and
// the server's handlers do the work. Every method on the owning shard's thread
// (the first to touch it binds it; base/shard_affinity.h).
class TxnCoordinator {
 public:
  TxnMetadata* find(const std::string& id) {
    owner_.check("TxnCoordinator");
    auto it = txns_.find(id);
    return it == txns_.end() ? nullptr : &it->second;
  }
  // Replaces the metadata of m.transactional_id (replay, or after a write).
  TxnMetadata& put(const TxnMetadata& m) {
    owner_.check("TxnCoordinator");
    return txns_[m.transactional_id] = m;
  }
  void erase(const std::string& id) {
    owner_.check("TxnCoordinator");
    txns_.erase(id);
  }
  const std::map<std::string, TxnMetadata>& all() const {
    owner_.check("TxnCoordinator");
    return txns_;
  }

 private:
  std::map<std::string, TxnMetadata> txns_;
  ShardAffinity owner_;
};

}  // namespace samsa::coordinator
