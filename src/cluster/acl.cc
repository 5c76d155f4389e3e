#include "cluster/acl.h"

namespace samsa::cluster {

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
