#include "coordinator/placement.h"

#include <climits>

namespace samsa::coordinator {

namespace {

// Decodes one UTF-8 sequence at s[i]; advances i. Returns U+FFFD on bad input.
uint32_t next_code_point(std::string_view s, size_t& i) {
  auto b0 = static_cast<uint8_t>(s[i++]);
  if (b0 < 0x80) return b0;
  int extra = b0 >= 0xF0 && b0 < 0xF8 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC0 ? 1 : -1;
  if (extra < 0) return 0xFFFD;
  uint32_t cp = b0 & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<uint8_t>(s[i]) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (static_cast<uint8_t>(s[i++]) & 0x3F);
  }
  return cp > 0x10FFFF ? 0xFFFD : cp;
}

}  // namespace

int32_t java_string_hashcode(std::string_view utf8) {
  uint32_t h = 0;  // unsigned: Java's int arithmetic wraps
  for (size_t i = 0; i < utf8.size();) {
    uint32_t cp = next_code_point(utf8, i);
    if (cp >= 0x10000) {  // surrogate pair
      cp -= 0x10000;
      h = 31 * h + (0xD800 + (cp >> 10));
      h = 31 * h + (0xDC00 + (cp & 0x3FF));
    } else {
      h = 31 * h + cp;
    }
  }
  return static_cast<int32_t>(h);
}

int32_t offsets_partition_for(std::string_view group_id, int32_t partitions) {
  int32_t h = java_string_hashcode(group_id);
  int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  return partitions > 0 ? a % partitions : 0;
}

}  // namespace samsa::coordinator
