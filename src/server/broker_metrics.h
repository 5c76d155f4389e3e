// The broker's own metrics in Kafka's JMX names as the Prometheus JMX exporter
// shows them: BrokerTopicMetrics (bytes and messages in/out per topic),
// errors per API, and the per-shard gauges computed at scrape time (log size
// and segments per partition, ReplicaManager and controller counts).
//
// Threads: record_*() on the shard thread that handled the request (its
// registry); shard_gauges() on the shard that owns the partitions it walks.
#pragma once
#include <cstdint>
#include <string_view>

#include "base/error_code.h"
#include "observe/metrics.h"

namespace samsa::server {

class Broker;
struct Shard;

// A produce of `messages` records in `bytes` bytes to `topic` was appended.
void record_produced(std::string_view topic, int64_t bytes, int64_t messages);
// A produce to `topic` failed (FailedProduceRequestsPerSec).
void record_produce_failed(std::string_view topic);
// `bytes` of `topic` were put in a fetch response.
void record_fetched(std::string_view topic, int64_t bytes, bool from_follower);
// An error code (NONE included) in a response of `api_key`.
void record_response_error(int16_t api_key, ErrorCode error);

// Gauges of shard `s`'s partitions, added to `out`. Per-partition series only
// when `per_partition` (the cardinality bound); counts always.
void add_shard_gauges(Broker& broker, Shard& s, bool per_partition, observe::Snapshot& out);

// Broker-wide gauges that have no shard (controller, log dirs, readiness); added once per scrape.
void add_broker_gauges(Broker& broker, observe::Snapshot& out);

}  // namespace samsa::server
