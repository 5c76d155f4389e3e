#include "base/cli_exit.h"
#include "app/start_command.h"

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "config/broker_config.h"
#include "config/config_registry.h"
#include "quorum/quorum_config.h"
#include "server/broker.h"

namespace samsa::app {

namespace {

storage::LogConfig to_log_config(const cluster::EffectiveTopicConfig& e) {
  storage::LogConfig c;
  c.segment_bytes = e.segment_bytes;
  c.segment_ms = e.segment_ms;
  c.segment_jitter_ms = e.segment_jitter_ms;
  c.segment_index_bytes = e.segment_index_bytes;
  c.index_interval_bytes = e.index_interval_bytes;
  c.retention_ms = e.retention_ms;
  c.retention_bytes = e.retention_bytes;
  c.flush_messages = e.flush_messages;
  c.flush_ms = e.flush_ms;
  c.file_delete_delay_ms = e.file_delete_delay_ms;
  c.cleanup_delete = e.cleanup_delete;
  c.cleanup_compact = e.cleanup_compact;
  c.delete_retention_ms = e.delete_retention_ms;
  c.min_compaction_lag_ms = e.min_compaction_lag_ms;
  c.max_compaction_lag_ms = e.max_compaction_lag_ms;
  c.min_cleanable_dirty_ratio = e.min_cleanable_dirty_ratio;
  c.max_message_bytes = e.max_message_bytes;
  c.log_append_time = e.log_append_time;
  c.message_timestamp_before_max_ms = e.message_timestamp_before_max_ms;
  c.message_timestamp_after_max_ms = e.message_timestamp_after_max_ms;
  c.min_insync_replicas = e.min_insync_replicas;
  c.compression_type = e.compression_type;
  c.unclean_leader_election = e.unclean_leader_election_enable;
  c.preallocate = e.preallocate;
  return c;
}

// Every partition holds at least its active .log open: take the whole
// descriptor allowance the administrator granted (the soft limit is often far
// below the hard one).
void raise_descriptor_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) spdlog::warn("cannot raise the open-files limit to {}", lim.rlim_max);
}

