#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/broker_config.h"
#include "config/config_registry.h"
#include "cluster/topic_name.h"

namespace samsa::cluster {
namespace {

PropertyList props_of(std::string_view text) {
  auto parsed = parse_properties(text);
  EXPECT_TRUE(std::holds_alternative<PropertyList>(parsed)) << std::get<std::string>(parsed);
  return std::holds_alternative<PropertyList>(parsed) ? std::get<PropertyList>(parsed) : PropertyList{};
}

BrokerConfig load_ok(const std::vector<std::pair<std::string, std::string>>& overrides,
                     std::vector<std::string>* warnings_out = nullptr) {
  std::vector<std::string> warnings;
  auto loaded = load_broker_config(std::nullopt, overrides, warnings);
  EXPECT_TRUE(std::holds_alternative<BrokerConfig>(loaded)) << std::get<std::string>(loaded);
  if (warnings_out) *warnings_out = warnings;
  return std::holds_alternative<BrokerConfig>(loaded) ? std::get<BrokerConfig>(loaded) : BrokerConfig{};
}

std::string config_load_error(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> warnings;
  auto loaded = load_broker_config(std::nullopt, overrides, warnings);
  EXPECT_TRUE(std::holds_alternative<std::string>(loaded));
  return std::holds_alternative<std::string>(loaded) ? std::get<std::string>(loaded) : "";
}

const ConfigEntry& entry(const std::vector<ConfigEntry>& entries, std::string_view name) {
  static const ConfigEntry missing;
  for (const auto& e : entries) {
    if (e.name == name) return e;
  }
  ADD_FAILURE() << "no entry " << name;
  return missing;
}

// ---- .properties ------------------------------------------------------------

TEST(ConfigProperties, SeparatorsCommentsAndWhitespace) {
  auto p = props_of(
      "# a comment\n"
      "! another comment\n"
      "\n"
      "   \t\n"
      "a=1\n"
      "  b : two  \n"
      "c three\n"
      "d\n"
      "e = = x\n"
      "log.dirs=/var/a, /var/b\n");
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(p[1], (std::pair<std::string, std::string>{"b", "two"}));
  EXPECT_EQ(p[2], (std::pair<std::string, std::string>{"c", "three"}));
  EXPECT_EQ(p[3], (std::pair<std::string, std::string>{"d", ""}));
  EXPECT_EQ(p[4], (std::pair<std::string, std::string>{"e", "= x"}));
  EXPECT_EQ(p[5], (std::pair<std::string, std::string>{"log.dirs", "/var/a, /var/b"}));
}

TEST(ConfigProperties, LineContinuation) {
  auto p = props_of(
      "listeners=PLAINTEXT://:9092,\\\n"
      "          CONTROLLER://:9093\n"
      "path=C:\\\\dir\\\\\n"  // even number of backslashes: no continuation
      "next=1\n"
      "# comment \\\n"
      "after=2\n");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].second, "PLAINTEXT://:9092,CONTROLLER://:9093");
  EXPECT_EQ(p[1].second, "C:\\dir\\");
  EXPECT_EQ(p[2], (std::pair<std::string, std::string>{"next", "1"}));
  // A comment line cannot be continued.
  EXPECT_EQ(p[3], (std::pair<std::string, std::string>{"after", "2"}));
}

TEST(ConfigProperties, Escapes) {
  auto p = props_of(
      "key\\=with\\:seps = v\n"
      "tab=a\\tb\n"
      "uni=\\u0041\\u00e9\n"
      "space=x\\ \n"
      "back=one\\\\two\n"
      "my\\ key=1\n"
      "other=\\q\n");
  ASSERT_EQ(p.size(), 7u);
  EXPECT_EQ(p[0].first, "key=with:seps");
  EXPECT_EQ(p[0].second, "v");
  EXPECT_EQ(p[1].second, "a\tb");
  EXPECT_EQ(p[2].second, "A\xC3\xA9");
  EXPECT_EQ(p[3].second, "x ");  // an escaped trailing space is kept
  EXPECT_EQ(p[4].second, "one\\two");
  EXPECT_EQ(p[5].first, "my key");
  EXPECT_EQ(p[6].second, "q");
}

TEST(ConfigProperties, CrLfAndMissingFinalNewline) {
  auto p = props_of("a=1\r\nb=2\rc=3");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[1].second, "2");
  EXPECT_EQ(p[2].second, "3");
}

TEST(ConfigProperties, MalformedUnicodeEscapeIsAnError) {
  auto parsed = parse_properties("ok=1\nbad=\\u12G4\n");
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_EQ(std::get<std::string>(parsed), "Malformed \\uxxxx encoding on line 2");
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_properties("bad=\\u12")));
}

// ---- registry -----------------------------------------------------------------

