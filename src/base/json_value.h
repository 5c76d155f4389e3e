#pragma once
// A small JSON reader (the tools' input files: delete-records' offset
// file). Input is bounded: at most kMaxJsonBytes and kMaxJsonDepth levels of
// nesting, so a hostile file cannot exhaust memory or the stack.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace samsa {

constexpr size_t kMaxJsonBytes = 16u << 20;
constexpr int kMaxJsonDepth = 64;

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  bool integral = false;  // the number was written without fraction or exponent
  int64_t integer = 0;    // its value when integral
  std::string string;
  std::vector<JsonValue> array;
  std::map<std::string, JsonValue> object;

  const JsonValue* get(const std::string& key) const;  // null unless an object with `key`
};

// Parses a whole document; false + err (with the byte offset) on malformed input.
bool parse_json(const std::string& text, JsonValue& out, std::string& err);

}  // namespace samsa
