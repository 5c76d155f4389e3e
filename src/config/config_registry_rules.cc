// The rules Kafka checks across configuration keys, as tables (one row per
// rule) next to the key table of config_registry.cc. Facts and messages are
// Kafka 3.9's: KafkaConfig.validateValues, LogConfig.validateValues,
// LogCleaner.validateReconfiguration, GroupCoordinatorConfig and
// ControllerConfigurationValidator. The tables are immutable function-local
// statics, readable from any thread.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

#include "config/config_registry.h"

namespace samsa::config {
namespace {

std::optional<int64_t> num(const ConfigLookup& v, std::string_view key) {
  auto text = v(key);
  return text ? parse_int64(*text) : std::nullopt;
}

int64_t num_or(const ConfigLookup& v, std::string_view key, int64_t fallback) {
  return num(v, key).value_or(fallback);
}

bool flag(const ConfigLookup& v, std::string_view key) {
  auto text = v(key);
  return text && parse_bool(*text).value_or(false);
}

std::string str(int64_t n) { return std::to_string(n); }

// KafkaConfig.logRollTimeMillis / logRollTimeJitterMillis / logRetentionTimeMillis:
// the millisecond key wins over the coarser ones.
int64_t roll_ms(const ConfigLookup& v) {
  if (auto ms = num(v, "log.roll.ms")) return *ms;
  return num_or(v, "log.roll.hours", 168) * 3600000;
}

int64_t roll_jitter_ms(const ConfigLookup& v) {
  if (auto ms = num(v, "log.roll.jitter.ms")) return *ms;
  return num_or(v, "log.roll.jitter.hours", 0) * 3600000;
}

int64_t retention_ms(const ConfigLookup& v) {
  int64_t ms;
  if (auto m = num(v, "log.retention.ms")) {
    ms = *m;
  } else if (auto minutes = num(v, "log.retention.minutes")) {
    ms = *minutes * 60000;
  } else {
    ms = num_or(v, "log.retention.hours", 168) * 3600000;
  }
  return ms < 0 ? -1 : ms;
}

// Utils.validHostPattern's character set.
bool valid_host(std::string_view h) {
  return !h.empty() && std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '%' || c == '.' || c == '_' || c == ':';
  });
}

// max.connections.per.ip.overrides: "host:count,host:count" (CoreUtils.parseCsvMap,
// the count an int, the host a valid host pattern).
std::optional<std::string> check_ip_overrides(const ConfigLookup& v) {
  const std::string text = v("max.connections.per.ip.overrides").value_or("");
  if (trim(text).empty()) return std::nullopt;
  std::string bad_hosts;
  for (const auto& entry : parse_list(text)) {
    const size_t colon = entry.rfind(':');
    const auto count = colon == std::string::npos ? std::nullopt : parse_int32(entry.substr(colon + 1));
    if (!count) {
      return "Invalid value " + text + " for configuration max.connections.per.ip.overrides: entry '" + entry +
             "' is not of the form host:count";
    }
    const std::string host(trim(std::string_view(entry).substr(0, colon)));
    if (!valid_host(host)) bad_hosts += (bad_hosts.empty() ? "" : ",") + host;
  }
  if (!bad_hosts.empty()) return "max.connections.per.ip.overrides contains invalid addresses : " + bad_hosts;
  return std::nullopt;
}

std::optional<std::string> check_compaction_lag(const ConfigLookup& v, std::string_view min_key,
                                                std::string_view max_key) {
  const int64_t min_lag = num_or(v, min_key, 0);
  const int64_t max_lag = num_or(v, max_key, INT64_MAX);
  if (min_lag <= max_lag) return std::nullopt;
  return "conflict topic config setting min.compaction.lag.ms (" + str(min_lag) + ") > max.compaction.lag.ms (" +
         str(max_lag) + ")";
}

// "a must be <relation> b" rules of GroupCoordinatorConfig.
template <typename Cmp>
std::optional<std::string> ordered(const ConfigLookup& v, std::string_view a, std::string_view b,
                                   std::string_view relation, Cmp ok) {
  const auto x = num(v, a);
  const auto y = num(v, b);
  if (!x || !y || ok(*x, *y)) return std::nullopt;
  return std::string(a) + " must be " + std::string(relation) + " " + std::string(b);
}

