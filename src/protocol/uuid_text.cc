#include "protocol/uuid_text.h"

namespace samsa::protocol {

std::optional<Uuid> from_base64url(std::string_view text) {
  if (text.size() != 22) return std::nullopt;
  Uuid id{};
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < id.size()) id[n++] = static_cast<uint8_t>((acc >> bits) & 0xff);
    }
  }
  if (n != id.size() || to_base64url(id) != text) return std::nullopt;  // trailing bits must be zero
  return id;
}

}  // namespace samsa::protocol
