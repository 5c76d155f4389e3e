#include "base/jaas.h"

#include <cctype>

namespace samsa {

namespace {
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool is_word_char(char c) {
  return !is_space(c) && c != '=' && c != ';' && c != '"';
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  void skip_space() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  bool at_end() {
    skip_space();
    return i_ >= s_.size();
  }
  char peek() {
    skip_space();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  bool consume(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  std::string word() {
    skip_space();
    size_t start = i_;
    while (i_ < s_.size() && is_word_char(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  // A "quoted" value; false when the closing quote is missing.
  bool quoted(std::string& out) {
    if (!consume('"')) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\' && i_ < s_.size()) c = s_[i_++];
      out.push_back(c);
    }
    return false;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};
}  // namespace

std::variant<JaasConfig, std::string> parse_jaas_config(std::string_view text) {
  Lexer lx(text);
  JaasConfig c;
  c.login_module = lx.word();
  if (c.login_module.empty()) return std::string("JAAS config entry has no login module");
  c.control_flag = lx.word();
  if (c.control_flag != "required" && c.control_flag != "requisite" && c.control_flag != "sufficient" &&
      c.control_flag != "optional")
    return "Invalid JAAS control flag '" + c.control_flag + "' for login module " + c.login_module;
  for (;;) {
    if (lx.consume(';')) break;
    if (lx.at_end()) return std::string("JAAS config entry not terminated by semi-colon");
    std::string key = lx.word();
    if (key.empty() || !lx.consume('=')) return "Invalid JAAS config option near '" + key + "'";
    std::string value;
    if (lx.peek() == '"') {
      if (!lx.quoted(value)) return "Unterminated quoted value of JAAS option " + key;
    } else {
      value = lx.word();
    }
    c.options[key] = std::move(value);
  }
  if (!lx.at_end()) return std::string("JAAS config property contains more than one login module, should be 1");
  return c;
}

std::map<std::string, std::string, std::less<>> jaas_users(const JaasConfig& c) {
  std::map<std::string, std::string, std::less<>> out;
  for (auto& [k, v] : c.options)
    if (k.size() > 5 && k.compare(0, 5, "user_") == 0) out[k.substr(5)] = v;
  return out;
}

}  // namespace samsa
