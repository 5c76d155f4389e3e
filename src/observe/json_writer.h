// A minimal streaming JSON writer for the HTTP admin API: objects, arrays,
// strings (escaped per RFC 8259, bytes that are not valid UTF-8 text kept as
// \u00XX), integers, doubles and booleans. The caller nests begin/end calls
// correctly; commas are placed here.
//
// Threads: a value owned by its caller.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace samsa::observe {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);  // inside an object, before its value
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(int32_t v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(uint64_t v);
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  std::string take() { return std::move(out_); }
  const std::string& str() const { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

std::string json_escape(std::string_view s);  // with the surrounding quotes

}  // namespace samsa::observe
