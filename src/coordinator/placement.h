// Where a group lives: the partition of __consumer_offsets that holds its
// records, chosen exactly as Kafka chooses it (Java's String.hashCode of the
// group id, Utils.abs, modulo the partition count) so a group maps to the same
// partition number on Samsa and on Kafka.
#pragma once
#include <cstdint>
#include <string_view>

namespace samsa::coordinator {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

// Java's String.hashCode over the UTF-16 code units of `utf8` (invalid bytes
// count as U+FFFD, like Java's decoder).
int32_t java_string_hashcode(std::string_view utf8);

// abs(hashCode) % partitions, where abs(INT32_MIN) is 0 (Kafka's Utils.abs).
int32_t offsets_partition_for(std::string_view group_id, int32_t partitions);

}  // namespace samsa::coordinator
