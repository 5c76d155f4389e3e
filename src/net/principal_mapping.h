// ssl.principal.mapping.rules: how a TLS client's certificate subject becomes
// the user name of its principal, with Kafka's rule syntax:
//   RULE:<pattern>/<replacement>/[L|U], ..., DEFAULT
// Rules are tried in order; the first whose pattern (a regular expression)
// matches the whole distinguished name gives the name (replacement with $1...,
// then lower or upper case). DEFAULT keeps the DN unchanged. When no rule
// applies the connection fails authentication, as in Kafka.
//
// Ownership: built once at start-up, then read-only from every shard.
#pragma once
#include <optional>
#include <regex>
#include <string>
#include <variant>
#include <vector>

namespace samsa::net {

class PrincipalMapper {
 public:
  // Parses the rules; an error message for malformed text or a bad pattern.
  static std::variant<PrincipalMapper, std::string> parse(const std::string& rules);
  // The user name for `dn` (RFC 2253), or nullopt when no rule applies.
  std::optional<std::string> map(const std::string& dn) const;

 private:
  struct Rule {
    bool is_default = false;
    std::regex pattern;
    std::string replacement;
    char case_change = 0;  // 'L', 'U' or 0
  };
  std::vector<Rule> rules_;
};

}  // namespace samsa::net