TEST(ConfigRegistry, WireEnumValues) {
  EXPECT_EQ(static_cast<int>(ConfigSource::UNKNOWN), 0);
  EXPECT_EQ(static_cast<int>(ConfigSource::DYNAMIC_TOPIC_CONFIG), 1);
  EXPECT_EQ(static_cast<int>(ConfigSource::DYNAMIC_BROKER_CONFIG), 2);
  EXPECT_EQ(static_cast<int>(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG), 3);
  EXPECT_EQ(static_cast<int>(ConfigSource::STATIC_BROKER_CONFIG), 4);
  EXPECT_EQ(static_cast<int>(ConfigSource::DEFAULT_CONFIG), 5);
  EXPECT_EQ(static_cast<int>(ConfigSource::DYNAMIC_BROKER_LOGGER_CONFIG), 6);
  EXPECT_EQ(static_cast<int>(ConfigType::BOOLEAN), 1);
  EXPECT_EQ(static_cast<int>(ConfigType::LONG), 5);
  EXPECT_EQ(static_cast<int>(ConfigType::PASSWORD), 9);
}

TEST(ConfigRegistry, EveryDefaultIsValidAndEverySynonymExists) {
  for (std::span<const ConfigDef> table : {broker_config_defs(), topic_config_defs()}) {
    for (const ConfigDef& def : table) {
      if (def.default_value) {
        EXPECT_EQ(validate_value(def, *def.default_value), std::nullopt) << def.name;
        EXPECT_EQ(canonical_value(def, *def.default_value), *def.default_value) << def.name;
      }
      EXPECT_FALSE(def.documentation.empty()) << def.name;
      for (auto syn : def.synonyms) EXPECT_NE(find_broker_config(syn), nullptr) << def.name << " <- " << syn;
    }
  }
  EXPECT_EQ(topic_config_defs().size(), 36u);
  EXPECT_TRUE(std::is_sorted(broker_config_defs().begin(), broker_config_defs().end(),
                             [](const ConfigDef& a, const ConfigDef& b) { return a.name < b.name; }));
}

