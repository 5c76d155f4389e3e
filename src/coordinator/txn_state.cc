#include "coordinator/txn_state.h"

namespace samsa::coordinator {

namespace {
// Largest partition list a record may carry (bounded before allocation).
constexpr int32_t kMaxRecordTopics = 100000;
}  // namespace

const char* txn_state_name(TxnState s) {
  switch (s) {
    case TxnState::empty: return "Empty";
    case TxnState::ongoing: return "Ongoing";
    case TxnState::prepare_commit: return "PrepareCommit";
    case TxnState::prepare_abort: return "PrepareAbort";
    case TxnState::complete_commit: return "CompleteCommit";
    case TxnState::complete_abort: return "CompleteAbort";
    case TxnState::dead: return "Dead";
    case TxnState::prepare_epoch_fence: return "PrepareEpochFence";
  }
  return "Unknown";
}

protocol::Bytes encode_txn_key(const std::string& transactional_id) {
  protocol::Writer w;
  w.i16(0);
  w.string(false, transactional_id);
  return std::move(w.buffer());
}

namespace {

// Value version 1's tagged fields (Kafka's TransactionLogValue tags).
constexpr uint32_t kTagPreviousProducerId = 0;
constexpr uint32_t kTagNextProducerId = 1;
constexpr uint32_t kTagClientTransactionVersion = 2;

// Skips a tagged-field section none of whose fields this version knows.
bool skip_txn_value_tags(protocol::Reader& r) {
  const uint32_t count = r.uvarint();
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    r.uvarint();
    const uint32_t size = r.uvarint();
    if (!r.ok() || size > r.remaining()) return false;
    r.skip(size);
  }
  return r.ok();
}

bool needs_value_v1(const TxnMetadata& m) {
  return m.client_version != 0 || m.previous_producer_id >= 0 || m.next_producer_id >= 0;
}

}  // namespace

protocol::Bytes encode_txn_value(const TxnMetadata& m) {
  const bool v1 = needs_value_v1(m);
  protocol::Writer w;
  w.i16(v1 ? 1 : 0);
  w.i64(m.producer_id);
  w.i16(m.producer_epoch);
  w.i32(m.timeout_ms);
  w.i8(static_cast<int8_t>(m.state));
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const auto& [t, p] : m.partitions) by_topic[t].push_back(p);
  w.array_count(v1, static_cast<int64_t>(by_topic.size()));
  for (const auto& [t, ps] : by_topic) {
    w.string(v1, t);
    w.array_count(v1, static_cast<int64_t>(ps.size()));
    for (int32_t p : ps) w.i32(p);
    if (v1) w.uvarint(0);  // the entry's tagged fields: none
  }
  w.i64(m.update_ms);
  w.i64(m.start_ms);
  if (v1) {
    // Tagged fields in tag order, each only when it differs from its default.
    const bool prev = m.previous_producer_id >= 0, next = m.next_producer_id >= 0, ver = m.client_version != 0;
    w.uvarint(static_cast<uint32_t>(prev + next + ver));
    if (prev) {
      w.uvarint(kTagPreviousProducerId);
      w.uvarint(8);
      w.i64(m.previous_producer_id);
    }
    if (next) {
      w.uvarint(kTagNextProducerId);
      w.uvarint(8);
      w.i64(m.next_producer_id);
    }
    if (ver) {
      w.uvarint(kTagClientTransactionVersion);
      w.uvarint(2);
      w.i16(m.client_version);
    }
  }
  return std::move(w.buffer());
}

std::optional<std::string> decode_txn_key(std::span<const uint8_t> key) {
  protocol::Reader r(key);
  if (r.i16() != 0) return std::nullopt;
  std::string id = r.string(false);
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  return id;
}

