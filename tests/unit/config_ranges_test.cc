// Every key's valid range (Kafka 3.9's ConfigDef validators), walked over the
// whole table, and Kafka's rules across keys (config_registry_rules.cc) at
// start-up, for dynamic broker configs and for topic configs.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "config/broker_config.h"
#include "config/config_registry.h"

namespace samsa::cluster {
namespace {

std::string range_load_error(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> warnings;
  auto loaded = load_broker_config(std::nullopt, overrides, warnings);
  return std::holds_alternative<std::string>(loaded) ? std::get<std::string>(loaded) : "";
}

bool loads(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> warnings;
  auto loaded = load_broker_config(std::nullopt, overrides, warnings);
  EXPECT_TRUE(std::holds_alternative<BrokerConfig>(loaded)) << std::get<std::string>(loaded);
  return std::holds_alternative<BrokerConfig>(loaded);
}

std::pair<int64_t, int64_t> type_limits(ConfigType t) {
  switch (t) {
    case ConfigType::SHORT: return {INT16_MIN, INT16_MAX};
    case ConfigType::INT: return {INT32_MIN, INT32_MAX};
    default: return {INT64_MIN, INT64_MAX};
  }
}

bool integral(ConfigType t) { return t == ConfigType::SHORT || t == ConfigType::INT || t == ConfigType::LONG; }

std::string ok(const ConfigDef& def, const std::string& value) {
  return validate_value(def, value).value_or("ok");
}

// For every integral key: the lowest and highest accepted values pass, the
// values just outside fail with Kafka's message naming the key (or, at the
// edge of the type, "Not a number of type ...").
TEST(ConfigRanges, EveryIntegralKeyAtAndJustOutsideItsBounds) {
  int checked = 0;
  for (std::span<const ConfigDef> table : {broker_config_defs(), topic_config_defs()}) {
    for (const ConfigDef& def : table) {
      if (!integral(def.type)) continue;
      const auto [type_min, type_max] = type_limits(def.type);
      const Validator& v = def.validator;
      int64_t lo = type_min;
      int64_t hi = type_max;
      if (v.kind == ValidatorKind::kRange) {
        lo = v.min.value_or(type_min);
        hi = v.max.value_or(type_max);
      } else if (v.kind == ValidatorKind::kGzipLevel) {
        lo = -1;
        hi = 9;
        EXPECT_NE(ok(def, "0"), "ok") << def.name;  // the hole between -1 and 1
        EXPECT_EQ(ok(def, "1"), "ok") << def.name;
      }
      EXPECT_EQ(ok(def, std::to_string(lo)), "ok") << def.name;
      EXPECT_EQ(ok(def, std::to_string(hi)), "ok") << def.name;
      const std::string name(def.name);
      if (lo > type_min) {
        const std::string below = std::to_string(lo - 1);
        const std::string err = ok(def, below);
        EXPECT_EQ(err.rfind("Invalid value " + below + " for configuration " + name + ": ", 0), 0u) << err;
      } else {
        // One below the type: "-9223372036854775809" and friends.
        const std::string below = def.type == ConfigType::LONG ? "-9223372036854775809" : std::to_string(lo - 1);
        EXPECT_NE(ok(def, below).find("Not a number of type"), std::string::npos) << def.name;
      }
      if (hi < type_max) {
        const std::string above = std::to_string(hi + 1);
        const std::string err = ok(def, above);
        EXPECT_EQ(err.rfind("Invalid value " + above + " for configuration " + name + ": ", 0), 0u) << err;
      } else {
        const std::string above = def.type == ConfigType::LONG ? "9223372036854775808" : std::to_string(hi + 1);
        EXPECT_NE(ok(def, above).find("Not a number of type"), std::string::npos) << def.name;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 150);  // every INT, SHORT and LONG key of both tables
}

// Booleans, doubles, enums and lists: the accepted forms and one refused form each.
TEST(ConfigRanges, EveryOtherKeyAcceptsItsDomainAndRefusesOutside) {
  for (std::span<const ConfigDef> table : {broker_config_defs(), topic_config_defs()}) {
    for (const ConfigDef& def : table) {
      const std::string name(def.name);
      switch (def.type) {
        case ConfigType::BOOLEAN:
          EXPECT_EQ(ok(def, "true"), "ok") << name;
          EXPECT_EQ(ok(def, "False"), "ok") << name;
          EXPECT_EQ(ok(def, "1"), "Invalid value 1 for configuration " + name +
                                      ": Expected value to be either true or false");
          break;
        case ConfigType::DOUBLE:
          if (def.validator.kind == ValidatorKind::kRange) {  // [0, 1] ratios
            EXPECT_EQ(ok(def, "0"), "ok") << name;
            EXPECT_EQ(ok(def, "1.0"), "ok") << name;
            EXPECT_EQ(ok(def, "-0.1"), "Invalid value -0.1 for configuration " + name + ": Value must be at least 0");
            EXPECT_EQ(ok(def, "1.01"),
                      "Invalid value 1.01 for configuration " + name + ": Value must be no more than 1");
          }
          EXPECT_NE(ok(def, "fast"), "ok") << name;
          break;
        case ConfigType::STRING:
          if (def.validator.kind == ValidatorKind::kOneOf) {
            for (auto choice : def.validator.choices) EXPECT_EQ(ok(def, std::string(choice)), "ok") << name;
            const std::string wrong = std::string(def.validator.choices.front()) + "x";
            EXPECT_EQ(ok(def, wrong).rfind("Invalid value " + wrong + " for configuration " + name +
                                               ": String must be one of: ",
                                           0),
                      0u);
          }
          break;
        case ConfigType::LIST:
          if (def.validator.kind == ValidatorKind::kListOf) {
            std::string all;
            std::string listed;
            for (auto choice : def.validator.choices) {
              all += (all.empty() ? "" : ",") + std::string(choice);
              listed += (listed.empty() ? "" : ", ") + std::string(choice);
            }
            EXPECT_EQ(ok(def, all), "ok") << name;
            EXPECT_EQ(ok(def, all + ",bogus"),
                      "Invalid value bogus for configuration " + name + ": String must be one of: " + listed);
          }
          break;
        default:
          break;
      }
    }
  }
}

// Issue 17: message.format.version (and the other keys Kafka checks with its
// MetadataVersionValidator) take a release in short or long form as well as
// an exact IV name: librdkafka's mixed-version test sets 0.10.0.0 on a topic.
TEST(ConfigRanges, MetadataVersionsInShortAndLongForms) {
  for (std::string_view key : {"message.format.version"}) {
    const ConfigDef& def = *find_topic_config(key);
    for (const char* v : {"0.10.0.0", "0.10.0", "0.10.0-IV1", "0.8.2", "0.8.2.2", "0.11.0.3", "1.0", "1.0.2",
                          "2.8", "2.8.1", "3.0", "3.0-IV1", "3.9-IV0", " 2.8 "}) {
      EXPECT_EQ(ok(def, v), "ok") << key << "=" << v;
    }
    EXPECT_EQ(ok(def, "0.10.5"), "Invalid value 0.10.5 for configuration " + std::string(key) +
                                     ": Version 0.10.5 is not a valid version");
    for (const char* v : {"2.8.", "0.10", "3.0-IV9", "9.9", "", "abc", "2"}) EXPECT_NE(ok(def, v), "ok") << v;
  }
  for (std::string_view key : {"log.message.format.version", "inter.broker.protocol.version"}) {
    EXPECT_EQ(ok(*find_broker_config(key), "0.10.0.0"), "ok") << key;
    EXPECT_EQ(ok(*find_broker_config(key), "3.0"), "ok") << key;
  }
  // Accepted on a topic together with the other keys, and kept as given.
  const TopicOverrides topic{{"message.format.version", "0.10.0.0"}};
  EXPECT_FALSE(validate_topic_configs(topic).has_value());
  EXPECT_EQ(canonical_topic_configs(topic).at("message.format.version"), "0.10.0.0");
}

// Issue 18, finding 5: the values named there, one by one.
TEST(ConfigRanges, IssueEighteenFindingFive) {
  const ConfigDef& segment = *find_topic_config("segment.bytes");
  // Kafka 3.9 accepts [14,...] (4.0 raised it to 1 MiB): a batch larger than
  // the segment then gets a segment of its own (storage_log_test).
  EXPECT_EQ(ok(segment, "14"), "ok");
  EXPECT_EQ(ok(segment, "13"), "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
  EXPECT_EQ(ok(*find_broker_config("log.segment.bytes"), "13"),
            "Invalid value 13 for configuration log.segment.bytes: Value must be at least 14");
  // max.message.bytes [0,...]: 0 is Kafka's "refuse every batch" (MESSAGE_TOO_LARGE).
  EXPECT_EQ(ok(*find_topic_config("max.message.bytes"), "0"), "ok");
  EXPECT_EQ(ok(*find_topic_config("max.message.bytes"), "-1"),
            "Invalid value -1 for configuration max.message.bytes: Value must be at least 0");
  // retention.bytes has no range in Kafka: every negative value means "no limit".
  EXPECT_EQ(ok(*find_topic_config("retention.bytes"), "-5"), "ok");
  EXPECT_EQ(resolve_topic_config({{"retention.bytes", "-5"}}, BrokerConfig{}).retention_bytes, -1);
  EXPECT_EQ(resolve_topic_config({{"retention.bytes", "7"}}, BrokerConfig{}).retention_bytes, 7);
  EXPECT_TRUE(loads({{"log.retention.bytes", "-5"}}));
  // log.cleaner.threads=0: refused at start-up and dynamically, as Kafka.
  EXPECT_EQ(range_load_error({{"log.cleaner.threads", "0"}}),
            "Invalid value 0 for configuration log.cleaner.threads: Log cleaner threads should be at least 1");
  BrokerConfig dynamic;
  EXPECT_EQ(dynamic.set_dynamic(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG, "log.cleaner.threads", "0"),
            "Invalid value 0 for configuration log.cleaner.threads: Log cleaner threads should be at least 1");
  EXPECT_EQ(dynamic.set_dynamic(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG, "log.cleaner.threads", "1"), std::nullopt);
  // log.cleaner.io.buffer.size: [0,...] in Kafka; Samsa's cleaner sizes its
  // buffers from the batches it reads, so 0 is accepted and harmless.
  EXPECT_EQ(ok(*find_broker_config("log.cleaner.io.buffer.size"), "0"), "ok");
  EXPECT_EQ(ok(*find_broker_config("log.cleaner.io.buffer.size"), "-1"),
            "Invalid value -1 for configuration log.cleaner.io.buffer.size: Value must be at least 0");
}

TEST(ConfigRules, DefaultsPassEveryRule) {
  BrokerConfig defaults;
  auto lookup = [&](std::string_view k) { return defaults.value(k); };
  EXPECT_EQ(check_rules(broker_config_rules(), lookup), std::nullopt);
  for (const ConfigRule& rule : broker_config_rules()) {
    EXPECT_NE(find_broker_config(rule.key), nullptr) << rule.key;
    for (auto key : rule.reads) EXPECT_NE(find_broker_config(key), nullptr) << rule.key << " reads " << key;
    EXPECT_FALSE(rule.description.empty());
  }
  for (const ConfigRule& rule : topic_config_rules()) {
    EXPECT_NE(find_topic_config(rule.key), nullptr) << rule.key;
  }
}

TEST(ConfigRules, KafkaConfigValidateValuesAtStartUp) {
  EXPECT_EQ(range_load_error({{"log.roll.ms", "0"}}), "log.roll.ms must be greater than or equal to 1");
  EXPECT_TRUE(loads({{"log.roll.ms", "1"}}));
  EXPECT_EQ(range_load_error({{"log.roll.jitter.ms", "-1"}}), "log.roll.jitter.ms must be greater than or equal to 0");
  EXPECT_EQ(range_load_error({{"log.retention.ms", "0"}}),
            "log.retention.ms must be unlimited (-1) or, greater than or equal to 1");
  EXPECT_EQ(range_load_error({{"log.retention.hours", "0"}}),
            "log.retention.ms must be unlimited (-1) or, greater than or equal to 1");
  EXPECT_TRUE(loads({{"log.retention.hours", "0"}, {"log.retention.ms", "-7"}}));  // negative: no limit
  EXPECT_TRUE(loads({{"log.retention.minutes", "1"}}));
  EXPECT_EQ(range_load_error({{"log.cleaner.dedupe.buffer.size", "1048576"}}),
            "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.");
  EXPECT_TRUE(loads({{"log.cleaner.dedupe.buffer.size", "1048577"}}));
  EXPECT_EQ(range_load_error({{"log.cleaner.dedupe.buffer.size", "4194304"}, {"log.cleaner.threads", "4"}}),
            "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.");
  EXPECT_EQ(range_load_error({{"log.cleaner.min.compaction.lag.ms", "10"}, {"log.cleaner.max.compaction.lag.ms", "9"}}),
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (9)");
  EXPECT_EQ(range_load_error({{"replica.fetch.wait.max.ms", "30001"}}),
            "replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms to prevent unnecessary "
            "socket timeouts");
  EXPECT_EQ(range_load_error({{"replica.fetch.wait.max.ms", "600"}, {"replica.lag.time.max.ms", "599"}}),
            "replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms to prevent "
            "frequent changes in ISR");
  EXPECT_EQ(range_load_error({{"queued.max.request.bytes", "1000"}}),
            "queued.max.request.bytes must be larger or equal to socket.request.max.bytes");
  EXPECT_TRUE(loads({{"queued.max.request.bytes", "104857600"}}));
  EXPECT_EQ(range_load_error({{"max.connections.per.ip", "0"}}),
            "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set.");
  EXPECT_TRUE(loads({{"max.connections.per.ip", "0"}, {"max.connections.per.ip.overrides", "127.0.0.1:10, ::1:5"}}));
  EXPECT_EQ(range_load_error({{"max.connections.per.ip.overrides", "127.0.0.1"}}),
            "Invalid value 127.0.0.1 for configuration max.connections.per.ip.overrides: entry '127.0.0.1' is not "
            "of the form host:count");
  EXPECT_EQ(range_load_error({{"max.connections.per.ip.overrides", "a/b:3"}}),
            "max.connections.per.ip.overrides contains invalid addresses : a/b");
  EXPECT_EQ(range_load_error({{"connections.max.idle.ms", "100"}}),
            "connection.failed.authentication.delay.ms=100 should always be less than connections.max.idle.ms=100 to prevent "
            "failed authentication responses from timing out");
  EXPECT_TRUE(loads({{"connections.max.idle.ms", "-1"}}));
  EXPECT_EQ(range_load_error({{"group.consumer.heartbeat.interval.ms", "45000"}}),
            "group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms");
  EXPECT_EQ(range_load_error({{"group.consumer.min.session.timeout.ms", "70000"}}),
            "group.consumer.max.session.timeout.ms must be greater than or equal to "
            "group.consumer.min.session.timeout.ms");
}

TEST(ConfigRules, DynamicChangesAreCheckedTogether) {
  BrokerConfig c;
  const auto layer = ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG;
  // One at a time the second change alone would break a rule; together they hold.
  EXPECT_EQ(c.set_dynamic(layer, "log.cleaner.max.compaction.lag.ms", "5"),
            std::nullopt);
  EXPECT_EQ(c.set_dynamic(layer, "log.cleaner.min.compaction.lag.ms", "10"),
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)");
  EXPECT_EQ(c.set_dynamic(layer, BrokerConfig::DynamicChanges{{"log.cleaner.min.compaction.lag.ms", "10"},
                                                              {"log.cleaner.max.compaction.lag.ms", "20"}}),
            std::nullopt);
  EXPECT_EQ(c.value("log.cleaner.max.compaction.lag.ms"), "20");
  // A failed batch changes nothing.
  EXPECT_NE(c.set_dynamic(layer, BrokerConfig::DynamicChanges{{"log.cleaner.max.compaction.lag.ms", "30"},
                                                              {"log.retention.ms", "0"}}),
            std::nullopt);
  EXPECT_EQ(c.value("log.cleaner.max.compaction.lag.ms"), "20");
  EXPECT_EQ(c.set_dynamic(layer, "log.retention.ms", "0"),
            "log.retention.ms must be unlimited (-1) or, greater than or equal to 1");
  EXPECT_EQ(c.set_dynamic(layer, "message.max.bytes", "-1"),
            "Invalid value -1 for configuration message.max.bytes: Value must be at least 0");
}

// listener.name.<l>.<key>: one listener's value of a dynamic key, per broker only (a new key store).
TEST(ConfigRules, ListenerPrefixedKeysAreDynamicPerBroker) {
  BrokerConfig c;
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_BROKER_CONFIG, "listener.name.ssl.ssl.keystore.location", "/k.pem"),
            std::nullopt);
  EXPECT_EQ(c.listener_value("SSL", "ssl.keystore.location"), "/k.pem");
  EXPECT_EQ(c.listener_value("OTHER", "ssl.keystore.location"), std::nullopt);
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG, "listener.name.ssl.ssl.keystore.location", "/k"),
            "Cannot update these configs at default cluster level, broker id must be specified: "
            "Set(listener.name.ssl.ssl.keystore.location)");
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_BROKER_CONFIG, "listener.name.ssl.no.such.key", "1"),
            "Unknown broker config name: listener.name.ssl.no.such.key");
  EXPECT_NE(c.set_dynamic(ConfigSource::DYNAMIC_BROKER_CONFIG, "listener.name.ssl.node.id", "3"), std::nullopt);
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_BROKER_CONFIG, "listener.name.ssl.ssl.keystore.location", std::nullopt),
            std::nullopt);
  EXPECT_EQ(c.listener_value("SSL", "ssl.keystore.location"), std::nullopt);
}

