// The authorizer: Kafka's StandardAuthorizer semantics over the ACLs of a
// metadata image (every broker holds the same image, so every broker decides
// alike). A request is allowed when
//   - the principal is a super user (super.users), else
//   - no DENY binding applies (deny wins) and an ALLOW binding applies, where
//     a binding applies when its resource pattern covers the resource (LITERAL
//     name, LITERAL "*", PREFIXED prefix), its principal is the request's or
//     the wildcard "User:*", its host is the client's address or "*", and its
//     operation is the one asked, ALL, or (ALLOW only) one that implies it:
//     READ/WRITE/DELETE/ALTER imply DESCRIBE, ALTER_CONFIGS implies
//     DESCRIBE_CONFIGS; else
//   - no binding at all covers the resource and allow.everyone.if.no.acl.found.
//
// Immutable after construction, pure over the image it is given: any thread.
// The server holds one (or none: authorizer.class.name empty, everything allowed).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "cluster/acl.h"
#include "cluster/acl_index.h"

namespace samsa::cluster {

// The one authorizer.class.name accepted (KRaft's authorizer).
inline constexpr std::string_view kStandardAuthorizer = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

struct AuthorizerConfig {
  std::set<std::string, std::less<>> super_users;  // "User:admin"
  bool allow_everyone_if_no_acl_found = false;
};

// Who asks: the connection's principal ("User:alice") and address.
struct AclRequester {
  std::string_view principal;
  std::string_view host;
};

class Authorizer {
 public:
  explicit Authorizer(AuthorizerConfig config) : config_(std::move(config)) {}

  // From the broker's settings: nullptr when `class_name` is empty (no
  // authorization), an error message for any other class than the standard
  // one or a malformed super.users (Kafka's "User:a;User:b").
  static std::optional<std::string> make(std::string_view class_name, std::string_view super_users,
                                         std::string_view allow_everyone_if_no_acl_found,
                                         std::shared_ptr<const Authorizer>& out);

  bool is_super_user(std::string_view principal) const;
  bool authorize(const AclIndex& acls, const AclRequester& who, AclOperation op, ResourceType type,
                 std::string_view name) const;
  // KIP-679's authorizeByResourceType: may `who` do `op` on at least one
  // resource of `type` (an ALLOW binding not covered by a DENY)? InitProducerId
  // without a transactional id asks it for WRITE on topics.
  bool authorize_any(const AclIndex& acls, const AclRequester& who, AclOperation op, ResourceType type) const;
  // The operations `who` may do on the resource, as Kafka's 32-bit field
  // (bit n = operation code n), among those the resource type supports.
  int32_t authorized_operations(const AclIndex& acls, const AclRequester& who, ResourceType type,
                                std::string_view name) const;

  const AuthorizerConfig& config() const { return config_; }

 private:
  AuthorizerConfig config_;
};

// The operations a resource type supports, as the 32-bit field (what Kafka
// answers for authorized operations when no authorizer is configured).
int32_t supported_operations(ResourceType type);

}  // namespace samsa::cluster