std::optional<TxnMetadata> decode_txn_value(std::span<const uint8_t> value) {
  protocol::Reader r(value);
  const int16_t version = r.i16();
  if (version != 0 && version != 1) return std::nullopt;
  const bool v1 = version == 1;
  TxnMetadata m;
  m.producer_id = r.i64();
  m.producer_epoch = r.i16();
  m.timeout_ms = r.i32();
  int8_t state = r.i8();
  if (state < 0 || state > static_cast<int8_t>(TxnState::prepare_epoch_fence)) return std::nullopt;
  m.state = static_cast<TxnState>(state);
  // Version 0's partitions are never null; version 1's may be (-1 / 0): none.
  int32_t topics = r.array_count(v1, v1 ? 3 : 6);
  if (!r.ok() || topics > kMaxRecordTopics || (topics < 0 && !v1)) return std::nullopt;
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string t = r.string(v1);
    int32_t n = r.array_count(v1, 4);
    if (!r.ok() || n < 0) return std::nullopt;
    for (int32_t j = 0; j < n; ++j) m.partitions.emplace(t, r.i32());
    if (v1 && !skip_txn_value_tags(r)) return std::nullopt;
  }
  m.update_ms = r.i64();
  m.start_ms = r.i64();
  if (v1) {
    const uint32_t count = r.uvarint();
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
      const uint32_t tag = r.uvarint();
      const uint32_t size = r.uvarint();
      if (!r.ok() || size > r.remaining()) return std::nullopt;
      if (tag == kTagPreviousProducerId && size == 8) m.previous_producer_id = r.i64();
      else if (tag == kTagNextProducerId && size == 8) m.next_producer_id = r.i64();
      else if (tag == kTagClientTransactionVersion && size == 2) m.client_version = r.i16();
      else r.skip(size);  // a field of a later version
    }
  }
  if (!r.ok()) return std::nullopt;
  return m;
}

// ---- decisions -------------------------------------------------------------------------

InitDecision decide_init(const TxnMetadata* m, int32_t timeout_ms, int32_t max_timeout_ms, int64_t expected_pid,
                         int16_t expected_epoch) {
  InitDecision d;
  if (timeout_ms <= 0 || timeout_ms > max_timeout_ms) {
    d.error = ErrorCode::INVALID_TRANSACTION_TIMEOUT;
    return d;
  }
  if (!m) {
    d.new_producer_id = true;
    return d;
  }
  if (m->busy || m->state == TxnState::prepare_commit || m->state == TxnState::prepare_abort ||
      m->state == TxnState::prepare_epoch_fence) {
    d.error = ErrorCode::CONCURRENT_TRANSACTIONS;
    d.complete_pending = !m->busy;
    return d;
  }
  // KIP-360: a producer that names its id/epoch must be the current one.
  if (expected_pid >= 0 && (expected_pid != m->producer_id || expected_epoch != m->producer_epoch)) {
    d.error = ErrorCode::INVALID_PRODUCER_EPOCH;
    return d;
  }
  if (m->state == TxnState::ongoing) d.abort_ongoing = true;
  // Epochs are int16; the last usable one is reserved for fencing an abort.
  const int bumps = d.abort_ongoing ? 2 : 1;
  if (m->producer_id < 0 || m->producer_epoch > INT16_MAX - 1 - bumps) d.new_producer_id = true;
  return d;
}

ErrorCode check_producer(const TxnMetadata* m, int64_t producer_id, int16_t epoch) {
  if (!m || m->producer_id != producer_id) return ErrorCode::INVALID_PRODUCER_ID_MAPPING;
  if (epoch != m->producer_epoch) return ErrorCode::INVALID_PRODUCER_EPOCH;
  if (m->busy) return ErrorCode::CONCURRENT_TRANSACTIONS;
  return ErrorCode::NONE;
}

ErrorCode decide_add_partitions(const TxnMetadata* m, int64_t producer_id, int16_t epoch) {
  if (auto err = check_producer(m, producer_id, epoch); err != ErrorCode::NONE) return err;
  switch (m->state) {
    case TxnState::prepare_commit:
    case TxnState::prepare_abort:
    case TxnState::prepare_epoch_fence:
      return ErrorCode::CONCURRENT_TRANSACTIONS;
    case TxnState::dead:
      return ErrorCode::INVALID_TXN_STATE;
    default:
      return ErrorCode::NONE;
  }
}

VerifyDecision decide_verify(const TxnMetadata* m, int64_t producer_id, int16_t epoch,
                             const std::vector<TxnPartition>& parts) {
  VerifyDecision d;
  if (!m || m->producer_id != producer_id) d.error = ErrorCode::INVALID_PRODUCER_ID_MAPPING;
  else if (m->producer_epoch != epoch) d.error = ErrorCode::PRODUCER_FENCED;
  else if (m->state == TxnState::prepare_commit || m->state == TxnState::prepare_abort)
    d.error = ErrorCode::CONCURRENT_TRANSACTIONS;
  if (d.error != ErrorCode::NONE) return d;
  // A partition is in the set from its AddPartitions record until Complete* (which clears it).
  for (const auto& p : parts)
    d.per_partition.push_back(m->partitions.contains(p) ? ErrorCode::NONE : ErrorCode::TRANSACTION_ABORTABLE);
  return d;
}

