// Wire primitives of the Kafka protocol: big-endian integers, (unsigned) varints,
// classic and compact strings/bytes/arrays, UUIDs and tagged-field sections.
//
// Reader never trusts its input: every length and count is checked against the
// bytes that remain before anything is allocated, and a failure latches `ok()`
// to false (later reads return zero values) so generated decoders stay branch-light.
//
// Writer appends to a growable buffer. A `Records` value that refers to file
// ranges (zero-copy fetch) is not copied: the writer records a splice point and
// the network layer later interleaves buffer bytes with sendfile() of the ranges.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace samsa::protocol {

using Bytes = std::vector<uint8_t>;
using Uuid = std::array<uint8_t, 16>;

// Kafka's text form of a Uuid (topic ids, cluster ids): URL-safe base64
// without padding, 22 characters.
std::string to_base64url(const Uuid& id);

// An allocator whose value-initialisation is default-initialisation, so a
// byte buffer sized for a socket read is not zero-filled first (that pass over
// every received byte was most of the broker's instructions on produce).
template <typename T>
struct UninitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <typename U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
// A received request frame (without its size prefix).
using FrameBytes = std::vector<uint8_t, UninitAllocator<uint8_t>>;

// A range of an open file sent without copying. `owner` keeps the file open
// until the bytes have left (the protocol layer knows nothing more of disks).
struct FileChunk {
  std::shared_ptr<void> owner;
  int fd = -1;
  int64_t pos = 0;
  uint32_t len = 0;
  bool operator==(const FileChunk& o) const { return fd == o.fd && pos == o.pos && len == o.len; }
};

// The `records` field of Produce/Fetch. Decoded requests hold a view into the
// request frame (valid while the request lives); responses may hold owned bytes
// and/or file chunks, written in order: memory first, then chunks.
struct Records {
  bool is_null = false;
  std::span<const uint8_t> view;   // borrowed bytes (decode)
  Bytes owned;                     // owned bytes (encode); used when non-empty
  std::vector<FileChunk> chunks;   // zero-copy file ranges after the memory bytes

  static Records null() { Records r; r.is_null = true; return r; }
  std::span<const uint8_t> memory() const { return owned.empty() ? view : std::span<const uint8_t>(owned); }
  size_t size() const {
    size_t n = memory().size();
    for (auto& c : chunks) n += c.len;
    return n;
  }
  bool operator==(const Records& o) const {
    auto a = memory(), b = o.memory();
    return is_null == o.is_null && a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()) &&
           chunks == o.chunks;
  }
};

// Unknown tagged fields are kept so a message decoded and re-encoded loses nothing.
struct TaggedField {
  uint32_t tag = 0;
  Bytes data;
  bool operator==(const TaggedField&) const = default;
};
using TaggedFields = std::vector<TaggedField>;

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  explicit Reader(std::span<const uint8_t> s) : Reader(s.data(), s.size()) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* pos() const { return p_; }
  void fail() { ok_ = false; p_ = end_; }

  bool need(size_t n) {
    if (!ok_ || remaining() < n) { fail(); return false; }
    return true;
  }
  template <typename T>
  T be() {
    if (!need(sizeof(T))) return T{};
    std::make_unsigned_t<T> v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<std::make_unsigned_t<T>>((v << 8) | p_[i]);
    p_ += sizeof(T);
    return static_cast<T>(v);
  }
  bool boolean() { return i8() != 0; }
  int8_t i8() { return be<int8_t>(); }
  int16_t i16() { return be<int16_t>(); }
  int32_t i32() { return be<int32_t>(); }
  int64_t i64() { return be<int64_t>(); }
  uint16_t u16() { return be<uint16_t>(); }
  uint32_t u32() { return be<uint32_t>(); }
  double f64() { uint64_t u = be<uint64_t>(); double d; std::memcpy(&d, &u, 8); return d; }
  uint32_t uvarint();
  int32_t varint();        // zig-zag
  int64_t varlong();       // zig-zag
  uint64_t uvarlong();
  Uuid uuid();
  std::span<const uint8_t> raw(size_t n) {
    if (!need(n)) return {};
    auto s = std::span<const uint8_t>(p_, n);
    p_ += n;
    return s;
  }
  void skip(size_t n) { raw(n); }

  // Length-prefixed values. `flexible` selects compact (uvarint length + 1).
  // Returns -1 for null; fails (and returns -1) when the length is invalid.
  int64_t length(bool flexible, bool is_bytes);
  std::string string(bool flexible);
  std::optional<std::string> nstring(bool flexible);
  Bytes bytes(bool flexible);
  std::optional<Bytes> nbytes(bool flexible);
  Records records(bool flexible);
  // Array count; -1 for null. Bounded by remaining bytes times `min_elem_size`.
  int32_t array_count(bool flexible, size_t min_elem_size = 1);

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

