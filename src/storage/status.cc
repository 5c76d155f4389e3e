#include "storage/status.h"

#include <cerrno>

#include <cstring>

namespace samsa::storage {

bool is_disk_full(const Status& st) {
  return st.kind() == Status::Kind::kIoError && (st.sys_errno() == ENOSPC || st.sys_errno() == EDQUOT);
}

std::string Status::to_string() const {
  const char* kind = "OK";
  switch (kind_) {
    case Kind::kOk: return "OK";
    case Kind::kIoError: kind = "IO error"; break;
    case Kind::kCorruption: kind = "Corruption"; break;
    case Kind::kNotFound: kind = "Not found"; break;
    case Kind::kInvalidArgument: kind = "Invalid argument"; break;
    case Kind::kOffsetOutOfRange: kind = "Offset out of range"; break;
    case Kind::kClosed: kind = "Closed"; break;
  }
  std::string s = std::string(kind) + ": " + message_;
  if (errno_ != 0) s += std::string(" (") + std::strerror(errno_) + ")";
  return s;
}

ErrorCode Status::error_code() const {
  switch (kind_) {
    case Kind::kOk: return ErrorCode::NONE;
    case Kind::kOffsetOutOfRange: return ErrorCode::OFFSET_OUT_OF_RANGE;
    case Kind::kCorruption: return ErrorCode::CORRUPT_MESSAGE;
    case Kind::kInvalidArgument: return ErrorCode::INVALID_REQUEST;
    case Kind::kNotFound:
    case Kind::kIoError:
    case Kind::kClosed: return ErrorCode::KAFKA_STORAGE_ERROR;
  }
  return ErrorCode::UNKNOWN_SERVER_ERROR;
}

}  // namespace samsa::storage