const std::vector<ConfigRule>& broker_rules() {
  static const std::vector<ConfigRule> rules{
      {"log.roll.ms", {"log.roll.ms", "log.roll.hours"}, "log.roll.ms (else log.roll.hours in ms) >= 1",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         if (roll_ms(v) >= 1) return std::nullopt;
         return "log.roll.ms must be greater than or equal to 1";
       }},
      {"log.roll.jitter.ms", {"log.roll.jitter.ms", "log.roll.jitter.hours"},
       "log.roll.jitter.ms (else log.roll.jitter.hours in ms) >= 0",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         if (roll_jitter_ms(v) >= 0) return std::nullopt;
         return "log.roll.jitter.ms must be greater than or equal to 0";
       }},
      {"log.retention.ms", {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
       "effective retention (ms > minutes > hours; negative means -1) is -1 or >= 1",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         const int64_t ms = retention_ms(v);
         if (ms >= 1 || ms == -1) return std::nullopt;
         return "log.retention.ms must be unlimited (-1) or, greater than or equal to 1";
       }},
      // ConfigDef allows 0, but Kafka's start-up divides by it and a dynamic
      // update below 1 is refused ("Log cleaner threads should be at least 1").
      {"log.cleaner.threads", {"log.cleaner.threads"}, "log.cleaner.threads >= 1",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         const int64_t n = num_or(v, "log.cleaner.threads", 1);
         if (n >= 1) return std::nullopt;
         return "Invalid value " + str(n) + " for configuration log.cleaner.threads: Log cleaner threads should be "
                "at least 1";
       }},
      {"log.cleaner.dedupe.buffer.size", {"log.cleaner.dedupe.buffer.size", "log.cleaner.threads"},
       "log.cleaner.dedupe.buffer.size / log.cleaner.threads > 1 MiB",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         const int64_t threads = std::max<int64_t>(num_or(v, "log.cleaner.threads", 1), 1);
         if (num_or(v, "log.cleaner.dedupe.buffer.size", 134217728) / threads > 1024 * 1024) return std::nullopt;
         return "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.";
       }},
      {"log.cleaner.min.compaction.lag.ms", {"log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"},
       "log.cleaner.min.compaction.lag.ms <= log.cleaner.max.compaction.lag.ms",
       [](const ConfigLookup& v) {
         return check_compaction_lag(v, "log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms");
       }},
      {"replica.fetch.wait.max.ms", {"replica.fetch.wait.max.ms", "replica.socket.timeout.ms"},
       "replica.fetch.wait.max.ms <= replica.socket.timeout.ms",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         if (num_or(v, "replica.fetch.wait.max.ms", 500) <= num_or(v, "replica.socket.timeout.ms", 30000)) {
           return std::nullopt;
         }
         return "replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms to prevent "
                "unnecessary socket timeouts";
       }},
      {"replica.fetch.wait.max.ms", {"replica.fetch.wait.max.ms", "replica.lag.time.max.ms"},
       "replica.fetch.wait.max.ms <= replica.lag.time.max.ms",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         if (num_or(v, "replica.fetch.wait.max.ms", 500) <= num_or(v, "replica.lag.time.max.ms", 30000)) {
           return std::nullopt;
         }
         return "replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms to "
                "prevent frequent changes in ISR";
       }},
      {"queued.max.request.bytes", {"queued.max.request.bytes", "socket.request.max.bytes"},
       "queued.max.request.bytes <= 0 or >= socket.request.max.bytes",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         const int64_t q = num_or(v, "queued.max.request.bytes", -1);
         if (q <= 0 || q >= num_or(v, "socket.request.max.bytes", 104857600)) return std::nullopt;
         return "queued.max.request.bytes must be larger or equal to socket.request.max.bytes";
       }},
      {"max.connections.per.ip", {"max.connections.per.ip", "max.connections.per.ip.overrides"},
       "max.connections.per.ip = 0 only with max.connections.per.ip.overrides",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         if (num_or(v, "max.connections.per.ip", 1) != 0 ||
             !trim(v("max.connections.per.ip.overrides").value_or("")).empty()) {
           return std::nullopt;
         }
         return "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is "
                "set.";
       }},
      {"max.connections.per.ip.overrides", {"max.connections.per.ip.overrides"},
       "max.connections.per.ip.overrides is host:count,... with valid hosts and int counts", check_ip_overrides},
      {"connections.max.idle.ms", {"connections.max.idle.ms", "connection.failed.authentication.delay.ms"},
       "connection.failed.authentication.delay.ms < connections.max.idle.ms when the latter is >= 0",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         const int64_t idle = num_or(v, "connections.max.idle.ms", 600000);
         const int64_t delay = num_or(v, "connection.failed.authentication.delay.ms", 100);
         if (idle < 0 || delay < idle) return std::nullopt;
         return "connection.failed.authentication.delay.ms=" + str(delay) + " should always be less than connections.max.idle.ms=" +
                str(idle) + " to prevent failed authentication responses from timing out";
       }},
      {"group.consumer.max.session.timeout.ms",
       {"group.consumer.max.session.timeout.ms", "group.consumer.min.session.timeout.ms"},
       "group.consumer.max.session.timeout.ms >= group.consumer.min.session.timeout.ms",
       [](const ConfigLookup& v) {
         return ordered(v, "group.consumer.max.session.timeout.ms", "group.consumer.min.session.timeout.ms",
                        "greater than or equal to", [](int64_t a, int64_t b) { return a >= b; });
       }},
      {"group.consumer.session.timeout.ms",
       {"group.consumer.session.timeout.ms", "group.consumer.min.session.timeout.ms"},
       "group.consumer.session.timeout.ms >= group.consumer.min.session.timeout.ms",
       [](const ConfigLookup& v) {
         return ordered(v, "group.consumer.session.timeout.ms", "group.consumer.min.session.timeout.ms",
                        "greater than or equal to", [](int64_t a, int64_t b) { return a >= b; });
       }},
      {"group.consumer.session.timeout.ms",
       {"group.consumer.session.timeout.ms", "group.consumer.max.session.timeout.ms"},
       "group.consumer.session.timeout.ms <= group.consumer.max.session.timeout.ms",
       [](const ConfigLookup& v) {
         return ordered(v, "group.consumer.session.timeout.ms", "group.consumer.max.session.timeout.ms",
                        "less than or equal to", [](int64_t a, int64_t b) { return a <= b; });
       }},
      {"group.consumer.heartbeat.interval.ms",
       {"group.consumer.heartbeat.interval.ms", "group.consumer.session.timeout.ms"},
       "group.consumer.heartbeat.interval.ms < group.consumer.session.timeout.ms",
       [](const ConfigLookup& v) {
         return ordered(v, "group.consumer.heartbeat.interval.ms", "group.consumer.session.timeout.ms", "less than",
                        [](int64_t a, int64_t b) { return a < b; });
       }},
      // KIP-392: Samsa has one selector, Kafka's rack-aware one (unset: every
      // consumer reads from the leader). Kafka fails the same way on a class it
      // cannot load.
      {"replica.selector.class", {"replica.selector.class"},
       "replica.selector.class is unset or org.apache.kafka.common.replica.RackAwareReplicaSelector",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         const std::string raw = v("replica.selector.class").value_or("");
         const std::string name(trim(raw));
         if (name.empty() || name == kRackAwareReplicaSelector) return std::nullopt;
         return "Class " + name + " cannot be found (Samsa offers " + std::string(kRackAwareReplicaSelector) +
                ")";
       }},
  };
  return rules;
}

