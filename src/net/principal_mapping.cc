#include "net/principal_mapping.h"

#include <cctype>

namespace samsa::net {

namespace {
// Reads up to the next unescaped '/', keeping escapes other than "\/" as they are
// (they belong to the regular expression); false when there is no '/'.
bool read_part(const std::string& s, size_t& i, std::string& out) {
  while (i < s.size()) {
    char c = s[i++];
    if (c == '/') return true;
    if (c == '\\' && i < s.size() && s[i] == '/') {
      out.push_back('/');
      ++i;
      continue;
    }
    out.push_back(c);
  }
  return false;
}

void skip_space(const std::string& s, size_t& i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
}
}  // namespace

std::variant<PrincipalMapper, std::string> PrincipalMapper::parse(const std::string& rules) {
  PrincipalMapper m;
  size_t i = 0;
  const std::string invalid = "Invalid rule in ssl.principal.mapping.rules: " + rules;
  for (;;) {
    skip_space(rules, i);
    if (i >= rules.size()) break;
    Rule r;
    if (rules.compare(i, 7, "DEFAULT") == 0) {
      r.is_default = true;
      i += 7;
    } else if (rules.compare(i, 5, "RULE:") == 0) {
      i += 5;
      std::string pattern;
      if (!read_part(rules, i, pattern) || !read_part(rules, i, r.replacement)) return invalid;
      try {
        r.pattern = std::regex(pattern);
      } catch (const std::regex_error&) {
        return "Invalid pattern in ssl.principal.mapping.rules: " + pattern;
      }
      if (i < rules.size() && (rules[i] == 'L' || rules[i] == 'U')) r.case_change = rules[i++];
    } else {
      return invalid;
    }
    m.rules_.push_back(std::move(r));
    skip_space(rules, i);
    if (i < rules.size() && rules[i] != ',') return invalid;
    ++i;
  }
  if (m.rules_.empty()) return invalid;
  return m;
}

std::optional<std::string> PrincipalMapper::map(const std::string& dn) const {
  for (const auto& r : rules_) {
    if (r.is_default) return dn;
    if (!std::regex_match(dn, r.pattern)) continue;
    std::string out = std::regex_replace(dn, r.pattern, r.replacement);
    for (auto& c : out) {
      if (r.case_change == 'L') c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (r.case_change == 'U') c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace samsa::net
