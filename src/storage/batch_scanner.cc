#include "storage/batch_scanner.h"

#include <algorithm>
#include <string>

#include "storage/log_format.h"

namespace samsa::storage {

const char* check_batch_header(const protocol::BatchHeader& h, uint64_t available) {
  if (h.length < format::kMinBatchLength) return "batch length too small";
  if (h.total_size() > available) return "batch extends past the end of the data";
  if (h.magic != format::kMagic) return "unsupported magic";
  if (h.last_offset_delta < 0) return "negative last offset delta";
  if (h.base_offset < 0) return "negative base offset";
  return "";
}

BatchInfo batch_info(const protocol::BatchHeader& h, uint64_t position) {
  return BatchInfo{position, static_cast<uint32_t>(h.total_size()), h.base_offset, h.last_offset(), h.max_timestamp};
}

Result<const uint8_t*> BlockReader::view(uint64_t pos, size_t n) {
  if (pos + n > end_) return Status::corruption("read past end of " + file_.path() + " at " + std::to_string(pos));
  if (pos >= buf_pos_ && pos + n <= buf_pos_ + buf_len_) return buf_.data() + (pos - buf_pos_);
  if (n > buf_.size()) return Status::invalid_argument("view larger than the scan buffer");
  size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size(), end_ - pos));
  auto got = file_.read_at(pos, buf_.first(want));
  if (!got) return got.status();
  buf_pos_ = pos;
  buf_len_ = *got;
  if (*got < n) return Status::corruption("short read of " + file_.path() + " at " + std::to_string(pos));
  return buf_.data();
}

Result<bool> BatchScanner::next(BatchInfo* out, protocol::BatchHeader* header) {
  if (pos_ >= reader_.end()) return false;
  auto p = reader_.view(pos_, format::kBatchHeaderSize);
  if (!p) return p.status();
  auto h = protocol::BatchHeader::parse(*p);
  const char* why = check_batch_header(h, reader_.end() - pos_);
  if (*why != '\0') return Status::corruption(std::string(why) + " at position " + std::to_string(pos_));
  *out = batch_info(h, pos_);
  if (header != nullptr) *header = h;
  pos_ += h.total_size();
  return true;
}

}  // namespace samsa::storage
