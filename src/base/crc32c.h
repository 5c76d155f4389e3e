// CRC32C (Castagnoli), as used by Kafka record batches. Backed by ISA-L.
#pragma once
#include <cstddef>
#include <cstdint>

namespace samsa {

// Standard CRC32C of `len` bytes, continuing from `crc` (0 to start).
uint32_t crc32c(const void* data, size_t len, uint32_t crc = 0);

}  // namespace samsa
