#include "coordinator/coordinator_partitions.h"

namespace samsa::coordinator {

bool CoordinatorPartitions::begin_load(const TopicPartition& tp, Epoch epoch) {
  auto it = entries_.find(tp);
  if (it != entries_.end() && epoch <= it->second.epoch) return false;
  entries_[tp] = Entry{epoch, false};
  return true;
}

bool CoordinatorPartitions::complete_load(const TopicPartition& tp, Epoch epoch) {
  auto it = entries_.find(tp);
  if (it == entries_.end() || it->second.epoch != epoch || it->second.loaded) return false;
  it->second.loaded = true;
  return true;
}

bool CoordinatorPartitions::remove(const TopicPartition& tp) { return entries_.erase(tp) != 0; }

ErrorCode CoordinatorPartitions::check(const TopicPartition& tp) const {
  auto it = entries_.find(tp);
  if (it == entries_.end()) return ErrorCode::NOT_COORDINATOR;
  return it->second.loaded ? ErrorCode::NONE : ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
}

std::optional<Epoch> CoordinatorPartitions::serving_epoch(const TopicPartition& tp) const {
  auto it = entries_.find(tp);
  if (it == entries_.end() || !it->second.loaded) return std::nullopt;
  return it->second.epoch;
}

bool CoordinatorPartitions::loading(const TopicPartition& tp, Epoch epoch) const {
  auto it = entries_.find(tp);
  return it != entries_.end() && !it->second.loaded && it->second.epoch == epoch;
}

bool CoordinatorPartitions::any_loading() const {
  for (auto& [_, e] : entries_)
    if (!e.loaded) return true;
  return false;
}

}  // namespace samsa::coordinator