struct Splice {
  size_t at;  // byte position in the writer's buffer where the chunk goes
  FileChunk chunk;
};

class Writer {
 public:
  Writer() { buf_.reserve(256); }
  Bytes& buffer() { return buf_; }
  const Bytes& buffer() const { return buf_; }
  std::vector<Splice>& splices() { return splices_; }
  // Total encoded size including spliced file bytes.
  size_t total_size() const {
    size_t n = buf_.size();
    for (auto& s : splices_) n += s.chunk.len;
    return n;
  }
  size_t size() const { return buf_.size(); }

  template <typename T>
  void be(T v) {
    auto u = static_cast<std::make_unsigned_t<T>>(v);
    uint8_t tmp[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) tmp[i] = static_cast<uint8_t>(u >> (8 * (sizeof(T) - 1 - i)));
    buf_.insert(buf_.end(), tmp, tmp + sizeof(T));
  }
  void boolean(bool v) { i8(v ? 1 : 0); }
  void i8(int8_t v) { buf_.push_back(static_cast<uint8_t>(v)); }
  void i16(int16_t v) { be(v); }
  void i32(int32_t v) { be(v); }
  void i64(int64_t v) { be(v); }
  void u16(uint16_t v) { be(v); }
  void u32(uint32_t v) { be(v); }
  void f64(double d) { uint64_t u; std::memcpy(&u, &d, 8); be(u); }
  void uvarint(uint32_t v);
  void uvarlong(uint64_t v);
  void varint(int32_t v) { uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31)); }
  void varlong(int64_t v) { uvarlong((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void uuid(const Uuid& u) { raw(u.data(), u.size()); }
  void raw(const void* p, size_t n) {
    auto b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void raw(std::span<const uint8_t> s) { raw(s.data(), s.size()); }

  // Length prefixes; n == -1 encodes null. Strings use int16 in classic
  // versions, bytes and arrays int32; flexible versions use uvarint(n + 1).
  void str_length(bool flexible, int64_t n) {
    if (flexible) uvarint(static_cast<uint32_t>(n + 1)); else i16(static_cast<int16_t>(n));
  }
  void bytes_length(bool flexible, int64_t n) {
    if (flexible) uvarint(static_cast<uint32_t>(n + 1)); else i32(static_cast<int32_t>(n));
  }
  void string(bool flexible, std::string_view s) { str_length(flexible, static_cast<int64_t>(s.size())); raw(s.data(), s.size()); }
  void nstring(bool flexible, const std::optional<std::string>& s) {
    if (!s) str_length(flexible, -1); else string(flexible, *s);
  }
  void bytes(bool flexible, std::span<const uint8_t> b) { bytes_length(flexible, static_cast<int64_t>(b.size())); raw(b); }
  void nbytes(bool flexible, const std::optional<Bytes>& b) {
    if (!b) bytes_length(flexible, -1); else bytes(flexible, *b);
  }
  void records(bool flexible, const Records& r);
  void array_count(bool flexible, int64_t n) { bytes_length(flexible, n); }

  // Overwrite a big-endian int32 at `pos` (e.g. a size prefix written last).
  void patch_i32(size_t pos, int32_t v) {
    for (int i = 0; i < 4; ++i) buf_[pos + i] = static_cast<uint8_t>(static_cast<uint32_t>(v) >> (24 - 8 * i));
  }

 private:
  Bytes buf_;
  std::vector<Splice> splices_;
};

// Size in bytes of v as an unsigned varint.
inline size_t uvarint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) { v >>= 7; ++n; }
  return n;
}

}  // namespace samsa::protocol
