#include "storage/producer_state.h"

#include <algorithm>
#include <climits>

#include "base/crc32c.h"

namespace samsa::storage {

using protocol::BatchHeader;

namespace {

constexpr int16_t kSnapshotVersion = 1;
constexpr size_t kSnapshotHeader = 2 + 4 + 4;  // version, crc, count
// pid, epoch, last seq, last offset, offset delta, timestamp, coordinator epoch, txn first offset
constexpr size_t kSnapshotEntry = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
constexpr size_t kAbortedEntry = 2 + 8 * 4;

// The last sequence of a batch: sequences wrap from INT32_MAX to 0.
int32_t last_sequence(const BatchHeader& h) {
  int64_t last = int64_t{h.base_sequence} + h.last_offset_delta;
  return last > INT32_MAX ? static_cast<int32_t>(last - INT32_MAX - 1) : static_cast<int32_t>(last);
}

bool in_sequence(int32_t last_seq, int32_t next_seq) {
  return next_seq == last_seq + int64_t{1} || (last_seq == INT32_MAX && next_seq == 0);
}

}  // namespace

const ProducerEntry* ProducerState::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

ProducerCheck ProducerState::check(const BatchHeader& h) const {
  ProducerCheck out;
  const ProducerEntry* e = find(h.producer_id);
  if (!e) return out;  // unknown producer: any sequence is accepted
  if (h.producer_epoch < e->epoch) {
    out.error = ErrorCode::INVALID_PRODUCER_EPOCH;
    return out;
  }
  if (h.producer_epoch > e->epoch) {
    // A bumped epoch restarts sequences at 0 (unless the old one was never seen).
    if (h.base_sequence != 0 && e->epoch >= 0 && !e->batches.empty())
      out.error = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
    return out;
  }
  if (h.base_sequence < 0) {
    // Broker-written transactional batches (TxnOffsetCommit) carry no sequence.
    if (!h.is_transactional() && e->current_txn_first_offset >= 0) out.error = ErrorCode::INVALID_TXN_STATE;
    return out;
  }
  const int32_t last = last_sequence(h);
  for (const auto& b : e->batches) {
    if (b.first_seq == h.base_sequence && b.last_seq == last) {
      out.duplicate = b;
      return out;
    }
  }
  if (!h.is_transactional() && e->current_txn_first_offset >= 0) {
    out.error = ErrorCode::INVALID_TXN_STATE;
    return out;
  }
  if (!e->batches.empty() && !in_sequence(e->batches.back().last_seq, h.base_sequence))
    out.error = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
  return out;
}

ErrorCode ProducerState::check_marker(int64_t producer_id, int16_t epoch) const {
  const ProducerEntry* e = find(producer_id);
  if (e && epoch < e->epoch) return ErrorCode::INVALID_PRODUCER_EPOCH;
  return ErrorCode::NONE;
}

std::optional<AbortedTxn> ProducerState::on_append(const BatchHeader& h, TxnMarker marker, int64_t now_ms) {
  if (h.producer_id < 0) return std::nullopt;
  ProducerEntry& e = producers_[h.producer_id];
  e.producer_id = h.producer_id;
  e.last_timestamp = now_ms;
  if (h.producer_epoch > e.epoch) {
    e.epoch = h.producer_epoch;
    e.batches.clear();
  }
  if (h.is_control()) {
    std::optional<AbortedTxn> done;
    if (e.current_txn_first_offset >= 0 && marker == TxnMarker::abort) {
      AbortedTxn a{h.producer_id, e.current_txn_first_offset, h.base_offset, -1};
      e.current_txn_first_offset = -1;
      // The LSO right after the marker: the oldest transaction still open.
      a.last_stable_offset = first_unstable_offset().value_or(h.base_offset + 1);
      add_aborted(a);
      done = a;
    }
    e.current_txn_first_offset = -1;
    return done;
  }
  if (h.is_transactional() && e.current_txn_first_offset < 0) e.current_txn_first_offset = h.base_offset;
  if (h.base_sequence >= 0) {
    e.batches.push_back(ProducerBatch{h.base_sequence, last_sequence(h), h.base_offset, h.last_offset(),
                                      h.max_timestamp});
    while (e.batches.size() > kMaxCachedBatches) e.batches.pop_front();
  }
  return std::nullopt;
}

std::optional<int64_t> ProducerState::first_unstable_offset() const {
  std::optional<int64_t> out;
  for (const auto& [id, e] : producers_) {
    if (e.current_txn_first_offset >= 0 && (!out || e.current_txn_first_offset < *out))
      out = e.current_txn_first_offset;
  }
  return out;
}

std::vector<AbortedTxn> ProducerState::aborted_in(int64_t from, int64_t to) const {
  std::vector<AbortedTxn> out;
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), from,
                             [](const AbortedTxn& a, int64_t o) { return a.last_offset < o; });
  for (; it != aborted_.end(); ++it) {
    if (it->first_offset < to) out.push_back(*it);
  }
  return out;
}

void ProducerState::add_aborted(const AbortedTxn& a) {
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), a.last_offset,
                             [](const AbortedTxn& x, int64_t o) { return x.last_offset < o; });
  if (it != aborted_.end() && it->last_offset == a.last_offset) return;
  aborted_.insert(it, a);
}