const std::vector<ConfigRule>& topic_rules() {
  static const std::vector<ConfigRule> rules{
      {"min.compaction.lag.ms", {"min.compaction.lag.ms", "max.compaction.lag.ms"},
       "min.compaction.lag.ms <= max.compaction.lag.ms",
       [](const ConfigLookup& v) { return check_compaction_lag(v, "min.compaction.lag.ms", "max.compaction.lag.ms"); }},
      // Samsa has no tiered storage, so remote.log.storage.system.enable is
      // never true unless set; Kafka refuses the topic key without it.
      {"remote.storage.enable", {"remote.storage.enable", "remote.log.storage.system.enable"},
       "remote.storage.enable=true only with remote.log.storage.system.enable=true",
       [](const ConfigLookup& v) -> std::optional<std::string> {
         if (!flag(v, "remote.storage.enable") || flag(v, "remote.log.storage.system.enable")) return std::nullopt;
         return "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log "
                "storage.";
       }},
  };
  return rules;
}

}  // namespace

std::span<const ConfigRule> broker_config_rules() { return broker_rules(); }
std::span<const ConfigRule> topic_config_rules() { return topic_rules(); }

std::optional<std::string> check_rules(std::span<const ConfigRule> rules, const ConfigLookup& lookup) {
  for (const ConfigRule& rule : rules) {
    if (auto err = rule.check(lookup)) return err;
  }
  return std::nullopt;
}

}  // namespace samsa::config
