// Kafka's ACL codes (ResourceType, PatternType, AclOperation,
// AclPermissionType) as they travel in the ACL APIs and the metadata records,
// with the names Kafka's tools print (the Java enum names: "TOPIC", "READ",
// "ALLOW", "LITERAL"). Used by the broker (cluster/acl.h) and the tools.
//
// Pure functions; any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace samsa::protocol {

enum class ResourceType : int8_t {
  UNKNOWN = 0, ANY = 1, TOPIC = 2, GROUP = 3, CLUSTER = 4, TRANSACTIONAL_ID = 5, DELEGATION_TOKEN = 6, USER = 7,
};
enum class PatternType : int8_t { UNKNOWN = 0, ANY = 1, MATCH = 2, LITERAL = 3, PREFIXED = 4 };
enum class AclOperation : int8_t {
  UNKNOWN = 0, ANY = 1, ALL = 2, READ = 3, WRITE = 4, CREATE = 5, DELETE = 6, ALTER = 7, DESCRIBE = 8,
  CLUSTER_ACTION = 9, DESCRIBE_CONFIGS = 10, ALTER_CONFIGS = 11, IDEMPOTENT_WRITE = 12, CREATE_TOKENS = 13,
  DESCRIBE_TOKENS = 14, TWO_PHASE_COMMIT = 15,
};
enum class AclPermission : int8_t { UNKNOWN = 0, ANY = 1, DENY = 2, ALLOW = 3 };

// Kafka's fixed names: the one cluster resource, and the wildcards.
inline constexpr std::string_view kClusterResourceName = "kafka-cluster";
inline constexpr std::string_view kWildcardResource = "*";
inline constexpr std::string_view kWildcardHost = "*";
inline constexpr std::string_view kWildcardPrincipal = "User:*";

// A wire code as the enum; a code Kafka does not define reads as UNKNOWN (as fromCode does).
ResourceType resource_type_of(int8_t code);
PatternType pattern_type_of(int8_t code);
AclOperation operation_of(int8_t code);
AclPermission permission_of(int8_t code);

// Kafka's names as kafka-acls.sh prints them ("Topic", "TransactionalId", "Read",
// "DescribeConfigs", "Allow", "LITERAL").
std::string_view name_of(ResourceType t);
std::string_view name_of(PatternType t);
std::string_view name_of(AclOperation op);
std::string_view name_of(AclPermission p);
// Parses an operation as kafka-acls.sh's --operation takes it (any case,
// "DescribeConfigs", "describe_configs", "All"); nullopt when unknown.
std::optional<AclOperation> parse_operation(std::string_view s);

// The operations an ACL on this resource type may name besides ALL
// (Kafka's AclEntry.supportedOperations).
std::span<const AclOperation> operations_of(ResourceType type);

}  // namespace samsa::protocol
