#include "cluster/acl_authorizer.h"

#include <span>

namespace samsa::cluster {

namespace {

using Op = AclOperation;

bool implies_describe(Op op) {
  return op == Op::DESCRIBE || op == Op::READ || op == Op::WRITE || op == Op::DELETE || op == Op::ALTER;
}
bool implies_describe_configs(Op op) { return op == Op::DESCRIBE_CONFIGS || op == Op::ALTER_CONFIGS; }

// Does the binding's operation cover the one asked? A DENY covers only its own
// operation (and ALL); an ALLOW also what its operation implies.
bool covers(const AclBinding& b, Op asked) {
  if (b.operation == Op::ALL || b.operation == asked) return true;
  if (b.permission != AclPermission::ALLOW) return false;
  if (asked == Op::DESCRIBE) return implies_describe(b.operation);
  if (asked == Op::DESCRIBE_CONFIGS) return implies_describe_configs(b.operation);
  return false;
}

// The request's principal or the wildcard of its principal type ("User:*").
bool principal_matches(std::string_view acl, std::string_view principal) {
  if (acl == principal) return true;
  auto colon = principal.find(':');
  std::string_view type = colon == std::string_view::npos ? std::string_view("User") : principal.substr(0, colon);
  return acl.size() == type.size() + 2 && acl.starts_with(type) && acl[type.size()] == ':' && acl.back() == '*';
}

bool host_matches(std::string_view acl, std::string_view host) { return acl == kWildcardHost || acl == host; }

int32_t bit(Op op) { return static_cast<int32_t>(1u << static_cast<unsigned>(op)); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

int32_t supported_operations(ResourceType type) {
  int32_t out = 0;
  for (auto op : protocol::operations_of(type)) out |= bit(op);
  return out;
}

std::optional<std::string> Authorizer::make(std::string_view class_name, std::string_view super_users,
                                            std::string_view allow_everyone, std::shared_ptr<const Authorizer>& out) {
  out.reset();
  class_name = trim(class_name);
  if (class_name.empty()) return std::nullopt;
  if (class_name != kStandardAuthorizer)
    return "authorizer.class.name=" + std::string(class_name) + " is not supported: use " +
           std::string(kStandardAuthorizer) + " (or leave it empty for no authorization)";
  AuthorizerConfig cfg;
  // super.users: principals separated by ';' (Kafka splits on ';' and trims).
  while (!super_users.empty()) {
    auto semi = super_users.find(';');
    auto item = trim(super_users.substr(0, semi));
    super_users = semi == std::string_view::npos ? std::string_view() : super_users.substr(semi + 1);
    if (item.empty()) continue;
    if (item.find(':') == std::string_view::npos)
      return "super.users: '" + std::string(item) + "' is not a principal of the form Type:name (e.g. User:admin)";
    cfg.super_users.emplace(item);
  }
  allow_everyone = trim(allow_everyone);
  if (allow_everyone == "true" || allow_everyone == "TRUE" || allow_everyone == "True") cfg.allow_everyone_if_no_acl_found = true;
  else if (!allow_everyone.empty() && allow_everyone != "false" && allow_everyone != "FALSE" && allow_everyone != "False")
    return "allow.everyone.if.no.acl.found must be true or false, not '" + std::string(allow_everyone) + "'";
  out = std::make_shared<const Authorizer>(std::move(cfg));
  return std::nullopt;
}

bool Authorizer::is_super_user(std::string_view principal) const { return config_.super_users.contains(principal); }

bool Authorizer::authorize(const AclIndex& acls, const AclRequester& who, AclOperation op, ResourceType type,
                           std::string_view name) const {
  if (is_super_user(who.principal)) return true;
  bool any = false, allowed = false, denied = false;
  acls.for_each_applicable(type, name, [&](const StoredAcl& a) {
    any = true;
    const AclBinding& b = a.binding;
    if (!principal_matches(b.principal, who.principal) || !host_matches(b.host, who.host) || !covers(b, op)) return;
    if (b.permission == AclPermission::DENY) denied = true;
    else if (b.permission == AclPermission::ALLOW) allowed = true;
  });
  if (denied) return false;
  if (allowed) return true;
  return !any && config_.allow_everyone_if_no_acl_found;
}

// Kafka's default Authorizer.authorizeByResourceType: a super user (or a
// resource without ACLs under allow.everyone.if.no.acl.found) passes through
// the check of a name no ACL names; otherwise an ALLOW binding for exactly
// this operation must exist whose pattern no DENY binding covers (a DENY on
// the literal "*" denies all; a denied prefix covers the names and prefixes
// it starts).
bool Authorizer::authorize_any(const AclIndex& acls, const AclRequester& who, AclOperation op,
                               ResourceType type) const {
  if (authorize(acls, who, op, type, "hardcode")) return true;
  std::set<std::string, std::less<>> denied_literal, denied_prefix;
  bool deny_all = false;
  auto applies = [&](const AclBinding& b, AclPermission p) {
    return b.permission == p && b.operation == op && principal_matches(b.principal, who.principal) &&
           host_matches(b.host, who.host);
  };
  acls.for_each_of_type(type, [&](const StoredAcl& a) {
    if (!applies(a.binding, AclPermission::DENY)) return;
    if (a.binding.pattern_type == PatternType::LITERAL) {
      if (a.binding.resource_name == kWildcardResource) deny_all = true;
      denied_literal.insert(a.binding.resource_name);
    } else {
      denied_prefix.insert(a.binding.resource_name);
    }
  });
  if (deny_all) return false;
  auto prefix_denied = [&](std::string_view name) {
    for (auto& p : denied_prefix)
      if (name.starts_with(p)) return true;
    return false;
  };
  bool found = false;
  acls.for_each_of_type(type, [&](const StoredAcl& a) {
    if (found || !applies(a.binding, AclPermission::ALLOW)) return;
    const auto& name = a.binding.resource_name;
    if (a.binding.pattern_type == PatternType::LITERAL) {
      found = name == kWildcardResource || (!denied_literal.contains(name) && !prefix_denied(name));
    } else {
      found = !prefix_denied(name);
    }
  });
  return found;
}

int32_t Authorizer::authorized_operations(const AclIndex& acls, const AclRequester& who, ResourceType type,
                                          std::string_view name) const {
  int32_t out = 0;
  for (auto op : protocol::operations_of(type))
    if (authorize(acls, who, op, type, name)) out |= bit(op);
  return out;
}

}  // namespace samsa::cluster
