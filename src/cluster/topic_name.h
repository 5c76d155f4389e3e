// Kafka's topic name rules (org.apache.kafka.common.internals.Topic):
// non-empty, not "." or "..", at most 249 characters, only ASCII
// alphanumerics, '.', '_' and '-'. Names that differ only by '.' versus '_'
// collide (metric names cannot tell them apart), so a cluster refuses the
// second one.
//
// Stateless functions; safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace samsa::cluster {

inline constexpr size_t kMaxTopicNameLength = 249;
inline constexpr std::string_view kConsumerOffsetsTopic = "__consumer_offsets";
inline constexpr std::string_view kTransactionStateTopic = "__transaction_state";
inline constexpr std::string_view kClusterMetadataTopic = "__cluster_metadata";

// nullopt when `name` is a legal topic name; otherwise Kafka's
// INVALID_TOPIC_EXCEPTION message, e.g.
// "Topic name is invalid: '.' is not allowed".
std::optional<std::string> topic_name_error(std::string_view name);

inline bool is_valid_topic_name(std::string_view name) { return !topic_name_error(name).has_value(); }

// The internal topics of the coordinators (Kafka's Topic.isInternal).
bool is_internal_topic(std::string_view name);

// The metadata log's name. It is never a topic: CreateTopics refuses it
// (INVALID_REQUEST, as Kafka's controller does), it is never auto-created and
// never listed, and a record naming it in the metadata log is ignored.
inline bool is_cluster_metadata_topic(std::string_view name) { return name == kClusterMetadataTopic; }

// Kafka's CreateTopics message for the metadata log's name.
std::string cluster_metadata_creation_message();

// True when the name contains '.' or '_' and so may collide with another.
bool has_collision_chars(std::string_view name);

// The name with every '.' replaced by '_' (only for collision checks).
std::string unify_collision_chars(std::string_view name);

// True when the two names are equal once '.' and '_' are unified.
bool topics_collide(std::string_view a, std::string_view b);

// Kafka's message when `name` collides with an existing topic, e.g.
// "Topic 'a.b' collides with existing topic: a_b".
std::string topic_collision_message(std::string_view name, std::string_view existing);

}  // namespace samsa::cluster