namespace {

// What EndTxn does in state `s` (once the producer checks passed): commit/abort of an open
// transaction writes; a repeat of a completed one is done; the rest is refused.
void end_in_state(EndDecision& d, TxnState s, bool commit) {
  switch (s) {
    case TxnState::ongoing:
      d.write = true;
      break;
    case TxnState::complete_commit:
      if (commit) d.already_done = true;
      else d.error = ErrorCode::INVALID_TXN_STATE;
      break;
    case TxnState::complete_abort:
      if (!commit) d.already_done = true;
      else d.error = ErrorCode::INVALID_TXN_STATE;
      break;
    case TxnState::prepare_commit:
      d.error = commit ? ErrorCode::CONCURRENT_TRANSACTIONS : ErrorCode::INVALID_TXN_STATE;
      break;
    case TxnState::prepare_abort:
      d.error = commit ? ErrorCode::INVALID_TXN_STATE : ErrorCode::CONCURRENT_TRANSACTIONS;
      break;
    case TxnState::prepare_epoch_fence:
      d.error = ErrorCode::CONCURRENT_TRANSACTIONS;
      break;
    case TxnState::empty:
    case TxnState::dead:
      d.error = ErrorCode::INVALID_TXN_STATE;
      break;
  }
}

}  // namespace

EndDecision decide_end(const TxnMetadata* m, int64_t producer_id, int16_t epoch, bool commit,
                       int16_t client_version) {
  EndDecision d;
  (void)client_version;  // the metadata's version decides how a retry looks (Kafka's rule)
  if (!m || !m->bumps_epoch()) {
    d.error = check_producer(m, producer_id, epoch);
    if (d.error == ErrorCode::NONE) end_in_state(d, m->state, commit);
    return d;
  }
  // Transactions v2: the same epoch as the metadata means the next EndTxn, not a retry; a
  // retry carries the epoch before the bump, or the exhausted epoch of the previous id.
  const bool retry_on_bump = m->producer_epoch == epoch + 1;
  const bool retry_on_overflow = m->previous_producer_id == producer_id && epoch == kExhaustedEpoch &&
                                 m->producer_epoch == 0;
  bool valid_epoch = false;
  switch (m->state) {
    case TxnState::ongoing:
    case TxnState::empty:
    case TxnState::dead:
    case TxnState::prepare_epoch_fence:
      valid_epoch = epoch == m->producer_epoch;
      break;
    case TxnState::prepare_commit:
    case TxnState::prepare_abort:
      valid_epoch = retry_on_bump;
      break;
    case TxnState::complete_commit:
    case TxnState::complete_abort:
      valid_epoch = retry_on_bump || retry_on_overflow;
      break;
  }
  if (m->producer_id != producer_id && !retry_on_overflow) d.error = ErrorCode::INVALID_PRODUCER_ID_MAPPING;
  else if (!valid_epoch) d.error = ErrorCode::PRODUCER_FENCED;
  else if (m->busy) d.error = ErrorCode::CONCURRENT_TRANSACTIONS;
  else end_in_state(d, m->state, commit);
  return d;
}

TxnRecovery recovery_action(const TxnMetadata& m) {
  if (m.busy) return TxnRecovery::none;
  if (m.state == TxnState::prepare_commit) return TxnRecovery::complete_commit;
  if (m.state == TxnState::prepare_abort) return TxnRecovery::complete_abort;
  return TxnRecovery::none;
}

std::vector<std::string> timed_out(const std::map<std::string, TxnMetadata>& txns, int64_t now_ms) {
  std::vector<std::string> out;
  for (const auto& [id, m] : txns) {
    if (m.state == TxnState::ongoing && !m.busy && m.start_ms >= 0 && now_ms - m.start_ms > m.timeout_ms)
      out.push_back(id);
  }
  return out;
}

std::vector<std::string> expired_ids(const std::map<std::string, TxnMetadata>& txns, int64_t now_ms,
                                     int64_t expiration_ms) {
  std::vector<std::string> out;
  for (const auto& [id, m] : txns) {
    const bool idle = m.state == TxnState::empty || m.state == TxnState::complete_commit ||
                      m.state == TxnState::complete_abort;
    if (idle && !m.busy && m.update_ms >= 0 && now_ms - m.update_ms > expiration_ms) out.push_back(id);
  }
  return out;
}

}  // namespace samsa::coordinator