TEST(ConfigRegistry, KafkaDefaults) {
  auto def = [](std::string_view n) { return find_broker_config(n)->default_value.value_or("null"); };
  EXPECT_EQ(def("num.partitions"), "1");
  EXPECT_EQ(def("default.replication.factor"), "1");
  EXPECT_EQ(def("message.max.bytes"), "1048588");
  EXPECT_EQ(def("log.retention.hours"), "168");
  EXPECT_EQ(def("log.retention.ms"), "null");
  EXPECT_EQ(def("socket.request.max.bytes"), "104857600");
  EXPECT_EQ(def("offsets.topic.num.partitions"), "50");
  EXPECT_EQ(def("offsets.retention.minutes"), "10080");
  EXPECT_EQ(def("group.initial.rebalance.delay.ms"), "3000");
  EXPECT_EQ(def("group.min.session.timeout.ms"), "6000");
  EXPECT_EQ(def("group.max.session.timeout.ms"), "1800000");
  EXPECT_EQ(def("transaction.max.timeout.ms"), "900000");
  EXPECT_EQ(def("producer.id.expiration.ms"), "86400000");
  EXPECT_EQ(def("log.retention.check.interval.ms"), "300000");
  EXPECT_EQ(def("num.network.threads"), "3");
  EXPECT_EQ(def("num.io.threads"), "8");
  EXPECT_EQ(find_broker_config("cluster.id"), nullptr);  // not a config in Kafka
  const ConfigDef* retention = find_topic_config("retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->type, ConfigType::LONG);
  EXPECT_EQ(retention->synonyms,
            (std::vector<std::string_view>{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}));
  EXPECT_TRUE(find_broker_config("message.max.bytes")->update_mode == UpdateMode::kClusterWide);
  EXPECT_TRUE(find_broker_config("ssl.keystore.password")->sensitive());
  EXPECT_TRUE(find_broker_config("num.partitions")->read_only());
}

TEST(ConfigRegistry, ValidationMessagesNameKeyValueAndRange) {
  auto check = [](const char* name, const char* value) {
    const ConfigDef* d = find_broker_config(name) ? find_broker_config(name) : find_topic_config(name);
    return validate_value(*d, value).value_or("ok");
  };
  EXPECT_EQ(check("num.partitions", "-5"),
            "Invalid value -5 for configuration num.partitions: Value must be at least 1");
  EXPECT_EQ(check("num.partitions", " 7 "), "ok");
  EXPECT_EQ(check("num.partitions", "abc"), "Invalid value abc for configuration num.partitions: Not a number of type INT");
  EXPECT_EQ(check("num.partitions", "2147483648"),
            "Invalid value 2147483648 for configuration num.partitions: Not a number of type INT");
  EXPECT_EQ(check("offsets.topic.replication.factor", "40000"),
            "Invalid value 40000 for configuration offsets.topic.replication.factor: Not a number of type SHORT");
  EXPECT_EQ(check("auto.create.topics.enable", "yes"),
            "Invalid value yes for configuration auto.create.topics.enable: Expected value to be either true or "
            "false");
  EXPECT_EQ(check("auto.create.topics.enable", "TRUE"), "ok");
  EXPECT_EQ(check("cleanup.policy", "delete,foo"),
            "Invalid value foo for configuration cleanup.policy: String must be one of: compact, delete");
  EXPECT_EQ(check("cleanup.policy", "compact, delete"), "ok");
  EXPECT_EQ(check("compression.type", "brotli"),
            "Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, "
            "lz4, snappy, gzip, producer");
  EXPECT_EQ(check("min.cleanable.dirty.ratio", "1.5"),
            "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1");
  EXPECT_EQ(check("min.cleanable.dirty.ratio", "x"),
            "Invalid value x for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE");
  EXPECT_EQ(check("compression.gzip.level", "0"),
            "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1");
  EXPECT_EQ(check("compression.gzip.level", "-1"), "ok");
  EXPECT_EQ(check("segment.bytes", "13"), "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
  EXPECT_EQ(check("compression.zstd.level", "23"),
            "Invalid value 23 for configuration compression.zstd.level: Value must be no more than 22");
  EXPECT_EQ(check("leader.replication.throttled.replicas", "0:1, 1:2"), "ok");
  EXPECT_EQ(check("leader.replication.throttled.replicas", "*"), "ok");
  EXPECT_NE(check("leader.replication.throttled.replicas", "x:1"), "ok");
  EXPECT_EQ(check("message.timestamp.type", "LogAppendTime"), "ok");
  EXPECT_NE(check("message.timestamp.type", "logappendtime"), "ok");
  EXPECT_EQ(check("process.roles", "broker,controller"), "ok");
  EXPECT_NE(check("process.roles", "broker,observer"), "ok");
}

TEST(ConfigRegistry, CanonicalValuesAsKafkaPrintsThem) {
  auto canon = [](std::string_view name, std::string_view v) {
    const ConfigDef* d = find_topic_config(name) ? find_topic_config(name) : find_broker_config(name);
    return canonical_value(*d, v);
  };
  EXPECT_EQ(canon("preallocate", " TRUE "), "true");
  EXPECT_EQ(canon("retention.ms", "+5"), "5");
  EXPECT_EQ(canon("min.cleanable.dirty.ratio", "0.50"), "0.5");
  EXPECT_EQ(canon("min.cleanable.dirty.ratio", "1"), "1.0");
  EXPECT_EQ(canon("cleanup.policy", " delete ,  compact "), "delete,compact");
  EXPECT_EQ(canon("compression.type", " lz4 "), "lz4");
}

TEST(ConfigRegistry, JavaDoubleNotation) {
  EXPECT_EQ(java_double_string(0.5), "0.5");
  EXPECT_EQ(java_double_string(1.0), "1.0");
  EXPECT_EQ(java_double_string(123.456), "123.456");
  EXPECT_EQ(java_double_string(9999999.0), "9999999.0");
  EXPECT_EQ(java_double_string(1e7), "1.0E7");
  EXPECT_EQ(java_double_string(1e10), "1.0E10");
  EXPECT_EQ(java_double_string(0.001), "0.001");
  EXPECT_EQ(java_double_string(0.0001), "1.0E-4");
  EXPECT_EQ(java_double_string(-2.5), "-2.5");
  EXPECT_EQ(java_double_string(1.7976931348623157E308), "1.7976931348623157E308");
}

TEST(ConfigRegistry, JavaNumberParsing) {
  EXPECT_EQ(parse_int32("-2147483648"), INT32_MIN);
  EXPECT_EQ(parse_int32("2147483647"), INT32_MAX);
  EXPECT_EQ(parse_int32("2147483648"), std::nullopt);
  EXPECT_EQ(parse_int32("+12"), 12);
  EXPECT_EQ(parse_int32("1 2"), std::nullopt);
  EXPECT_EQ(parse_int32("-"), std::nullopt);
  EXPECT_EQ(parse_int64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_int64("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parse_double("1e3"), 1000.0);
  EXPECT_EQ(parse_double("2.5d"), 2.5);
  EXPECT_EQ(parse_double("inf"), std::nullopt);
  EXPECT_EQ(parse_list(""), std::vector<std::string>{});
  EXPECT_EQ(parse_list("a,,b"), (std::vector<std::string>{"a", "", "b"}));
}

// ---- broker config ------------------------------------------------------------------

TEST(BrokerConfig, DefaultsForASingleNode) {
  BrokerConfig c;
  EXPECT_EQ(c.node_id(), 1);  // node.id -1 means "the single node"
  EXPECT_TRUE(c.is_broker());
  EXPECT_TRUE(c.is_controller());
  EXPECT_EQ(c.log_dirs(), std::vector<std::string>{"/tmp/kraft-combined-logs"});
  EXPECT_EQ(c.metadata_log_dir(), "/tmp/kraft-combined-logs");
  ASSERT_EQ(c.listeners().size(), 1u);
  EXPECT_EQ(c.listeners()[0].listener_name, "PLAINTEXT");
  EXPECT_EQ(c.listeners()[0].host, "");
  EXPECT_EQ(c.listeners()[0].port, 9092);
  EXPECT_EQ(c.listeners()[0].security_protocol, "PLAINTEXT");
  EXPECT_EQ(c.inter_broker_listener_name(), "PLAINTEXT");
  EXPECT_EQ(c.log_retention_ms(), 168LL * 3600 * 1000);
  EXPECT_EQ(c.log_roll_ms(), 168LL * 3600 * 1000);
  EXPECT_EQ(c.log_flush_interval_ms(), INT64_MAX);
  EXPECT_EQ(c.num_partitions(), 1);
  EXPECT_EQ(c.message_max_bytes(), 1048588);
  EXPECT_EQ(c.socket_request_max_bytes(), 104857600);
  EXPECT_EQ(c.offsets_topic_num_partitions(), 50);
  EXPECT_EQ(c.offsets_retention_ms(), 10080LL * 60000);
  EXPECT_EQ(c.transaction_max_timeout_ms(), 900000);
  EXPECT_EQ(c.group_max_size(), INT32_MAX);
  EXPECT_TRUE(c.quorum_voters().empty());
}

TEST(BrokerConfig, RetentionPrecedenceMsOverMinutesOverHours) {
  EXPECT_EQ(load_ok({{"log.retention.hours", "2"}}).log_retention_ms(), 2 * 3600000LL);
  EXPECT_EQ(load_ok({{"log.retention.hours", "2"}, {"log.retention.minutes", "3"}}).log_retention_ms(), 180000);
  EXPECT_EQ(load_ok({{"log.retention.hours", "2"}, {"log.retention.minutes", "3"}, {"log.retention.ms", "1234"}})
                .log_retention_ms(),
            1234);
  EXPECT_EQ(load_ok({{"log.retention.ms", "-5"}}).log_retention_ms(), -1);
  EXPECT_EQ(load_ok({{"log.roll.hours", "1"}}).log_roll_ms(), 3600000);
  EXPECT_EQ(load_ok({{"log.roll.hours", "1"}, {"log.roll.ms", "10"}}).log_roll_ms(), 10);
  EXPECT_EQ(load_ok({{"log.flush.scheduler.interval.ms", "2000"}}).log_flush_interval_ms(), 2000);
}

// A LONG key read through get_int gives its value when it fits (it once gave nullopt, so
// replica.lag.time.max.ms=4000 ran as the 30000 default and a silent follower stayed in the ISR).
TEST(BrokerConfig, IntReadOfALongKeyGivesItsValue) {
  const auto c = load_ok({{"replica.lag.time.max.ms", "4000"}, {"log.retention.check.interval.ms", "9000000000"}});
  EXPECT_EQ(c.get_int("replica.lag.time.max.ms"), 4000);
  EXPECT_EQ(c.replica_lag_time_max_ms(), 4000);
  EXPECT_EQ(c.get_int("log.retention.check.interval.ms"), std::nullopt);  // does not fit: no wrapped value
  EXPECT_EQ(c.get_long("log.retention.check.interval.ms"), 9000000000LL);
}

TEST(BrokerConfig, LoadsFileThenOverridesAndWarnsOnUnknownKeys) {
  const auto path = std::filesystem::temp_directory_path() / ("samsa_config_test_" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    out << "# sample\nnode.id=3\nnum.partitions=-5\nlog.dirs=/data/a, /data/b\ncustom.plugin.setting=localhost:2181\n"
           "log.dir=/ignored\n";
  }
  std::vector<std::string> warnings;
  auto loaded = load_broker_config(path.string(), {{"num.partitions", "4"}}, warnings);
  std::filesystem::remove(path);
  ASSERT_TRUE(std::holds_alternative<BrokerConfig>(loaded)) << std::get<std::string>(loaded);
  const auto& c = std::get<BrokerConfig>(loaded);
  EXPECT_EQ(c.node_id(), 3);
  EXPECT_EQ(c.num_partitions(), 4);  // the override replaces the file's bad value
  EXPECT_EQ(c.log_dirs(), (std::vector<std::string>{"/data/a", "/data/b"}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "The configuration 'custom.plugin.setting' was supplied but isn't a known config.");
  EXPECT_EQ(c.source("num.partitions"), ConfigSource::STATIC_BROKER_CONFIG);
  EXPECT_EQ(c.source("num.io.threads"), ConfigSource::DEFAULT_CONFIG);

  auto missing = load_broker_config(std::string("/nonexistent/samsa.properties"), {}, warnings);
  ASSERT_TRUE(std::holds_alternative<std::string>(missing));
  EXPECT_NE(std::get<std::string>(missing).find("/nonexistent/samsa.properties"), std::string::npos);
}

TEST(BrokerConfig, InvalidValuesAreErrorsNamingKeyValueAndRange) {
  EXPECT_EQ(config_load_error({{"num.partitions", "-5"}}),
            "Invalid value -5 for configuration num.partitions: Value must be at least 1");
  EXPECT_EQ(config_load_error({{"log.cleanup.policy", "remove"}}),
            "Invalid value remove for configuration log.cleanup.policy: String must be one of: compact, delete");
  EXPECT_EQ(config_load_error({{"node.id", "2"}, {"broker.id", "3"}}),
            "You must set `node.id` to the same value as `broker.id`.");
  EXPECT_EQ(config_load_error({{"log.dirs", " , "}, {"log.dir", ""}}),
            "At least one log directory must be defined via log.dirs or log.dir.");
  EXPECT_EQ(validate_value("num.io.threads", "0"),
            "Invalid value 0 for configuration num.io.threads: Value must be at least 1");
  EXPECT_EQ(validate_value("no.such.key", "x"), std::nullopt);
  EXPECT_EQ(load_ok({{"broker.id", "7"}}).node_id(), 7);
  EXPECT_EQ(load_ok({{"log.dir", "/one"}}).log_dirs(), std::vector<std::string>{"/one"});
}

TEST(BrokerConfig, Listeners) {
  auto c = load_ok({{"listeners", "PLAINTEXT://localhost:9092, CONTROLLER://:9093,SSL://[::1]:9094"},
                    {"controller.listener.names", "CONTROLLER"}});
  ASSERT_EQ(c.listeners().size(), 3u);
  EXPECT_EQ(c.listeners()[1].listener_name, "CONTROLLER");
  EXPECT_EQ(c.listeners()[1].security_protocol, "PLAINTEXT");  // KRaft default mapping
  EXPECT_EQ(c.listeners()[2].host, "::1");
  EXPECT_EQ(c.listeners()[2].security_protocol, "SSL");
  ASSERT_EQ(c.advertised_listeners().size(), 2u);  // controller listeners are not advertised
  EXPECT_EQ(c.advertised_listeners()[0].host, "localhost");

  auto custom = load_ok({{"listeners", "client://0.0.0.0:19092"},
                         {"listener.security.protocol.map", "CLIENT:SASL_PLAINTEXT"},
                         {"advertised.listeners", "CLIENT://broker.example:19092"}});
  EXPECT_EQ(custom.listeners()[0].listener_name, "CLIENT");
  EXPECT_EQ(custom.listeners()[0].security_protocol, "SASL_PLAINTEXT");
  EXPECT_EQ(custom.advertised_listeners()[0].host, "broker.example");

  EXPECT_EQ(config_load_error({{"listeners", "PLAINTEXT://localhost"}}),
            "Invalid value PLAINTEXT://localhost for configuration listeners: Unable to parse PLAINTEXT://localhost "
            "to a broker endpoint");
  EXPECT_EQ(config_load_error({{"listeners", "CLIENT://:9092"}}), "No security protocol defined for listener CLIENT");
  EXPECT_EQ(config_load_error({{"listeners", "PLAINTEXT://:9092,PLAINTEXT://:9093"}}),
            "Each listener must have a different name, listeners: PLAINTEXT://:9092,PLAINTEXT://:9093");
  EXPECT_EQ(config_load_error({{"advertised.listeners", "PLAINTEXT://0.0.0.0:9092"}}),
            "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.");
  EXPECT_NE(config_load_error({{"inter.broker.listener.name", "REPLICATION"}}).find("inter.broker.listener.name"),
            std::string::npos);
}

TEST(BrokerConfig, QuorumVotersAndRoles) {
  auto c = load_ok({{"controller.quorum.voters", "1@localhost:9093,2@[::1]:9094"}, {"process.roles", "broker"}});
  ASSERT_EQ(c.quorum_voters().size(), 2u);
  EXPECT_EQ(c.quorum_voters()[1].id, 2);
  EXPECT_EQ(c.quorum_voters()[1].host, "::1");
  EXPECT_EQ(c.quorum_voters()[1].port, 9094);
  EXPECT_TRUE(c.is_broker());
  EXPECT_FALSE(c.is_controller());
  EXPECT_EQ(config_load_error({{"controller.quorum.voters", "localhost:9093"}}),
            "Invalid value localhost:9093 for configuration controller.quorum.voters: Entry 'localhost:9093' is not "
            "of the form {id}@{host}:{port}");
}

TEST(BrokerConfig, DynamicUpdates) {
  BrokerConfig c;
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG, "num.partitions", "3"),
            "Cannot update these configs dynamically: Set(num.partitions)");
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG, "listeners", "PLAINTEXT://:1"),
            "Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)");
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG, "log.retention.ms", "x"),
            "Invalid value x for configuration log.retention.ms: Not a number of type LONG");
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG, "log.retention.ms", "5000"), std::nullopt);
  EXPECT_EQ(c.log_retention_ms(), 5000);
  EXPECT_EQ(c.source("log.retention.ms"), ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG);
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_BROKER_CONFIG, "log.retention.ms", "6000"), std::nullopt);
  EXPECT_EQ(c.log_retention_ms(), 6000);
  EXPECT_EQ(c.set_dynamic(ConfigSource::DYNAMIC_BROKER_CONFIG, "log.retention.ms", std::nullopt), std::nullopt);
  EXPECT_EQ(c.log_retention_ms(), 5000);
}

