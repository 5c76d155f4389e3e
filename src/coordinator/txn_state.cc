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

protocol::Bytes encode_txn_value(const TxnMetadata& m) {
  protocol::Writer w;
  w.i16(0);
  w.i64(m.producer_id);
  w.i16(m.producer_epoch);
  w.i32(m.timeout_ms);
  w.i8(static_cast<int8_t>(m.state));
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const auto& [t, p] : m.partitions) by_topic[t].push_back(p);
  w.i32(static_cast<int32_t>(by_topic.size()));
  for (const auto& [t, ps] : by_topic) {
    w.string(false, t);
    w.i32(static_cast<int32_t>(ps.size()));
    for (int32_t p : ps) w.i32(p);
  }
  w.i64(m.update_ms);
  w.i64(m.start_ms);
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
  if (r.i16() != 0) return std::nullopt;
  TxnMetadata m;
  m.producer_id = r.i64();
  m.producer_epoch = r.i16();
  m.timeout_ms = r.i32();
  int8_t state = r.i8();
  if (state < 0 || state > static_cast<int8_t>(TxnState::prepare_epoch_fence)) return std::nullopt;
  m.state = static_cast<TxnState>(state);
  int32_t topics = r.i32();
  if (!r.ok() || topics < 0 || topics > kMaxRecordTopics || static_cast<size_t>(topics) * 6 > r.remaining())
    return std::nullopt;
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string t = r.string(false);
    int32_t n = r.i32();
    if (!r.ok() || n < 0 || static_cast<size_t>(n) * 4 > r.remaining()) return std::nullopt;
    for (int32_t j = 0; j < n; ++j) m.partitions.emplace(t, r.i32());
  }
  m.update_ms = r.i64();
  m.start_ms = r.i64();
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

EndDecision decide_end(const TxnMetadata* m, int64_t producer_id, int16_t epoch, bool commit) {
  EndDecision d;
  d.error = check_producer(m, producer_id, epoch);
  if (d.error != ErrorCode::NONE) return d;
  switch (m->state) {
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
    case TxnState::prepare_abort:
    case TxnState::prepare_epoch_fence:
      d.error = ErrorCode::CONCURRENT_TRANSACTIONS;
      break;
    case TxnState::empty:
    case TxnState::dead:
      d.error = ErrorCode::INVALID_TXN_STATE;
      break;
  }
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
