#include "server/partition_budget.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <spdlog/spdlog.h>

#include "server/broker.h"

namespace samsa::server {

namespace {
constexpr int64_t kReservedMaps = 1024;      // the broker's own mappings (libraries, stacks, heaps)
constexpr int64_t kMapsPerPartition = 2;     // offset index + time index of the active segment
constexpr int kShutdownReserveDescriptors = 16;
}  // namespace

int64_t reserved_descriptors(int64_t open_files) {
  return std::clamp<int64_t>(open_files / 8, 64, 4096);
}

PartitionBudget partition_budget(int64_t open_files, int64_t max_map_count) {
  PartitionBudget b;
  if (open_files > 0) {
    b.max_partitions = std::max<int64_t>(0, open_files - reserved_descriptors(open_files));
    b.reason = "the open-files limit is " + std::to_string(open_files) + " and each partition holds a descriptor; " +
               "raise it with `ulimit -n`";
  }
  if (max_map_count > 0) {
    int64_t by_maps = std::max<int64_t>(0, (max_map_count - kReservedMaps) / kMapsPerPartition);
    if (b.reason.empty() || by_maps < b.max_partitions) {
      b.max_partitions = by_maps;
      b.reason = "vm.max_map_count is " + std::to_string(max_map_count) +
                 " and each partition maps two index files; raise it with sysctl";
    }
  }
  // A budget of 0 would refuse even the internal topics: keep at least one
  // partition so the error is about the topic being created.
  if (!b.reason.empty()) b.max_partitions = std::max<int64_t>(b.max_partitions, 1);
  return b;
}

int64_t current_open_files_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return -1;
  return static_cast<int64_t>(lim.rlim_cur);
}

int64_t current_max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  int64_t n = -1;
  if (!(in >> n)) return -1;
  return n;
}

void Broker::apply_partition_budget(cluster::ControllerSettings& cs) {
  auto budget = partition_budget(current_open_files_limit(), current_max_map_count());
  cs.max_partitions = budget.max_partitions;
  cs.max_partitions_reason = budget.reason;
  if (budget.max_partitions > 0)
    spdlog::info("this broker can hold at most {} partitions ({})", budget.max_partitions, budget.reason);
  // Descriptors held back so that closing the logs and writing the
  // clean-shutdown marker still work when clients used up everything else.
  for (int i = 0; i < kShutdownReserveDescriptors; ++i) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    reserve_fds_.push_back(fd);
  }
}

void Broker::release_descriptor_reserve() {
  for (int fd : reserve_fds_) ::close(fd);
  reserve_fds_.clear();
}

}  // namespace samsa::server
