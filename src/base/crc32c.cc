#include "base/crc32c.h"

#include <isa-l/crc.h>

namespace samsa {

uint32_t crc32c(const void* data, size_t len, uint32_t crc) {
  // ISA-L's crc32_iscsi works on the non-inverted register; standard CRC32C
  // inverts on the way in and out.
  return ~crc32_iscsi(static_cast<unsigned char*>(const_cast<void*>(data)), static_cast<int>(len), ~crc);
}

}  // namespace samsa