// ---- DescribeConfigs ------------------------------------------------------------------

TEST(DescribeTopicConfig, DefaultsComeFromBrokerSynonyms) {
  BrokerConfig broker;
  auto entries = describe_topic_config({}, broker);
  EXPECT_EQ(entries.size(), topic_config_defs().size());
  const auto& retention = entry(entries, "retention.ms");
  EXPECT_EQ(retention.value, "604800000");
  EXPECT_EQ(retention.source, ConfigSource::DEFAULT_CONFIG);
  EXPECT_TRUE(retention.is_default);
  EXPECT_FALSE(retention.read_only);
  EXPECT_FALSE(retention.sensitive);
  EXPECT_EQ(retention.type, ConfigType::LONG);
  // Kafka lists a topic key's broker synonyms from its canonical broker key
  // on: log.retention.ms is unset, so log.retention.hours' default is not
  // listed (kafkajs' describeConfigs test expects no synonym here).
  EXPECT_TRUE(retention.synonyms.empty());

  EXPECT_EQ(entry(entries, "max.message.bytes").value, "1048588");
  ASSERT_EQ(entry(entries, "max.message.bytes").synonyms.size(), 1u);
  EXPECT_EQ(entry(entries, "max.message.bytes").synonyms[0].name, "message.max.bytes");
  EXPECT_EQ(entry(entries, "max.message.bytes").synonyms[0].source, ConfigSource::DEFAULT_CONFIG);
  EXPECT_EQ(entry(entries, "segment.ms").value, "604800000");
  EXPECT_TRUE(entry(entries, "segment.ms").synonyms.empty());
  EXPECT_EQ(entry(entries, "flush.ms").value, "9223372036854775807");
  EXPECT_TRUE(entry(entries, "flush.ms").synonyms.empty());
  EXPECT_EQ(entry(entries, "cleanup.policy").value, "delete");
  EXPECT_EQ(entry(entries, "follower.replication.throttled.replicas").value, "");
  EXPECT_TRUE(entry(entries, "follower.replication.throttled.replicas").synonyms.empty());
  EXPECT_EQ(entry(entries, "min.cleanable.dirty.ratio").value, "0.5");
}

