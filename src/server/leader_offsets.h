// Offsets of partitions this broker does not lead, from their leaders: one
// ListOffsets (v7, read_uncommitted) per leader over the shard's inter-broker
// connections (Broker::call_broker), all leaders at once, so a leader that
// does not answer costs one timeout, not one per leader. Used by the consumer
// lag (high watermarks of partitions led elsewhere) and the console (first and
// last offsets).
//
// Threads: runs on `here`, the shard it is called from.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/types.h"

namespace samsa::server {

class Broker;
struct Shard;

// Per partition: the leader's error code and offset. Partitions whose leader
// is this broker or unknown, or did not answer in time, are missing.
using LeaderOffsets = std::unordered_map<TopicPartition, std::pair<int16_t, int64_t>, TopicPartitionHash>;

// `timestamp`: -1 the latest offset (the high watermark), -2 the earliest.
asio::awaitable<LeaderOffsets> offsets_at_leaders(Broker& broker, Shard& here, std::vector<TopicPartition> tps,
                                                  int64_t timestamp, std::chrono::milliseconds timeout);

}  // namespace samsa::server
