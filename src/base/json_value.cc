#include "base/json_value.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace samsa {

const JsonValue* JsonValue::get(const std::string& key) const {
  if (kind != Kind::Object) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

namespace {

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  bool document(JsonValue& v, std::string& err) {
    if (s_.size() > kMaxJsonBytes) return fail("document larger than 16 MiB", err);
    if (!value(v, 0, err)) return false;
    ws();
    return i_ == s_.size() || fail("trailing characters", err);
  }

 private:
  bool fail(const std::string& what, std::string& err) {
    err = what + " at byte " + std::to_string(i_);
    return false;
  }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool literal(const char* word, std::string& err) {
    for (const char* p = word; *p; ++p, ++i_)
      if (i_ >= s_.size() || s_[i_] != *p) return fail("invalid literal", err);
    return true;
  }

  bool value(JsonValue& v, int depth, std::string& err) {
    if (depth > kMaxJsonDepth) return fail("nesting deeper than 64 levels", err);
    ws();
    if (i_ >= s_.size()) return fail("unexpected end", err);
    char c = s_[i_];
    if (c == '{') return object(v, depth, err);
    if (c == '[') return array(v, depth, err);
    if (c == '"') { v.kind = JsonValue::Kind::String; return string(v.string, err); }
    if (c == 't') { v.kind = JsonValue::Kind::Bool; v.boolean = true; return literal("true", err); }
    if (c == 'f') { v.kind = JsonValue::Kind::Bool; return literal("false", err); }
    if (c == 'n') { v.kind = JsonValue::Kind::Null; return literal("null", err); }
    return number(v, err);
  }

  bool object(JsonValue& v, int depth, std::string& err) {
    v.kind = JsonValue::Kind::Object;
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == '}') { ++i_; return true; }
    while (true) {
      ws();
      std::string key;
      if (i_ >= s_.size() || s_[i_] != '"' || !string(key, err)) return err.empty() ? fail("expected a key", err) : false;
      ws();
      if (i_ >= s_.size() || s_[i_++] != ':') return fail("expected ':'", err);
      if (!value(v.object[key], depth + 1, err)) return false;
      ws();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == '}') { ++i_; return true; }
      return fail("expected ',' or '}'", err);
    }
  }

  bool array(JsonValue& v, int depth, std::string& err) {
    v.kind = JsonValue::Kind::Array;
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
    while (true) {
      v.array.emplace_back();
      if (!value(v.array.back(), depth + 1, err)) return false;
      ws();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
      return fail("expected ',' or ']'", err);
    }
  }

  // Strings: escapes are decoded; \u escapes become UTF-8 (surrogate pairs are
  // not combined: tool inputs are topic names, which are ASCII).
  bool string(std::string& out, std::string& err) {
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') { out.push_back(c); continue; }
      if (i_ >= s_.size()) break;
      char e = s_[i_++];
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': {
          if (i_ + 4 > s_.size()) return fail("short \\u escape", err);
          unsigned cp = static_cast<unsigned>(std::strtoul(s_.substr(i_, 4).c_str(), nullptr, 16));
          i_ += 4;
          if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
          } else {
            out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
          }
          break;
        }
        default: out.push_back(e);  // \" \\ \/
      }
    }
    return fail("unterminated string", err);
  }

  bool number(JsonValue& v, std::string& err) {
    size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    bool integral = true;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' || s_[i_] == 'e' ||
                              s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-')) {
      if (!std::isdigit(static_cast<unsigned char>(s_[i_]))) integral = false;
      ++i_;
    }
    std::string text = s_.substr(start, i_ - start);
    if (text.empty() || text == "-") return fail("unexpected character", err);
    char* end = nullptr;
    v.kind = JsonValue::Kind::Number;
    v.number = std::strtod(text.c_str(), &end);
    if (*end) return fail("malformed number", err);
    if (integral) {
      errno = 0;
      v.integer = std::strtoll(text.c_str(), &end, 10);
      v.integral = errno == 0;
    }
    return true;
  }

  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace

bool parse_json(const std::string& text, JsonValue& out, std::string& err) {
  out = JsonValue{};
  return Parser(text).document(out, err);
}

}  // namespace samsa