TEST(DescribeTopicConfig, OverridesAndStaticBrokerValues) {
  BrokerConfig broker = load_ok({{"log.retention.hours", "72"}, {"log.segment.bytes", "1048576"}});
  auto entries = describe_topic_config({{"retention.bytes", "1000"}, {"cleanup.policy", "compact , delete"}}, broker);

  // The value follows log.retention.hours, but Kafka reports neither a
  // synonym nor a source for it: only log.retention.ms starts the list.
  const auto& retention = entry(entries, "retention.ms");
  EXPECT_EQ(retention.value, std::to_string(72LL * 3600000));
  EXPECT_EQ(retention.source, ConfigSource::DEFAULT_CONFIG);
  EXPECT_TRUE(retention.synonyms.empty());

  const auto& bytes = entry(entries, "retention.bytes");
  EXPECT_EQ(bytes.value, "1000");
  EXPECT_EQ(bytes.source, ConfigSource::DYNAMIC_TOPIC_CONFIG);
  ASSERT_EQ(bytes.synonyms.size(), 2u);
  EXPECT_EQ(bytes.synonyms[0].name, "retention.bytes");
  EXPECT_EQ(bytes.synonyms[0].source, ConfigSource::DYNAMIC_TOPIC_CONFIG);
  EXPECT_EQ(bytes.synonyms[1].name, "log.retention.bytes");

  EXPECT_EQ(entry(entries, "cleanup.policy").value, "compact,delete");
  EXPECT_EQ(entry(entries, "segment.bytes").value, "1048576");
  EXPECT_EQ(entry(entries, "segment.bytes").source, ConfigSource::STATIC_BROKER_CONFIG);

  // Minutes take precedence over hours; ms over both.
  BrokerConfig minutes = load_ok({{"log.retention.hours", "72"}, {"log.retention.minutes", "30"}});
  const auto e = describe_topic_config({}, minutes, std::vector<std::string>{"retention.ms"});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].value, "1800000");
  EXPECT_TRUE(e[0].synonyms.empty());

  // With log.retention.ms set, it and every later synonym are listed,
  // layer by layer (static, then defaults).
  BrokerConfig ms = load_ok({{"log.retention.ms", "5000"}, {"log.retention.minutes", "30"}});
  const auto m = describe_topic_config({{"retention.ms", "7000"}}, ms, std::vector<std::string>{"retention.ms"});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].value, "7000");
  EXPECT_EQ(m[0].source, ConfigSource::DYNAMIC_TOPIC_CONFIG);
  ASSERT_EQ(m[0].synonyms.size(), 4u);
  EXPECT_EQ(m[0].synonyms[0].name, "retention.ms");
  EXPECT_EQ(m[0].synonyms[1].name, "log.retention.ms");
  EXPECT_EQ(m[0].synonyms[1].value, "5000");
  EXPECT_EQ(m[0].synonyms[1].source, ConfigSource::STATIC_BROKER_CONFIG);
  EXPECT_EQ(m[0].synonyms[2].name, "log.retention.minutes");
  EXPECT_EQ(m[0].synonyms[2].source, ConfigSource::STATIC_BROKER_CONFIG);
  EXPECT_EQ(m[0].synonyms[3].name, "log.retention.hours");
  EXPECT_EQ(m[0].synonyms[3].value, "168");
  EXPECT_EQ(m[0].synonyms[3].source, ConfigSource::DEFAULT_CONFIG);
  EXPECT_EQ(describe_topic_config({}, ms, std::vector<std::string>{"retention.ms"})[0].source,
            ConfigSource::STATIC_BROKER_CONFIG);

  BrokerConfig unlimited = load_ok({{"log.retention.ms", "-7"}});
  EXPECT_EQ(describe_topic_config({}, unlimited, std::vector<std::string>{"retention.ms"})[0].value, "-1");
}