TEST(ConfigRules, TopicRulesSeeBrokerDefaultsAndKeptOverrides) {
  using Map = std::map<std::string, std::string, std::less<>>;
  auto err = [](const Map& m, const BrokerConfig* b = nullptr) {
    auto e = validate_topic_configs(m, b);
    if (e) {
      EXPECT_EQ(e->first, ErrorCode::INVALID_CONFIG);
    }
    return e ? e->second : std::string("ok");
  };
  EXPECT_EQ(err({{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "9"}}),
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (9)");
  EXPECT_EQ(err({{"remote.storage.enable", "true"}}),
            "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log "
            "storage.");
  EXPECT_EQ(err({{"remote.storage.enable", "false"}}), "ok");
  std::vector<std::string> warnings;
  auto tiered = std::get<BrokerConfig>(
      load_broker_config(std::nullopt, {{"remote.log.storage.system.enable", "true"}}, warnings));
  EXPECT_EQ(err({{"remote.storage.enable", "true"}}, &tiered), "ok");
  EXPECT_EQ(err({{"segment.index.bytes", "3"}}),
            "Invalid value 3 for configuration segment.index.bytes: Value must be at least 4");
  EXPECT_EQ(err({{"segment.index.bytes", "4"}, {"index.interval.bytes", "0"}, {"segment.bytes", "14"}}), "ok");
  EXPECT_EQ(err({{"min.insync.replicas", "0"}}),
            "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1");
  EXPECT_EQ(err({{"cleanup.policy", ""}}), "ok");  // an empty list is valid in Kafka 3.9
  EXPECT_EQ(err({{"message.timestamp.type", "createtime"}}),
            "Invalid value createtime for configuration message.timestamp.type: String must be one of: CreateTime, "
            "LogAppendTime");
  EXPECT_EQ(err({{"preallocate", "yes"}}),
            "Invalid value yes for configuration preallocate: Expected value to be either true or false");
  EXPECT_EQ(err({{"segment.ms", "0"}}), "Invalid value 0 for configuration segment.ms: Value must be at least 1");
}

}  // namespace
}  // namespace samsa::cluster
