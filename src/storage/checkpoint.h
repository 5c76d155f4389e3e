// Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, replication-offset-checkpoint):
//
//   0                      <- version
//   2                      <- number of entries
//   my.topic 0 1234        <- "<topic> <partition> <offset>", one per line
//   other-topic 3 0
//
// Written crash-safely (tmp file, fdatasync, rename, directory fsync). The
// reader treats the file as untrusted input: the entry count is bounded by the
// file size and every field is checked.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "storage/env.h"
#include "storage/topic_partition.h"

namespace samsa::storage {

using OffsetMap = std::map<TopicPartition, int64_t>;

std::string format_offset_checkpoint(const OffsetMap& offsets);
Result<OffsetMap> parse_offset_checkpoint(std::string_view text);

Status write_offset_checkpoint(Env* env, const std::string& path, const OffsetMap& offsets);
// A missing file is an empty map; a malformed one is Corruption.
Result<OffsetMap> read_offset_checkpoint(Env* env, const std::string& path);

}  // namespace samsa::storage
