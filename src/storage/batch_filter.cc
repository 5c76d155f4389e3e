#include "storage/batch_filter.h"

#include <cassert>

namespace samsa::storage {

namespace b = protocol::batch;
using protocol::BatchHeader;

namespace {

std::string_view as_view(std::span<const uint8_t> s) {
  return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
}

bool has_delete_horizon(const BatchHeader& h) { return (h.attributes & b::kDeleteHorizonBit) != 0; }

}  // namespace

bool KeyOffsetMap::put(std::span<const uint8_t> key, int64_t offset) {
  auto it = map_.find(as_view(key));
  if (it != map_.end()) {
    assert(offset >= it->second);
    it->second = offset;
    return true;
  }
  const size_t cost = key.size() + kEntryOverhead;
  if (bytes_ + cost > max_bytes_) return false;
  map_.emplace(std::string(as_view(key)), offset);
  bytes_ += cost;
  return true;
}

int64_t KeyOffsetMap::get(std::span<const uint8_t> key) const {
  auto it = map_.find(as_view(key));
  return it == map_.end() ? -1 : it->second;
}

protocol::Bytes empty_batch_like(std::span<const uint8_t> batch) {
  assert(batch.size() >= b::kHeaderSize);
  protocol::Bytes out(batch.begin(), batch.begin() + b::kHeaderSize);
  const BatchHeader h = BatchHeader::parse(out.data());
  const int16_t keep_bits = b::kTimestampTypeBit | b::kTransactionalBit | b::kControlBit;
  protocol::store_be32(out.data() + b::kLength, static_cast<int32_t>(b::kHeaderSize - b::kLogOverhead));
  protocol::store_be16(out.data() + b::kAttributes, static_cast<int16_t>(h.attributes & keep_bits));
  protocol::store_be64(out.data() + b::kBaseTimestamp, h.max_timestamp);
  protocol::store_be32(out.data() + b::kRecordCount, 0);
  protocol::update_crc(out);
  return out;
}

FilterOutcome filter_batch(std::span<const uint8_t> batch, const FilterContext& ctx) {
  FilterOutcome out;
  const BatchHeader h = BatchHeader::parse(batch.data());
  if (h.is_control() || h.is_transactional()) return out;  // kept whole, see FORMAT.md

  const bool had_horizon = has_delete_horizon(h);
  const bool horizon_passed = had_horizon && ctx.now_ms >= h.base_timestamp;
  std::vector<protocol::Record> records;
  if (ErrorCode e = protocol::decode_records(batch, protocol::kDefaultMaxDecompressed, records); e != ErrorCode::NONE) {
    out.error = e;
    return out;
  }
  std::vector<protocol::Record> kept;
  kept.reserve(records.size());
  bool tombstones = false;
  for (auto& r : records) {
    if (!r.key) continue;  // keyless: not allowed in a compacted log
    if (ctx.map->get(*r.key) > r.offset) continue;  // superseded
    if (!r.value) {
      if (horizon_passed) continue;  // an expired tombstone
      tombstones = true;
    }
    kept.push_back(std::move(r));
  }
  out.records_removed = static_cast<int32_t>(records.size() - kept.size());
  // A horizon already set stays; a new one starts when a tombstone is first kept.
  const int64_t horizon = !tombstones ? -1 : had_horizon ? h.base_timestamp : ctx.now_ms + ctx.delete_retention_ms;
  out.delete_horizon = horizon;
  if (out.records_removed == 0 && (!tombstones || had_horizon)) return out;  // byte-identical
  if (kept.empty()) {
    if (!ctx.keep_empty) {
      out.action = FilterOutcome::Action::drop;
      return out;
    }
    out.action = FilterOutcome::Action::rewrite;
    out.batch = empty_batch_like(batch);
    return out;
  }
  protocol::BatchBuilder builder(h.base_offset);
  builder.set_compression(protocol::compression_from_id(h.compression()).value_or(protocol::Compression::none))
      .set_producer(h.producer_id, h.producer_epoch, h.base_sequence)
      .set_leader_epoch(h.leader_epoch)
      .set_last_offset_delta(h.last_offset_delta);
  if (h.is_log_append_time()) builder.set_log_append_time(h.max_timestamp);
  if (horizon >= 0) builder.set_delete_horizon(horizon);
  for (const auto& r : kept) builder.add_with_offset(r);
  out.action = FilterOutcome::Action::rewrite;
  out.batch = builder.build();
  return out;
}

}  // namespace samsa::storage
