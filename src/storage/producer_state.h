// Idempotent and transactional producer state of one partition (Kafka's
// ProducerStateManager): per producer id the epoch, the last batches' sequence
// ranges and offsets (to acknowledge a retried duplicate with its original
// offsets), and the first offset of its open transaction; plus the aborted
// transactions of the log (what read_committed fetches must filter).
//
// The state is derived from the log: snapshot files (`<offset>.snapshot`, the
// state after every batch below that offset) bound how much of the log
// recovery re-reads; see FORMAT.md beside this file.
//
// Ownership: a ProducerState belongs to its Log, on the core that owns the
// partition; every method is called from that thread. Pure in-memory logic
// except the snapshot (de)serialisers, which take and give bytes.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "base/error_code.h"
#include "protocol/batch_header.h"
#include "protocol/wire.h"

namespace samsa::storage {

// Sequence range and offsets of one appended batch.
struct ProducerBatch {
  int32_t first_seq = -1;
  int32_t last_seq = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t timestamp = -1;
};

struct ProducerEntry {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  std::deque<ProducerBatch> batches;   // newest last, at most kMaxCachedBatches
  int32_t coordinator_epoch = -1;
  int64_t current_txn_first_offset = -1;  // -1: no open transaction
  int64_t last_timestamp = -1;         // wall clock of the last append (expiry)
};

// An aborted transaction as Kafka's .txnindex stores it.
struct AbortedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;        // offset of the abort marker
  int64_t last_stable_offset = -1;  // LSO once the marker was written
  bool operator==(const AbortedTxn&) const = default;
};

// What check() says of a client batch.
struct ProducerCheck {
  ErrorCode error = ErrorCode::NONE;
  std::optional<ProducerBatch> duplicate;  // a retry of this batch: answer with its offsets
};

// Marker type carried by a control batch (abort / commit).
enum class TxnMarker { none, abort, commit };

class ProducerState {
 public:
  static constexpr size_t kMaxCachedBatches = 5;  // Kafka's max.in.flight for idempotence

  // Validates a client batch with a producer id (h.producer_id >= 0) against
  // the state; nothing changes. Kafka's rules: an older epoch is fenced
  // (INVALID_PRODUCER_EPOCH), a new epoch must start at sequence 0, the same
  // epoch must continue the last sequence (OUT_OF_ORDER_SEQUENCE_NUMBER) unless
  // the batch repeats one of the cached ones (duplicate); an unknown producer
  // id is accepted at any sequence (its state may have expired); a
  // non-transactional batch inside an open transaction is INVALID_TXN_STATE.
  ProducerCheck check(const protocol::BatchHeader& h) const;
  // A transaction marker from a coordinator: INVALID_PRODUCER_EPOCH if older
  // than the producer's epoch.
  ErrorCode check_marker(int64_t producer_id, int16_t epoch) const;

  // Records an appended batch at its final offsets (`h.base_offset` set).
  // `marker` for control batches. `lso_after` is used for an abort's entry.
  // Returns the aborted transaction an abort marker completed, if any.
  std::optional<AbortedTxn> on_append(const protocol::BatchHeader& h, TxnMarker marker, int64_t now_ms);

  // Smallest first offset of an open transaction, or nullopt.
  std::optional<int64_t> first_unstable_offset() const;
  // Aborted transactions overlapping [from, to): last_offset >= from, first < to.
  std::vector<AbortedTxn> aborted_in(int64_t from, int64_t to) const;
  const std::vector<AbortedTxn>& aborted() const { return aborted_; }
  // Adds a persisted entry (from a .txnindex file) unless already known.
  void add_aborted(const AbortedTxn& a);

  // Forgets producers idle for longer than `expiration_ms` that have no open
  // transaction. Returns how many went.
  size_t expire(int64_t now_ms, int64_t expiration_ms);
  // Drops aborted entries wholly below the log start offset.
  void drop_aborted_below(int64_t log_start_offset);
  // Drops aborted entries at or after `offset` (truncation).
  void drop_aborted_from(int64_t offset);

  const std::map<int64_t, ProducerEntry>& producers() const { return producers_; }
  const ProducerEntry* find(int64_t producer_id) const;
  void clear() { producers_.clear(); }

  // Snapshot encoding (FORMAT.md): version int16, crc32c uint32 of what
  // follows, count int32, entries. Only the newest batch of each producer is
  // kept (as Kafka does). decode returns nullopt for a corrupt snapshot.
  protocol::Bytes encode_snapshot() const;
  static std::optional<std::map<int64_t, ProducerEntry>> decode_snapshot(std::span<const uint8_t> bytes);
  void restore(std::map<int64_t, ProducerEntry> producers) { producers_ = std::move(producers); }

  // .txnindex entry (34 bytes): version int16 (0), producer id, first offset,
  // last offset, last stable offset (int64 each).
  static protocol::Bytes encode_aborted(const AbortedTxn& a);
  // Entries of a .txnindex file; stops at a torn tail.
  static std::vector<AbortedTxn> decode_aborted(std::span<const uint8_t> bytes);

 private:
  std::map<int64_t, ProducerEntry> producers_;
  std::vector<AbortedTxn> aborted_;  // ordered by last_offset
};

}  // namespace samsa::storage