size_t ProducerState::expire(int64_t now_ms, int64_t expiration_ms) {
  return std::erase_if(producers_, [&](const auto& kv) {
    const ProducerEntry& e = kv.second;
    return e.current_txn_first_offset < 0 && now_ms - e.last_timestamp > expiration_ms;
  });
}

void ProducerState::drop_aborted_below(int64_t log_start_offset) {
  std::erase_if(aborted_, [&](const AbortedTxn& a) { return a.last_offset < log_start_offset; });
}

void ProducerState::drop_aborted_from(int64_t offset) {
  std::erase_if(aborted_, [&](const AbortedTxn& a) { return a.last_offset >= offset; });
}

// ---- snapshots ------------------------------------------------------------------------

protocol::Bytes ProducerState::encode_snapshot() const {
  protocol::Bytes out(kSnapshotHeader + producers_.size() * kSnapshotEntry);
  uint8_t* p = out.data();
  protocol::store_be16(p, kSnapshotVersion);
  protocol::store_be32(p + 6, static_cast<int32_t>(producers_.size()));
  uint8_t* q = p + kSnapshotHeader;
  for (const auto& [id, e] : producers_) {
    ProducerBatch last = e.batches.empty() ? ProducerBatch{} : e.batches.back();
    protocol::store_be64(q, id);
    protocol::store_be16(q + 8, e.epoch);
    protocol::store_be32(q + 10, last.last_seq);
    protocol::store_be64(q + 14, last.last_offset);
    protocol::store_be32(q + 22, static_cast<int32_t>(last.last_offset - last.first_offset));
    protocol::store_be64(q + 26, e.last_timestamp);
    protocol::store_be32(q + 34, e.coordinator_epoch);
    protocol::store_be64(q + 38, e.current_txn_first_offset);
    q += kSnapshotEntry;
  }
  protocol::store_be32(p + 2, static_cast<int32_t>(crc32c(p + 6, out.size() - 6)));
  return out;
}

std::optional<std::map<int64_t, ProducerEntry>> ProducerState::decode_snapshot(std::span<const uint8_t> bytes) {
  if (bytes.size() < kSnapshotHeader) return std::nullopt;
  const uint8_t* p = bytes.data();
  if (protocol::load_be16(p) != kSnapshotVersion) return std::nullopt;
  if (static_cast<uint32_t>(protocol::load_be32(p + 2)) != crc32c(p + 6, bytes.size() - 6)) return std::nullopt;
  int32_t count = protocol::load_be32(p + 6);
  if (count < 0 || (bytes.size() - kSnapshotHeader) != static_cast<size_t>(count) * kSnapshotEntry)
    return std::nullopt;
  std::map<int64_t, ProducerEntry> out;
  const uint8_t* q = p + kSnapshotHeader;
  for (int32_t i = 0; i < count; ++i, q += kSnapshotEntry) {
    ProducerEntry e;
    e.producer_id = protocol::load_be64(q);
    e.epoch = protocol::load_be16(q + 8);
    int32_t last_seq = protocol::load_be32(q + 10);
    int64_t last_offset = protocol::load_be64(q + 14);
    int32_t delta = protocol::load_be32(q + 22);
    e.last_timestamp = protocol::load_be64(q + 26);
    e.coordinator_epoch = protocol::load_be32(q + 34);
    e.current_txn_first_offset = protocol::load_be64(q + 38);
    if (last_seq >= 0 && last_offset >= 0 && delta >= 0) {
      int64_t first_seq = int64_t{last_seq} - delta;
      if (first_seq < 0) first_seq += int64_t{INT32_MAX} + 1;
      e.batches.push_back(ProducerBatch{static_cast<int32_t>(first_seq), last_seq, last_offset - delta, last_offset,
                                        e.last_timestamp});
    }
    out[e.producer_id] = std::move(e);
  }
  return out;
}

protocol::Bytes ProducerState::encode_aborted(const AbortedTxn& a) {
  protocol::Bytes out(kAbortedEntry);
  protocol::store_be16(out.data(), 0);
  protocol::store_be64(out.data() + 2, a.producer_id);
  protocol::store_be64(out.data() + 10, a.first_offset);
  protocol::store_be64(out.data() + 18, a.last_offset);
  protocol::store_be64(out.data() + 26, a.last_stable_offset);
  return out;
}

std::vector<AbortedTxn> ProducerState::decode_aborted(std::span<const uint8_t> bytes) {
  std::vector<AbortedTxn> out;
  for (size_t at = 0; at + kAbortedEntry <= bytes.size(); at += kAbortedEntry) {
    const uint8_t* q = bytes.data() + at;
    if (protocol::load_be16(q) != 0) break;
    AbortedTxn a{protocol::load_be64(q + 2), protocol::load_be64(q + 10), protocol::load_be64(q + 18),
                 protocol::load_be64(q + 26)};
    if (a.first_offset < 0 || a.last_offset < a.first_offset) break;
    out.push_back(a);
  }
  return out;
}

}  // namespace samsa::storage
