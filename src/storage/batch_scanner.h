// Walking the record batches of a .log file without copying more than needed.
//
// BlockReader serves small views of a file range from a caller-provided buffer,
// refilling it with one pread when a view falls outside it (so scanning many
// small batches costs one syscall per buffer, not per batch).
// BatchScanner walks batch headers (61 bytes each) from a batch boundary and
// checks their structure; it never reads record bodies.
//
// Both are short-lived stack objects of the thread that owns the segment.
#pragma once
#include <cstdint>
#include <span>

#include "protocol/batch_header.h"
#include "storage/env.h"

namespace samsa::storage {

// What the log layer needs to know about one batch (from its header only).
struct BatchInfo {
  uint64_t position = 0;  // of the batch's first byte in the .log
  uint32_t size = 0;      // whole batch, batchLength + 12
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = -1;
  uint64_t end() const { return position + size; }
};

// Structural checks of a header that need no body: magic 2, batchLength >= 49,
// lastOffsetDelta >= 0, and the batch ends within `available` bytes.
// Returns an empty string if fine, else why not.
const char* check_batch_header(const protocol::BatchHeader& h, uint64_t available);
BatchInfo batch_info(const protocol::BatchHeader& h, uint64_t position);

class BlockReader {
 public:
  // Serves [0, end) of `file` through `buffer`.
  BlockReader(const File& file, uint64_t end, std::span<uint8_t> buffer)
      : file_(file), end_(end), buf_(buffer) {}

  // Pointer to the n bytes at pos (n <= buffer size), valid until the next call.
  // Corruption if [pos, pos+n) goes past `end` or the file is shorter.
  Result<const uint8_t*> view(uint64_t pos, size_t n);
  size_t capacity() const { return buf_.size(); }
  uint64_t end() const { return end_; }

 private:
  const File& file_;
  uint64_t end_;
  std::span<uint8_t> buf_;
  uint64_t buf_pos_ = 0;
  size_t buf_len_ = 0;
};

class BatchScanner {
 public:
  // Scans [start, end) of `file`; `start` must be a batch boundary.
  BatchScanner(const File& file, uint64_t start, uint64_t end, std::span<uint8_t> buffer)
      : reader_(file, end, buffer), pos_(start) {}

  // The next batch's header: true and *out set, false at `end`, or Corruption
  // (with position_of_error() set) if the bytes there are not a batch header.
  Result<bool> next(BatchInfo* out, protocol::BatchHeader* header = nullptr);
  uint64_t position() const { return pos_; }

 private:
  BlockReader reader_;
  uint64_t pos_;
};

}  // namespace samsa::storage
