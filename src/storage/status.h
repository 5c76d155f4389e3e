// Errors of the storage layer as values. A Status is either ok or carries a
// kind, the errno of the failed system call (if any) and a short message that
// names the file and operation. Result<T> is a value or a non-ok Status.
//
// No exceptions: every fallible storage function returns one of these, and the
// [[nodiscard]] makes the compiler insist that callers look at them.
#pragma once
#include <cassert>
#include <optional>
#include <string>
#include <utility>

#include "base/error_code.h"

namespace samsa::storage {

class [[nodiscard]] Status {
 public:
  enum class Kind : uint8_t {
    kOk,
    kIoError,          // a system call failed (errno says which way)
    kCorruption,       // bytes on disk are not what the format says
    kNotFound,         // file or directory does not exist
    kInvalidArgument,  // caller broke a precondition
    kOffsetOutOfRange, // a requested offset is outside [log start, log end]
    kClosed,           // the object was closed, removed or failed earlier
  };

  Status() = default;
  static Status ok() { return Status(); }
  static Status io_error(std::string what, int err) { return Status(Kind::kIoError, err, std::move(what)); }
  static Status corruption(std::string what) { return Status(Kind::kCorruption, 0, std::move(what)); }
  static Status not_found(std::string what) { return Status(Kind::kNotFound, 0, std::move(what)); }
  static Status invalid_argument(std::string what) { return Status(Kind::kInvalidArgument, 0, std::move(what)); }
  static Status offset_out_of_range(std::string what) {
    return Status(Kind::kOffsetOutOfRange, 0, std::move(what));
  }
  static Status closed(std::string what) { return Status(Kind::kClosed, 0, std::move(what)); }

  bool is_ok() const { return kind_ == Kind::kOk; }
  explicit operator bool() const { return is_ok(); }
  Kind kind() const { return kind_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

  // The Kafka error a client sees when this status ends a request.
  ErrorCode error_code() const;

 private:
  Status(Kind k, int err, std::string msg) : kind_(k), errno_(err), message_(std::move(msg)) {}
  Kind kind_ = Kind::kOk;
  int errno_ = 0;
  std::string message_;
};

// ENOSPC / EDQUOT: the disk is full. The only I/O error after which a log may
// keep working (once space is freed); any other takes its log dir offline.
bool is_disk_full(const Status& st);

// A value or an error. Invariant: exactly one of value_/status_ is meaningful;
// status_ is never ok when value_ is empty.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.is_ok()); }  // NOLINT

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(value_); return *value_; }
  const T& value() const& { assert(value_); return *value_; }
  T&& value() && { assert(value_); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace samsa::storage

// Early-return helpers; they keep the error paths one line each.
#define SAMSA_RETURN_IF_ERROR(expr)             \
  do {                                          \
    ::samsa::storage::Status _st = (expr);      \
    if (!_st.is_ok()) return _st;               \
  } while (0)

#define SAMSA_CONCAT_INNER(a, b) a##b
#define SAMSA_CONCAT(a, b) SAMSA_CONCAT_INNER(a, b)
#define SAMSA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
#define SAMSA_ASSIGN_OR_RETURN(lhs, expr) SAMSA_ASSIGN_OR_RETURN_IMPL(SAMSA_CONCAT(_res_, __LINE__), lhs, expr)