TEST(DescribeTopicConfig, KeyFilterAndDynamicBrokerLayer) {
  BrokerConfig broker;
  ASSERT_EQ(broker.set_dynamic(ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG, "log.cleanup.policy", "compact"),
            std::nullopt);
  const std::vector<std::string> keys{"cleanup.policy", "not.a.config"};
  auto entries = describe_topic_config({}, broker, keys, /*include_synonyms=*/false);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].value, "compact");
  EXPECT_EQ(entries[0].source, ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG);
  EXPECT_TRUE(entries[0].synonyms.empty());
}

TEST(DescribeBrokerConfig, SourcesSynonymsAndSensitivity) {
  std::vector<std::string> warnings;
  BrokerConfig broker = load_ok({{"num.partitions", "3"},
                                 {"log.retention.hours", "24"},
                                 {"ssl.keystore.password", "secret"},
                                 {"listener.name.internal.ssl.key.password", "hidden"}},
                                &warnings);
  auto entries = describe_broker_config(broker);
  const auto& partitions = entry(entries, "num.partitions");
  EXPECT_EQ(partitions.value, "3");
  EXPECT_EQ(partitions.source, ConfigSource::STATIC_BROKER_CONFIG);
  EXPECT_TRUE(partitions.read_only);
  EXPECT_EQ(partitions.type, ConfigType::INT);
  ASSERT_EQ(partitions.synonyms.size(), 2u);
  EXPECT_EQ(partitions.synonyms[1].source, ConfigSource::DEFAULT_CONFIG);
  EXPECT_EQ(partitions.synonyms[1].value, "1");

  // Kafka reports log.retention.ms itself: null, default, no synonyms.
  const auto& ms = entry(entries, "log.retention.ms");
  EXPECT_EQ(ms.value, std::nullopt);
  EXPECT_EQ(ms.source, ConfigSource::DEFAULT_CONFIG);
  EXPECT_TRUE(ms.synonyms.empty());
  EXPECT_FALSE(ms.read_only);

  const auto& hours = entry(entries, "log.retention.hours");
  EXPECT_EQ(hours.value, "24");
  EXPECT_EQ(hours.source, ConfigSource::STATIC_BROKER_CONFIG);

  const auto& password = entry(entries, "ssl.keystore.password");
  EXPECT_EQ(password.value, std::nullopt);
  EXPECT_TRUE(password.sensitive);
  EXPECT_EQ(password.synonyms[0].value, std::nullopt);

  const auto& unknown = entry(entries, "listener.name.internal.ssl.key.password");
  EXPECT_EQ(unknown.value, std::nullopt);
  EXPECT_TRUE(unknown.sensitive);
  EXPECT_EQ(unknown.source, ConfigSource::STATIC_BROKER_CONFIG);

  EXPECT_FALSE(entry(entries, "message.max.bytes").read_only);
  EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end(),
                             [](const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; }));
}

