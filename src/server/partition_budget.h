// How many partitions this broker can keep open. Every open partition holds at
// least one descriptor (its active segment's .log; sealed segments hold one
// each too) and two memory maps (its offset and time indexes), so beyond the
// process's open-files limit or the kernel's vm.max_map_count partitions would
// be created but never open. The budget is computed once at start, after the
// broker raised its soft open-files limit to the hard one; the controller
// refuses topic and partition creation beyond it (POLICY_VIOLATION).
//
// Stateless; any thread.
#pragma once
#include <cstdint>
#include <string>

namespace samsa::server {

struct PartitionBudget {
  int64_t max_partitions = 0;  // 0: no limit known
  std::string reason;          // what bounds it, for error messages
};

// Descriptors kept for everything that is not a partition: connections, the
// metadata log, checkpoint and index files opened for a moment, the cleaner.
int64_t reserved_descriptors(int64_t open_files);

// From the open-files limit and vm.max_map_count (either <= 0: unknown).
PartitionBudget partition_budget(int64_t open_files, int64_t max_map_count);

// The current soft RLIMIT_NOFILE and /proc/sys/vm/max_map_count (-1 if unknown).
int64_t current_open_files_limit();
int64_t current_max_map_count();

}  // namespace samsa::server
