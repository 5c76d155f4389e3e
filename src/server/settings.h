// The broker settings the server code reads, resolved from server.properties
// (cluster::BrokerConfig) once at start-up.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/broker_config.h"
#include "quorum/quorum_config.h"
#include "storage/log_config.h"

namespace samsa::server {

struct ListenerSpec {
  std::string name = "PLAINTEXT";
  std::string host;
  int port = 9092;
  std::string security_protocol = "PLAINTEXT";
  // This listener's advertised.listeners entry; empty host: the bound host
  // (localhost for a wildcard), port 0: the bound port.
  std::string advertised_host;
  int advertised_port = 0;
  // A CONTROLLER listener (controller.listener.names): it serves the quorum
  // RPCs, DescribeQuorum, ApiVersions and the controller APIs only.
  bool controller = false;
};

struct BrokerSettings {
  int32_t node_id = 1;
  std::vector<ListenerSpec> listeners{ListenerSpec{}};
  std::string advertised_host = "localhost";
  int advertised_port = 9092;
  std::vector<std::string> log_dirs{"./data"};
  std::string metadata_log_dir;  // empty: first of log_dirs
  // The metadata quorum (controller.quorum.voters); nullopt: this node is the
  // one voter of its own single-node log, as before the quorum existed.
  std::optional<quorum::QuorumSettings> quorum;
  int shards = 0;                // 0: one per core
  int32_t max_request_bytes = 100 * 1024 * 1024;
  // Connection limits (max.connections, max.connections.per.ip, its overrides
  // as written, host:count; connections.max.idle.ms, which also bounds the time
  // to receive one request completely).
  int32_t max_connections = INT32_MAX;
  int32_t max_connections_per_ip = INT32_MAX;
  std::string max_connections_per_ip_overrides;
  int64_t connections_max_idle_ms = 600000;
  // Client quotas' rate windows (quota.window.num, quota.window.size.seconds).
  int32_t quota_window_num = 11;
  int32_t quota_window_size_seconds = 1;
  int32_t message_max_bytes = 1048588;
  bool auto_create_topics = true;
  bool delete_topic_enable = true;
  int32_t num_partitions = 1;
  int16_t default_replication_factor = 1;
  storage::LogConfig default_log_config;  // broker-level defaults for topic configs
  int64_t retention_check_interval_ms = 300000;
  int64_t flush_scheduler_interval_ms = 1000;
  // log.cleaner.enable / .backoff.ms / .dedupe.buffer.size (compaction).
  bool cleaner_enable = true;
  int64_t cleaner_backoff_ms = 15000;
  int64_t cleaner_dedupe_buffer_bytes = 128LL << 20;
  double cleaner_io_max_bytes_per_second = 0;  // <= 0: unlimited
  // http.listeners ("http://host:port,..."; empty: no HTTP server) and
  // metrics.partition.series.limit (per-partition series only up to this many partitions).
  std::string http_listeners;
  int64_t metrics_partition_series_limit = 10000;
  // broker.rack; broker.heartbeat.interval.ms; the bound of a controlled
  // shutdown (broker.session.timeout.ms: past it the controller fences this
  // broker anyway).
  std::optional<std::string> rack;
  // replica.selector.class is Kafka's RackAwareReplicaSelector (KIP-392): a
  // leader sends a consumer whose client.rack holds a follower to that follower.
  bool rack_aware_replica_selector = false;
  int64_t heartbeat_interval_ms = 2000;
  int64_t controlled_shutdown_timeout_ms = 9000;
  // replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR.
  int64_t replica_lag_time_max_ms = 30000;
  // The full configuration, for DescribeConfigs and dynamic updates.
  std::shared_ptr<const cluster::BrokerConfig> config;
  // Resolves a topic's overrides into its effective log config.
  std::function<storage::LogConfig(const std::map<std::string, std::string>&)> log_config_for;
  // Validates topic config overrides: nullopt when fine, else Kafka's message.
  std::function<std::optional<std::string>(const std::map<std::string, std::string>&)> validate_topic_configs;
};

}  // namespace samsa::server
