#include "protocol/wire.h"

namespace samsa::protocol {

std::string to_base64url(const Uuid& id) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : id) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(tbl[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(tbl[(acc << (6 - bits)) & 63]);
  return out;
}

uint64_t Reader::uvarlong() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (!need(1)) return 0;
    uint8_t b = *p_++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  fail();
  return 0;
}

uint32_t Reader::uvarint() {
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1)) return 0;
    uint8_t b = *p_++;
    if (shift == 28 && (b & 0xf0)) { fail(); return 0; }
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  fail();
  return 0;
}

int32_t Reader::varint() {
  uint32_t u = uvarint();
  return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

int64_t Reader::varlong() {
  uint64_t u = uvarlong();
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

Uuid Reader::uuid() {
  Uuid u{};
  auto s = raw(16);
  if (ok()) std::memcpy(u.data(), s.data(), 16);
  return u;
}

int64_t Reader::length(bool flexible, bool is_bytes) {
  int64_t n;
  if (flexible) {
    n = static_cast<int64_t>(uvarint()) - 1;
  } else {
    n = is_bytes ? i32() : i16();
  }
  if (!ok()) return -1;
  if (n < -1 || (n > 0 && static_cast<size_t>(n) > remaining())) { fail(); return -1; }
  return n;
}

std::string Reader::string(bool flexible) {
  int64_t n = length(flexible, false);
  if (n <= 0) return {};
  auto s = raw(static_cast<size_t>(n));
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

std::optional<std::string> Reader::nstring(bool flexible) {
  int64_t n = length(flexible, false);
  if (n < 0) return std::nullopt;
  auto s = raw(static_cast<size_t>(n));
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

Bytes Reader::bytes(bool flexible) {
  int64_t n = length(flexible, true);
  if (n <= 0) return {};
  auto s = raw(static_cast<size_t>(n));
  return Bytes(s.begin(), s.end());
}

std::optional<Bytes> Reader::nbytes(bool flexible) {
  int64_t n = length(flexible, true);
  if (n < 0) return std::nullopt;
  auto s = raw(static_cast<size_t>(n));
  return Bytes(s.begin(), s.end());
}

Records Reader::records(bool flexible) {
  Records r;
  int64_t n = length(flexible, true);
  if (n < 0) { r.is_null = true; return r; }
  r.view = raw(static_cast<size_t>(n));
  return r;
}

int32_t Reader::array_count(bool flexible, size_t min_elem_size) {
  int64_t n = flexible ? static_cast<int64_t>(uvarint()) - 1 : i32();
  if (!ok()) return -1;
  if (n < -1) { fail(); return -1; }
  if (n > 0 && static_cast<uint64_t>(n) * (min_elem_size ? min_elem_size : 1) > remaining()) { fail(); return -1; }
  return static_cast<int32_t>(n);
}

void Writer::uvarint(uint32_t v) {
  while (v >= 0x80) { buf_.push_back(static_cast<uint8_t>(v | 0x80)); v >>= 7; }
  buf_.push_back(static_cast<uint8_t>(v));
}

void Writer::uvarlong(uint64_t v) {
  while (v >= 0x80) { buf_.push_back(static_cast<uint8_t>(v | 0x80)); v >>= 7; }
  buf_.push_back(static_cast<uint8_t>(v));
}

void Writer::records(bool flexible, const Records& r) {
  if (r.is_null) { bytes_length(flexible, -1); return; }
  bytes_length(flexible, static_cast<int64_t>(r.size()));
  raw(r.memory());
  for (auto& c : r.chunks) splices_.push_back(Splice{buf_.size(), c});
}

}  // namespace samsa::protocol
