#include "replication/log_replay.h"

#include <spdlog/spdlog.h>

#include "protocol/batch_header.h"
#include "protocol/record_batch.h"
#include "storage/log.h"

namespace samsa::replication {

ErrorCode for_each_batch(const storage::Log& log, const BatchFn& fn) {
  int64_t offset = log.log_start_offset();
  const int64_t end = log.log_end_offset();
  protocol::Bytes buf;
  while (offset < end) {
    auto rd = log.read(offset, 1 << 20, end, true);
    if (rd.error != ErrorCode::NONE) return rd.error;
    if (rd.chunks.empty()) break;
    buf.clear();
    for (auto& ch : rd.chunks) {
      size_t at = buf.size();
      buf.resize(at + ch.length);
      auto got = ch.file->read_at(ch.position, std::span<uint8_t>(buf.data() + at, ch.length));
      if (!got || *got != ch.length) {
        spdlog::error("replaying {}: read failed{}", log.topic_partition().to_string(),
                      got ? std::string(" (short read)") : ": " + got.status().to_string());
        return ErrorCode::KAFKA_STORAGE_ERROR;
      }
    }
    auto batches = protocol::leading_complete_batches(buf);
    if (batches.empty()) break;
    int64_t next = offset;
    for (auto& b : batches) {
      auto h = protocol::BatchHeader::parse(b.data());
      next = h.base_offset + h.last_offset_delta + 1;
      fn(b);
    }
    if (next <= offset) break;
    offset = next;
  }
  return ErrorCode::NONE;
}

}  // namespace samsa::replication
