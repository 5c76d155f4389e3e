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
#include <vector>

#include "storage/env.h"
#include "storage/topic_partition.h"

namespace samsa::storage {

using OffsetMap = std::map<TopicPartition, int64_t>;

// Shared by every file in Kafka's checkpoint text layout (the offset
// checkpoints here, leader-epoch-checkpoint in leader_epoch_cache.h):
// the entry lines after checking the version line (kCheckpointVersion) and
// that the count line matches the number of lines. Corruption otherwise.
Result<std::vector<std::string_view>> checkpoint_entry_lines(std::string_view text);
// The space-separated fields of one entry line.
std::vector<std::string_view> checkpoint_fields(std::string_view line);
// A whole field as a decimal integer (no sign for unsigned, no spaces).
bool parse_checkpoint_int(std::string_view s, int32_t* out);
bool parse_checkpoint_int(std::string_view s, int64_t* out);

std::string format_offset_checkpoint(const OffsetMap& offsets);
Result<OffsetMap> parse_offset_checkpoint(std::string_view text);

Status write_offset_checkpoint(Env* env, const std::string& path, const OffsetMap& offsets);
// A missing file is an empty map; a malformed one is Corruption.
Result<OffsetMap> read_offset_checkpoint(Env* env, const std::string& path);

}  // namespace samsa::storage