server::BrokerSettings settings_from(std::shared_ptr<const cluster::BrokerConfig> cfg,
                                    std::optional<quorum::QuorumSettings> quorum) {
  server::BrokerSettings s;
  s.config = cfg;
  s.node_id = cfg->node_id();
  s.quorum = std::move(quorum);
  s.listeners.clear();
  for (auto& ep : cfg->listeners()) {
    bool controller = false;
    for (auto& n : cfg->controller_listener_names()) controller |= n == ep.listener_name;
    // Without a quorum a CONTROLLER listener is not served: the single node's quorum is local.
    if (controller && !s.quorum && cfg->listeners().size() > 1) continue;
    server::ListenerSpec spec{ep.listener_name, ep.host, ep.port, ep.security_protocol, {}, 0};
    spec.controller = controller && s.quorum.has_value();
    for (auto& adv : cfg->advertised_listeners())
      if (adv.listener_name == ep.listener_name) {
        spec.advertised_host = adv.host;
        spec.advertised_port = adv.port;
      }
    s.listeners.push_back(std::move(spec));
  }
  if (!cfg->advertised_listeners().empty()) {
    auto& adv = cfg->advertised_listeners().front();
    s.advertised_host = adv.host.empty() || adv.host == "0.0.0.0" || adv.host == "::" ? "localhost" : adv.host;
    s.advertised_port = adv.port;
  } else if (!s.listeners.empty()) {
    s.advertised_host = s.listeners.front().host.empty() ? "localhost" : s.listeners.front().host;
    s.advertised_port = s.listeners.front().port;
  }
  s.log_dirs = cfg->log_dirs();
  s.metadata_log_dir = cfg->metadata_log_dir();
  s.shards = std::min<int>(cfg->num_io_threads(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  s.max_request_bytes = cfg->socket_request_max_bytes();
  s.max_connections = cfg->max_connections();
  s.max_connections_per_ip = cfg->max_connections_per_ip();
  s.max_connections_per_ip_overrides = cfg->value("max.connections.per.ip.overrides").value_or("");
  s.connections_max_idle_ms = cfg->connections_max_idle_ms();
  s.quota_window_num = cfg->quota_window_num();
  s.quota_window_size_seconds = cfg->quota_window_size_seconds();
  s.message_max_bytes = cfg->message_max_bytes();
  s.auto_create_topics = cfg->auto_create_topics_enable();
  s.delete_topic_enable = cfg->delete_topic_enable();
  s.num_partitions = cfg->num_partitions();
  s.default_replication_factor = static_cast<int16_t>(cfg->default_replication_factor());
  s.retention_check_interval_ms = cfg->log_retention_check_interval_ms();
  s.cleaner_enable = cfg->log_cleaner_enable();
  s.cleaner_backoff_ms = cfg->log_cleaner_backoff_ms();
  s.cleaner_dedupe_buffer_bytes = cfg->log_cleaner_dedupe_buffer_size();
  s.cleaner_io_max_bytes_per_second = cfg->log_cleaner_io_max_bytes_per_second();
  s.http_listeners = cfg->value("http.listeners").value_or("");
  s.rack = cfg->value("broker.rack");
  const std::string selector = cfg->value("replica.selector.class").value_or("");
  s.rack_aware_replica_selector = config::trim(selector) == config::kRackAwareReplicaSelector;
  s.heartbeat_interval_ms = cfg->get_int("broker.heartbeat.interval.ms").value_or(2000);
  s.controlled_shutdown_timeout_ms = cfg->get_int("broker.session.timeout.ms").value_or(9000);
  s.replica_lag_time_max_ms = cfg->replica_lag_time_max_ms();
  s.metrics_partition_series_limit = cfg->get_int("metrics.partition.series.limit").value_or(10000);
  s.default_log_config = to_log_config(cluster::resolve_topic_config({}, *cfg));
  s.log_config_for = [cfg](const std::map<std::string, std::string>& overrides) {
    cluster::TopicOverrides o(overrides.begin(), overrides.end());
    return to_log_config(cluster::resolve_topic_config(o, *cfg));
  };
  s.validate_topic_configs = [cfg](const std::map<std::string, std::string>& m) -> std::optional<std::string> {
    std::map<std::string, std::string, std::less<>> mm(m.begin(), m.end());
    if (auto err = cluster::validate_topic_configs(mm, cfg.get())) return err->second;
    return std::nullopt;
  };
  return s;
}

}  // namespace

int start_command(int argc, char** argv) {
  CLI::App app{"Start a Samsa broker in the foreground (like kafka-server-start.sh)", "samsa start"};
  std::optional<std::string> config_file;
  std::vector<std::string> overrides;
  app.add_option("--config,config", config_file, "server.properties file (Apache Kafka keys)");
  app.add_option("--override", overrides, "KEY=VALUE, overrides the config file (repeatable)");
  app.footer(
      "Examples:\n  samsa start\n  samsa start --config config/server.properties\n"
      "  samsa start --override listeners=PLAINTEXT://127.0.0.1:9092 --override log.dirs=./data");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  auto logger = spdlog::stderr_color_mt("samsa");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S,%e] %^%l%$ %v");
  std::vector<std::pair<std::string, std::string>> kv;
  for (auto& o : overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos) {
      spdlog::error("--override expects KEY=VALUE, got '{}'", o);
      return 2;
    }
    kv.emplace_back(o.substr(0, eq), o.substr(eq + 1));
  }
  std::vector<std::string> warnings;
  auto loaded = cluster::load_broker_config(config_file, kv, warnings);
  for (auto& w : warnings) spdlog::warn("{}", w);
  if (auto* err = std::get_if<std::string>(&loaded)) {
    spdlog::error("invalid configuration: {}", *err);
    return 1;
  }
  auto cfg = std::make_shared<const cluster::BrokerConfig>(std::get<cluster::BrokerConfig>(std::move(loaded)));
  auto quorum = quorum::quorum_settings(*cfg);
  if (auto* err = std::get_if<std::string>(&quorum)) {
    spdlog::error("invalid configuration: {}", *err);
    return 1;
  }
  raise_descriptor_limit();
  server::Broker broker(settings_from(cfg, std::get<std::optional<quorum::QuorumSettings>>(std::move(quorum))));
  if (auto err = broker.start(); !err.empty()) {
    spdlog::error("start-up failed: {}", err);
    return 1;
  }
  broker.wait_for_shutdown();
  return 0;
}

}  // namespace samsa::app
