// The config table generated from src/config/configs.def by tools/gen_config.py:
// checks over every row (so a typo in the data file fails here, not in a
// client), and a few of Kafka's defaults pinned by value.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "config/config_registry.h"
#include "config/config_table.h"

namespace samsa::config {
namespace {

std::string name_of(const ConfigDef& d) { return std::string(d.name); }

TEST(ConfigTable, GeneratedTablesAreNonEmptyAndServedSorted) {
  EXPECT_GT(generated_broker_config_defs().size(), 100u);
  EXPECT_GT(generated_topic_config_defs().size(), 30u);
  EXPECT_EQ(generated_broker_config_defs().size(), broker_config_defs().size());
  EXPECT_EQ(generated_topic_config_defs().size(), topic_config_defs().size());
  auto by_name = [](const ConfigDef& a, const ConfigDef& b) { return a.name < b.name; };
  EXPECT_TRUE(std::is_sorted(broker_config_defs().begin(), broker_config_defs().end(), by_name));
  EXPECT_TRUE(std::is_sorted(topic_config_defs().begin(), topic_config_defs().end(), by_name));
}

TEST(ConfigTable, NamesAreUniquePerKind) {
  for (const auto& defs : {generated_broker_config_defs(), generated_topic_config_defs()}) {
    std::set<std::string> seen;
    for (const auto& d : defs) EXPECT_TRUE(seen.insert(name_of(d)).second) << "duplicate key " << d.name;
  }
}

TEST(ConfigTable, KindFlagMatchesTheTable) {
  for (const auto& d : broker_config_defs()) EXPECT_FALSE(d.is_topic_config) << d.name;
  for (const auto& d : topic_config_defs()) {
    EXPECT_TRUE(d.is_topic_config) << d.name;
    EXPECT_EQ(d.update_mode, UpdateMode::kClusterWide) << d.name;
  }
}

// A default must pass its own key's validator (type, range, choices) and be
// printed the way Kafka prints the parsed value back.
TEST(ConfigTable, EveryDefaultIsValidAndCanonical) {
  for (const auto& defs : {broker_config_defs(), topic_config_defs()}) {
    for (const auto& d : defs) {
      if (!d.default_value) continue;
      const auto error = validate_value(d, *d.default_value);
      EXPECT_FALSE(error.has_value()) << d.name << ": " << error.value_or("");
      if (!error) {
        EXPECT_EQ(canonical_value(d, *d.default_value), *d.default_value) << d.name;
      }
    }
  }
}

TEST(ConfigTable, RangesAreWellFormed) {
  for (const auto& defs : {broker_config_defs(), topic_config_defs()}) {
    for (const auto& d : defs) {
      const Validator& v = d.validator;
      if (v.kind == ValidatorKind::kRange) {
        EXPECT_TRUE(v.min || v.max) << d.name;
        if (v.min && v.max) {
          EXPECT_LE(*v.min, *v.max) << d.name;
        }
        EXPECT_TRUE(v.choices.empty()) << d.name;
      } else if (v.kind == ValidatorKind::kOneOf || v.kind == ValidatorKind::kListOf ||
                 v.kind == ValidatorKind::kMetadataVersion) {
        EXPECT_FALSE(v.choices.empty()) << d.name;
      } else {
        EXPECT_FALSE(v.min || v.max) << d.name;
      }
      EXPECT_FALSE(d.documentation.empty()) << d.name;
    }
  }
}

// Synonyms name broker keys: a topic key's are the broker keys giving its
// default; a broker key's group contains the key itself.
TEST(ConfigTable, SynonymsNameKnownBrokerKeys) {
  for (const auto& defs : {broker_config_defs(), topic_config_defs()}) {
    for (const auto& d : defs) {
      for (auto s : d.synonyms) EXPECT_NE(find_broker_config(s), nullptr) << d.name << " -> " << s;
      if (!d.is_topic_config && !d.synonyms.empty()) {
        EXPECT_NE(std::find(d.synonyms.begin(), d.synonyms.end(), d.name), d.synonyms.end()) << d.name;
      }
    }
  }
}

std::string default_of(const ConfigDef* d) {
  if (d == nullptr) return "<missing key>";
  return d->default_value ? std::string(*d->default_value) : "<null>";
}

TEST(ConfigTable, KnownKafkaDefaults) {
  struct Known {
    bool topic;
    const char* name;
    const char* default_value;
  };
  const Known known[] = {
      {false, "log.segment.bytes", "1073741824"},   {false, "log.retention.hours", "168"},
      {false, "log.retention.ms", "<null>"},         {false, "message.max.bytes", "1048588"},
      {false, "num.partitions", "1"},                {false, "offsets.topic.num.partitions", "50"},
      {false, "listeners", "PLAINTEXT://:9092"},     {true, "retention.ms", "604800000"},
      {true, "segment.bytes", "1073741824"},         {true, "cleanup.policy", "delete"},
      {true, "max.message.bytes", "1048588"},        {true, "flush.messages", "9223372036854775807"},
  };
  for (const auto& k : known) {
    const ConfigDef* d = k.topic ? find_topic_config(k.name) : find_broker_config(k.name);
    EXPECT_EQ(default_of(d), k.default_value) << k.name;
  }

  const ConfigDef* segment = find_topic_config("segment.bytes");
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->type, ConfigType::INT);
  EXPECT_EQ(segment->validator.kind, ValidatorKind::kRange);
  EXPECT_EQ(segment->validator.min, 14);
  EXPECT_FALSE(segment->validator.max.has_value());

  const ConfigDef* retention = find_topic_config("retention.ms");
  ASSERT_NE(retention, nullptr);
  ASSERT_EQ(retention->synonyms.size(), 3u);
  EXPECT_EQ(retention->synonyms[0], "log.retention.ms");
  EXPECT_EQ(retention->synonyms[2], "log.retention.hours");

  const ConfigDef* compression = find_topic_config("compression.type");
  ASSERT_NE(compression, nullptr);
  EXPECT_EQ(compression->validator.kind, ValidatorKind::kOneOf);
  EXPECT_EQ(compression->validator.choices.size(), 6u);  // from "set compression_types"
}

}  // namespace
}  // namespace samsa::config
