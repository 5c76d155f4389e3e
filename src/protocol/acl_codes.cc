#include "protocol/acl_codes.h"

#include <array>
#include <cctype>
#include <string>

namespace samsa::protocol {

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

std::span<const AclOperation> operations_of(ResourceType type) {
  using Op = AclOperation;
  static constexpr Op kTopic[] = {Op::READ,   Op::WRITE, Op::CREATE,           Op::DESCRIBE,
                                  Op::DELETE, Op::ALTER, Op::DESCRIBE_CONFIGS, Op::ALTER_CONFIGS};
  static constexpr Op kGroup[] = {Op::READ, Op::DESCRIBE, Op::DELETE};
  static constexpr Op kCluster[] = {Op::CREATE,           Op::CLUSTER_ACTION, Op::DESCRIBE_CONFIGS, Op::ALTER_CONFIGS,
                                    Op::IDEMPOTENT_WRITE, Op::ALTER,          Op::DESCRIBE};
  static constexpr Op kTransactionalId[] = {Op::DESCRIBE, Op::WRITE};
  static constexpr Op kDelegationToken[] = {Op::DESCRIBE};
  static constexpr Op kUser[] = {Op::CREATE_TOKENS, Op::DESCRIBE_TOKENS};
  switch (type) {
    case ResourceType::TOPIC: return kTopic;
    case ResourceType::GROUP: return kGroup;
    case ResourceType::CLUSTER: return kCluster;
    case ResourceType::TRANSACTIONAL_ID: return kTransactionalId;
    case ResourceType::DELEGATION_TOKEN: return kDelegationToken;
    case ResourceType::USER: return kUser;
    default: return {};
  }
}

}  // namespace samsa::protocol