TEST(TopicConfigValidation, KafkaMessages) {
  using Map = std::map<std::string, std::string, std::less<>>;
  EXPECT_EQ(validate_topic_configs(Map{{"retention.ms", "1000"}, {"cleanup.policy", "compact"}}), std::nullopt);
  auto unknown = validate_topic_configs(Map{{"foo", "1"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->first, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(unknown->second, "Unknown topic config name: foo");
  auto bad = validate_topic_configs(Map{{"retention.ms", "-2"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->second, "Invalid value -2 for configuration retention.ms: Value must be at least -1");
  auto lag = validate_topic_configs(Map{{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "5"}});
  ASSERT_TRUE(lag);
  EXPECT_EQ(lag->second, "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)");
  BrokerConfig broker = load_ok({{"log.cleaner.max.compaction.lag.ms", "100"}});
  EXPECT_TRUE(validate_topic_configs(Map{{"min.compaction.lag.ms", "200"}}, &broker));
  EXPECT_FALSE(validate_topic_configs(Map{{"min.compaction.lag.ms", "200"}}));

  std::map<std::string, std::optional<std::string>, std::less<>> with_null{{"retention.ms", std::nullopt}};
  auto null_value = validate_topic_configs(with_null);
  ASSERT_TRUE(null_value);
  EXPECT_EQ(null_value->second, "Null value not supported for topic configs: retention.ms");

  EXPECT_EQ(canonical_topic_configs({{"preallocate", "TRUE"}, {"retention.ms", " 10"}}),
            (TopicOverrides{{"preallocate", "true"}, {"retention.ms", "10"}}));
}

TEST(TopicConfigValidation, ResolvedTypedConfig) {
  BrokerConfig broker = load_ok({{"log.retention.hours", "1"}, {"log.message.timestamp.type", "LogAppendTime"}});
  auto c = resolve_topic_config({{"cleanup.policy", "compact"}, {"max.message.bytes", "2048"}}, broker);
  EXPECT_TRUE(c.cleanup_compact);
  EXPECT_FALSE(c.cleanup_delete);
  EXPECT_EQ(c.max_message_bytes, 2048);
  EXPECT_EQ(c.retention_ms, 3600000);
  EXPECT_TRUE(c.log_append_time);
  EXPECT_EQ(c.segment_bytes, 1073741824);
  EXPECT_EQ(c.compression_type, "producer");
  EXPECT_DOUBLE_EQ(c.min_cleanable_dirty_ratio, 0.5);
}

// ---- topic names ----------------------------------------------------------------------

TEST(TopicName, KafkaRules) {
  EXPECT_TRUE(is_valid_topic_name("orders"));
  EXPECT_TRUE(is_valid_topic_name("a.b_c-D9"));
  EXPECT_TRUE(is_valid_topic_name(std::string(249, 'x')));
  EXPECT_EQ(topic_name_error(""), "Topic name is invalid: the empty string is not allowed");
  EXPECT_EQ(topic_name_error("."), "Topic name is invalid: '.' is not allowed");
  EXPECT_EQ(topic_name_error(".."), "Topic name is invalid: '..' is not allowed");
  EXPECT_EQ(topic_name_error(std::string(250, 'x')),
            "Topic name is invalid: the length of '" + std::string(250, 'x') +
                "' is longer than the max allowed length 249");
  EXPECT_EQ(topic_name_error("a b"),
            "Topic name is invalid: 'a b' contains one or more characters other than ASCII alphanumerics, '.', '_' "
            "and '-'");
  EXPECT_FALSE(is_valid_topic_name("a/b"));
  EXPECT_FALSE(is_valid_topic_name("caf\xC3\xA9"));
  EXPECT_TRUE(is_valid_topic_name("..."));
}

TEST(TopicName, CollisionsAndInternalTopics) {
  EXPECT_TRUE(topics_collide("a.b", "a_b"));
  EXPECT_TRUE(topics_collide("a_b", "a_b"));
  EXPECT_FALSE(topics_collide("a.b", "a-b"));
  EXPECT_FALSE(topics_collide("a.b", "a.bc"));
  EXPECT_TRUE(has_collision_chars("x.y"));
  EXPECT_FALSE(has_collision_chars("xy-z"));
  EXPECT_EQ(unify_collision_chars("a.b_c.d"), "a_b_c_d");
  EXPECT_EQ(topic_collision_message("a.b", "a_b"), "Topic 'a.b' collides with existing topic: a_b");
  EXPECT_TRUE(is_internal_topic("__consumer_offsets"));
  EXPECT_TRUE(is_internal_topic("__transaction_state"));
  EXPECT_FALSE(is_internal_topic("__cluster_metadata"));
  EXPECT_FALSE(is_internal_topic("orders"));
}

}  // namespace
}  // namespace samsa::cluster
