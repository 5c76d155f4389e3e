// The table of every configuration key Samsa knows: Apache Kafka's documented
// broker configs (the subset that matters to a single node or a cluster) and
// every topic config, with Kafka's names, types, defaults (as DescribeConfigs
// prints them), validators, importance and update modes.
//
// The rows come from src/config/configs.def (generated into C++ at build time
// by tools/gen_config.py). The tables are immutable after first use and built
// on first call (a function-local static), so any thread may read them at any
// time.
//
// Facts come from Kafka 3.9's generated "Broker Configs" / "Topic Configs"
// pages and ConfigDef's validation rules; the documentation strings are our
// own short summaries.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace samsa::config {

// DescribeConfigs "ConfigType" wire values (DescribeConfigsResponse v3+).
enum class ConfigType : int8_t {
  UNKNOWN = 0,
  BOOLEAN = 1,
  STRING = 2,
  INT = 3,
  SHORT = 4,
  LONG = 5,
  DOUBLE = 6,
  LIST = 7,
  CLASS = 8,
  PASSWORD = 9,
};

// DescribeConfigs "ConfigSource" wire values. Note the wire order differs from
// the Java admin client's enum order: these are the bytes on the wire.
enum class ConfigSource : int8_t {
  UNKNOWN = 0,
  DYNAMIC_TOPIC_CONFIG = 1,  // Kafka names it TOPIC_CONFIG on the wire
  DYNAMIC_BROKER_CONFIG = 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG = 3,
  STATIC_BROKER_CONFIG = 4,
  DEFAULT_CONFIG = 5,
  DYNAMIC_BROKER_LOGGER_CONFIG = 6,
  CLIENT_METRICS_CONFIG = 7,
  GROUP_CONFIG = 8,
};

enum class Importance : uint8_t { kHigh, kMedium, kLow };

// Kafka's "Update Mode" of a broker config. Topic configs are always
// alterable per topic and carry kClusterWide.
enum class UpdateMode : uint8_t { kReadOnly, kPerBroker, kClusterWide };

enum class ValidatorKind : uint8_t {
  kNone,
  kRange,              // integer range [min, max]; either bound optional
  kOneOf,              // string must be one of `choices` (case sensitive)
  kListOf,             // every list element must be one of `choices`
  kNonEmptyList,       // list with at least one element
  kNonEmptyString,     // string, if given, must not be empty
  kGzipLevel,          // [1..9] or -1
  kThrottledReplicas,  // "*" or "partition:broker,..."
  kMetadataVersion,    // a release or IV name of `choices`, short or long form ("2.8", "0.10.0.0")
};

struct Validator {
  ValidatorKind kind = ValidatorKind::kNone;
  std::optional<int64_t> min;
  std::optional<int64_t> max;
  std::vector<std::string_view> choices;
};

// One configuration key. Strings point at static storage.
struct ConfigDef {
  std::string_view name;
  ConfigType type = ConfigType::STRING;
  // Default as Kafka prints it in DescribeConfigs; nullopt means null.
  std::optional<std::string_view> default_value;
  Validator validator;
  Importance importance = Importance::kMedium;
  std::string_view documentation;
  bool is_topic_config = false;
  // For a topic config: the broker keys that provide its default, highest
  // priority first (e.g. retention.ms <- log.retention.ms, .minutes, .hours).
  // For a broker config: the other broker keys Kafka reports as its synonyms
  // (itself first), e.g. log.roll.ms -> {log.roll.ms, log.roll.hours}.
  std::vector<std::string_view> synonyms;
  UpdateMode update_mode = UpdateMode::kReadOnly;

  bool sensitive() const { return type == ConfigType::PASSWORD; }
  bool read_only() const { return !is_topic_config && update_mode == UpdateMode::kReadOnly; }
};

// All broker configs, sorted by name.
std::span<const ConfigDef> broker_config_defs();
// All topic configs, sorted by name.
std::span<const ConfigDef> topic_config_defs();

// nullptr when the name is not a known key of that kind.
const ConfigDef* find_broker_config(std::string_view name);
const ConfigDef* find_topic_config(std::string_view name);

// ---- rules across keys ----------------------------------------------------
// Kafka checks some values against others once each passed its own validator
// (KafkaConfig.validateValues, LogConfig.validateValues, LogCleaner's and
// GroupCoordinatorConfig's checks). Each rule is one row of a table, like the
// keys: the key its error names, the keys it reads, and the check.

// Effective value of a key (nullopt: null / unset with a null default).
using ConfigLookup = std::function<std::optional<std::string>(std::string_view)>;

struct ConfigRule {
  std::string_view key;                       // the key the error names
  std::vector<std::string_view> reads;        // every key the check reads
  std::string_view description;               // the rule in words (README, tests)
  std::optional<std::string> (*check)(const ConfigLookup&);  // Kafka's message on failure
};

// Rules over broker keys (start-up, dynamic broker configs).
std::span<const ConfigRule> broker_config_rules();
// Rules over topic keys, looked up as the topic sees them (override, else
// broker default): CreateTopics, AlterConfigs, IncrementalAlterConfigs.
std::span<const ConfigRule> topic_config_rules();
// The first rule of `rules` that fails, as its message; nullopt when all hold.
std::optional<std::string> check_rules(std::span<const ConfigRule> rules, const ConfigLookup& lookup);

// Lower-case Kafka type name: "int", "list", ...
std::string_view type_name(ConfigType type);

// Checks `value` against the definition the way Kafka's ConfigDef does
// (parse by type after trimming, then the validator). Returns Kafka's message,
// e.g. "Invalid value -5 for configuration num.partitions: Value must be at
// least 1", or nullopt when the value is acceptable.
std::optional<std::string> validate_value(const ConfigDef& def, std::string_view value);

// The value as Kafka would print it back after parsing: trimmed, numbers in
// canonical decimal form, booleans lower case, doubles in Java's notation,
// lists joined with ",". Precondition: validate_value(def, value) succeeded.
std::string canonical_value(const ConfigDef& def, std::string_view value);

// ---- parsing helpers shared by the broker and topic config code ----------
// They follow Java's Integer/Long/Short.parseXxx and Boolean rules on the
// trimmed text and never throw.
std::string_view trim(std::string_view s);

// replica.selector.class: the one selector Samsa has (KIP-392).
inline constexpr std::string_view kRackAwareReplicaSelector = "org.apache.kafka.common.replica.RackAwareReplicaSelector";
std::optional<int64_t> parse_int64(std::string_view s);
std::optional<int32_t> parse_int32(std::string_view s);
std::optional<int16_t> parse_int16(std::string_view s);
std::optional<bool> parse_bool(std::string_view s);
std::optional<double> parse_double(std::string_view s);
// Kafka's LIST parsing: trimmed; empty -> no element; else split on commas
// with surrounding whitespace removed (empty elements are kept).
std::vector<std::string> parse_list(std::string_view s);
// Java's Double.toString notation ("0.5", "1.0", "1.0E10").
std::string java_double_string(double d);

}  // namespace samsa::config

// Transitional: the config code lived in cluster/ and its callers (server/,
// tests) still name it samsa::cluster::...; this keeps them compiling until
// they say config::. New code should name samsa::config directly.
namespace samsa::cluster {
using namespace samsa::config;
}  // namespace samsa::cluster
