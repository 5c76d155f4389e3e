// ACL bindings as Kafka defines them (org.apache.kafka.common.acl / resource):
// a resource pattern (resource type, name, LITERAL or PREFIXED) bound to an
// access control entry (principal, host, operation, ALLOW or DENY), and the
// filters DescribeAcls / DeleteAcls match them with (ANY and MATCH, null =
// any). The enum values are Kafka's wire codes, so they travel unchanged in
// the ACL APIs and in AccessControlEntryRecord.
//
// Plain values and pure functions; any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire.h"

namespace samsa::cluster {

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

struct AclBinding {
  ResourceType resource_type = ResourceType::UNKNOWN;
  std::string resource_name;
  PatternType pattern_type = PatternType::LITERAL;
  std::string principal;  // "User:alice", "User:*"
  std::string host;       // an IP address or "*"
  AclOperation operation = AclOperation::UNKNOWN;
  AclPermission permission = AclPermission::UNKNOWN;

  bool operator==(const AclBinding&) const = default;
};

// A binding as stored: with the id its records carry.
struct StoredAcl {
  protocol::Uuid id{};
  AclBinding binding;
};

// DescribeAcls / DeleteAcls filters: null strings match anything, ANY matches
// every value, pattern type MATCH matches the literal name, the literal "*"
// and every prefix pattern of the name (Kafka's ResourcePatternFilter).
struct AclFilter {
  ResourceType resource_type = ResourceType::ANY;
  std::optional<std::string> resource_name;
  PatternType pattern_type = PatternType::ANY;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::ANY;
  AclPermission permission = AclPermission::ANY;

  bool matches(const AclBinding& b) const;
  // Kafka's isUnknown() of the pattern and entry filters: such a filter is an INVALID_REQUEST.
  bool has_unknown() const;
};

// What one DeleteAcls filter removed (or why it failed).
struct AclDeleteResult {
  int16_t error = 0;  // Kafka error code
  std::string message;
  std::vector<AclBinding> removed;
};

// Why a new binding cannot be stored (Kafka's AclControlManager.validateNewAcl
// and the broker's checks), or nullopt when it can; answered INVALID_REQUEST.
std::optional<std::string> invalid_binding(const AclBinding& b);

}  // namespace samsa::cluster
