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

#include "protocol/acl_codes.h"
#include "protocol/wire.h"

namespace samsa::cluster {

using protocol::AclOperation;
using protocol::AclPermission;
using protocol::PatternType;
using protocol::ResourceType;
using protocol::kClusterResourceName;
using protocol::kWildcardHost;
using protocol::kWildcardPrincipal;
using protocol::kWildcardResource;
using protocol::name_of;
using protocol::operation_of;
using protocol::parse_operation;
using protocol::pattern_type_of;
using protocol::permission_of;
using protocol::resource_type_of;

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

// Writes a binding into a generated struct with Kafka's field names
// (AccessControlEntryRecord, DeleteAcls' matching ACLs).
template <typename Out>
void copy_binding(const AclBinding& b, Out& out) {
  out.resource_type = static_cast<int8_t>(b.resource_type);
  out.resource_name = b.resource_name;
  out.pattern_type = static_cast<int8_t>(b.pattern_type);
  out.principal = b.principal;
  out.host = b.host;
  out.operation = static_cast<int8_t>(b.operation);
  out.permission_type = static_cast<int8_t>(b.permission);
}

// The inverse of copy_binding: a binding read from a generated struct with
// those field names (AccessControlEntryRecord, DeleteAcls' matching ACLs).
template <typename In>
AclBinding read_binding(const In& in) {
  AclBinding b;
  b.resource_type = resource_type_of(in.resource_type);
  b.resource_name = in.resource_name;
  b.pattern_type = pattern_type_of(in.pattern_type);
  b.principal = in.principal;
  b.host = in.host;
  b.operation = operation_of(in.operation);
  b.permission = permission_of(in.permission_type);
  return b;
}

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
