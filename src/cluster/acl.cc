#include "cluster/acl.h"

#include <array>
#include <cctype>

namespace samsa::cluster {

namespace {

constexpr std::array<std::string_view, 8> kResourceNames = {
    "UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"};
constexpr std::array<std::string_view, 5> kPatternNames = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
constexpr std::array<std::string_view, 16> kOperationNames = {
    "UNKNOWN", "ANY",   "ALL",           "READ",             "WRITE",         "CREATE",
    "DELETE",  "ALTER", "DESCRIBE",      "CLUSTER_ACTION",   "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS",  "TWO_PHASE_COMMIT"};
constexpr std::array<std::string_view, 4> kPermissionNames = {"UNKNOWN", "ANY", "DENY", "ALLOW"};

template <typename E, size_t N>
E of_code(int8_t code, const std::array<std::string_view, N>&) {
  return code >= 0 && static_cast<size_t>(code) < N ? static_cast<E>(code) : static_cast<E>(0);
}

template <typename E, size_t N>
std::string_view name_in(E e, const std::array<std::string_view, N>& names) {
  auto i = static_cast<size_t>(static_cast<int8_t>(e));
  return i < N ? names[i] : names[0];
}

// Upper case without '_' or '-': "DescribeConfigs", "describe_configs" and
// "DESCRIBE_CONFIGS" all become "DESCRIBECONFIGS".
std::string squash(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '_' && c != '-') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

ResourceType resource_type_of(int8_t code) { return of_code<ResourceType>(code, kResourceNames); }
PatternType pattern_type_of(int8_t code) { return of_code<PatternType>(code, kPatternNames); }
AclOperation operation_of(int8_t code) { return of_code<AclOperation>(code, kOperationNames); }
AclPermission permission_of(int8_t code) { return of_code<AclPermission>(code, kPermissionNames); }

std::string_view name_of(ResourceType t) { return name_in(t, kResourceNames); }
std::string_view name_of(PatternType t) { return name_in(t, kPatternNames); }
std::string_view name_of(AclOperation op) { return name_in(op, kOperationNames); }
std::string_view name_of(AclPermission p) { return name_in(p, kPermissionNames); }

std::optional<AclOperation> parse_operation(std::string_view s) {
  auto want = squash(s);
  for (size_t i = 2; i < kOperationNames.size(); ++i)  // ALL and up: UNKNOWN and ANY are no operation
    if (squash(kOperationNames[i]) == want) return static_cast<AclOperation>(i);
  return std::nullopt;
}

bool AclFilter::matches(const AclBinding& b) const {
  if (resource_type != ResourceType::ANY && resource_type != b.resource_type) return false;
  if (pattern_type != PatternType::ANY && pattern_type != PatternType::MATCH && pattern_type != b.pattern_type)
    return false;
  if (resource_name) {
    if (pattern_type == PatternType::MATCH) {
      if (b.pattern_type == PatternType::LITERAL) {
        if (*resource_name != b.resource_name && b.resource_name != kWildcardResource) return false;
      } else if (b.pattern_type == PatternType::PREFIXED) {
        if (!resource_name->starts_with(b.resource_name)) return false;
      } else {
        return false;
      }
    } else if (*resource_name != b.resource_name) {
      return false;
    }
  }
  if (principal && *principal != b.principal) return false;
  if (host && *host != b.host) return false;
  if (operation != AclOperation::ANY && operation != b.operation) return false;
  return permission == AclPermission::ANY || permission == b.permission;
}

bool AclFilter::has_unknown() const {
  return resource_type == ResourceType::UNKNOWN || pattern_type == PatternType::UNKNOWN ||
         operation == AclOperation::UNKNOWN || permission == AclPermission::UNKNOWN;
}

std::optional<std::string> invalid_binding(const AclBinding& b) {
  if (b.resource_type == ResourceType::UNKNOWN || b.resource_type == ResourceType::ANY)
    return "Invalid resourceType " + std::string(name_of(b.resource_type));
  if (b.pattern_type != PatternType::LITERAL && b.pattern_type != PatternType::PREFIXED)
    return "Invalid patternType " + std::string(name_of(b.pattern_type));
  if (b.operation == AclOperation::UNKNOWN || b.operation == AclOperation::ANY)
    return "Invalid operation " + std::string(name_of(b.operation));
  if (b.permission != AclPermission::ALLOW && b.permission != AclPermission::DENY)
    return "Invalid permissionType " + std::string(name_of(b.permission));
  if (b.resource_name.empty()) return "Resource name should not be empty";
  if (b.resource_type == ResourceType::CLUSTER && b.resource_name != kClusterResourceName)
    return "The only valid name for the CLUSTER resource is " + std::string(kClusterResourceName);
  if (b.principal.find(':') == std::string::npos)
    return "Could not parse principal from `" + b.principal +
           "` (no colon is present separating the principal type from the principal name)";
  return std::nullopt;
}

}  // namespace samsa::cluster
