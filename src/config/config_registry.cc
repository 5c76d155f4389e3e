// Lookup, validation and canonical printing of configuration values. The
// keys themselves are data: src/config/configs.def, turned into
// generated_*_config_defs() by tools/gen_config.py at build time.
#include "config/config_registry.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <unordered_map>

#include "config/config_table.h"

namespace samsa::config {
namespace {

std::vector<ConfigDef> sorted(std::vector<ConfigDef> v) {
  std::sort(v.begin(), v.end(), [](const ConfigDef& a, const ConfigDef& b) { return a.name < b.name; });
  return v;
}

struct Tables {
  std::vector<ConfigDef> brokers;
  std::vector<ConfigDef> topics;
  std::unordered_map<std::string_view, const ConfigDef*> broker_index;
  std::unordered_map<std::string_view, const ConfigDef*> topic_index;

  Tables() {
    brokers = sorted(generated_broker_config_defs());
    topics = sorted(generated_topic_config_defs());
    for (const auto& d : brokers) broker_index.emplace(d.name, &d);
    for (const auto& d : topics) topic_index.emplace(d.name, &d);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

bool is_java_whitespace_or_control(char c) { return static_cast<unsigned char>(c) <= ' '; }

// Java's Integer.parseInt family: optional sign, then ASCII digits only.
template <typename T>
std::optional<T> parse_integral(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  std::string_view digits = s;
  bool negative = false;
  if (digits[0] == '+' || digits[0] == '-') {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  // Parse as negative magnitude so the minimum value fits.
  T value = 0;
  for (char c : digits) {
    const T d = static_cast<T>(c - '0');
    if (value < (std::numeric_limits<T>::min() + d) / 10) return std::nullopt;
    value = static_cast<T>(value * 10 - d);
  }
  if (!negative) {
    if (value == std::numeric_limits<T>::min()) return std::nullopt;
    value = static_cast<T>(-value);
  }
  return value;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out + "]";
}

std::string invalid(std::string_view name, std::string_view value, std::string_view why) {
  std::string msg = "Invalid value ";
  msg.append(value).append(" for configuration ").append(name);
  if (!why.empty()) msg.append(": ").append(why);
  return msg;
}

std::string join(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.append(sep);
    out.append(items[i]);
  }
  return out;
}

// Number as Kafka prints it in a ConfigException: integers plainly, doubles in
// Java notation.
std::string number_text(const ConfigDef& def, double d, int64_t i) {
  return def.type == ConfigType::DOUBLE ? java_double_string(d) : std::to_string(i);
}

std::optional<std::string> check_range(const ConfigDef& def, double d, int64_t i) {
  const Validator& v = def.validator;
  const bool is_double = def.type == ConfigType::DOUBLE;
  if (v.min && (is_double ? d < static_cast<double>(*v.min) : i < *v.min)) {
    return invalid(def.name, number_text(def, d, i), "Value must be at least " + std::to_string(*v.min));
  }
  if (v.max && (is_double ? d > static_cast<double>(*v.max) : i > *v.max)) {
    return invalid(def.name, number_text(def, d, i), "Value must be no more than " + std::to_string(*v.max));
  }
  return std::nullopt;
}

bool contains(const std::vector<std::string_view>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool is_throttled_replica_entry(std::string_view e) {
  e = trim(e);
  if (e.empty()) return true;  // Kafka's pattern makes the whole entry optional
  const auto colon = e.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == e.size()) return false;
  auto all_digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return all_digits(e.substr(0, colon)) && all_digits(e.substr(colon + 1));
}

// Validates the parsed value against the validator kind; numbers arrive as
// both double and integer so one function serves every numeric type.
std::optional<std::string> check_numeric(const ConfigDef& def, double d, int64_t i) {
  switch (def.validator.kind) {
    case ValidatorKind::kRange:
      return check_range(def, d, i);
    case ValidatorKind::kGzipLevel:
      if (i > 9 || (i < 1 && i != -1)) {
        return invalid(def.name, std::to_string(i), "Value must be between 1 and 9 or equal to -1");
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

// Kafka's MetadataVersion.fromVersionString: a version of a 0.x release is
// named by its first three dot-separated segments, a later one by two, so
// "0.10.0.0" means "0.10.0" and "2.8.1" means "2.8"; a text with no more
// segments than that is looked up as it is. A release name ("0.10.0", "3.0")
// stands for its latest IV; an IV name ("3.0-IV1") for itself.
bool is_metadata_version(const std::vector<std::string_view>& names, std::string_view text) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  while (!parts.empty() && parts.back().empty()) parts.pop_back();  // Java's split drops trailing empties
  const size_t segments = text.starts_with("0.") ? 3 : 2;
  std::string key(text);
  if (parts.size() > segments) {
    key.clear();
    for (size_t i = 0; i < segments; ++i) key.append(i ? "." : "").append(parts[i]);
  }
  return std::any_of(names.begin(), names.end(), [&](std::string_view name) {
    const size_t iv = name.find("-IV");
    return name == key || (iv != std::string_view::npos && name.substr(0, iv) == key);
  });
}

std::optional<std::string> check_string(const ConfigDef& def, std::string_view s) {
  const Validator& v = def.validator;
  if (v.kind == ValidatorKind::kMetadataVersion && !is_metadata_version(v.choices, s)) {
    return invalid(def.name, s, "Version " + std::string(s) + " is not a valid version");
  }
  if (v.kind == ValidatorKind::kOneOf && !contains(v.choices, s)) {
    return invalid(def.name, s, "String must be one of: " + join(v.choices, ", "));
  }
  if (v.kind == ValidatorKind::kNonEmptyString && s.empty()) {
    return invalid(def.name, s, "String must be non-empty");
  }
  return std::nullopt;
}

std::optional<std::string> check_list(const ConfigDef& def, const std::vector<std::string>& items) {
  const Validator& v = def.validator;
  if (v.kind == ValidatorKind::kListOf) {
    for (const auto& item : items) {
      if (!contains(v.choices, item)) {
        return invalid(def.name, item, "String must be one of: " + join(v.choices, ", "));
      }
    }
  } else if (v.kind == ValidatorKind::kNonEmptyList && items.empty()) {
    return "Configuration '" + std::string(def.name) + "' must not be empty.";
  } else if (v.kind == ValidatorKind::kThrottledReplicas) {
    std::string joined;
    for (const auto& item : items) joined += item;
    const bool ok = trim(joined) == "*" || std::all_of(items.begin(), items.end(), is_throttled_replica_entry);
    if (!ok) {
      return invalid(def.name, quoted_list(items),
                     std::string(def.name) +
                         " must be the literal '*' or a list of replicas in the following format: "
                         "[partitionId]:[brokerId],[partitionId]:[brokerId],...");
    }
  }
  return std::nullopt;
}

}  // namespace

std::span<const ConfigDef> broker_config_defs() { return tables().brokers; }
std::span<const ConfigDef> topic_config_defs() { return tables().topics; }

const ConfigDef* find_broker_config(std::string_view name) {
  const auto& idx = tables().broker_index;
  auto it = idx.find(name);
  return it == idx.end() ? nullptr : it->second;
}

const ConfigDef* find_topic_config(std::string_view name) {
  const auto& idx = tables().topic_index;
  auto it = idx.find(name);
  return it == idx.end() ? nullptr : it->second;
}

std::string_view type_name(ConfigType type) {
  switch (type) {
    case ConfigType::BOOLEAN: return "boolean";
    case ConfigType::STRING: return "string";
    case ConfigType::INT: return "int";
    case ConfigType::SHORT: return "short";
    case ConfigType::LONG: return "long";
    case ConfigType::DOUBLE: return "double";
    case ConfigType::LIST: return "list";
    case ConfigType::CLASS: return "class";
    case ConfigType::PASSWORD: return "password";
    case ConfigType::UNKNOWN: break;
  }
  return "unknown";
}

std::optional<std::string> validate_value(const ConfigDef& def, std::string_view value) {
  const std::string_view t = trim(value);
  switch (def.type) {
    case ConfigType::BOOLEAN:
      if (!parse_bool(t)) return invalid(def.name, value, "Expected value to be either true or false");
      return std::nullopt;
    case ConfigType::SHORT: {
      auto v = parse_int16(t);
      if (!v) return invalid(def.name, value, "Not a number of type SHORT");
      return check_numeric(def, *v, *v);
    }
    case ConfigType::INT: {
      auto v = parse_int32(t);
      if (!v) return invalid(def.name, value, "Not a number of type INT");
      return check_numeric(def, *v, *v);
    }
    case ConfigType::LONG: {
      auto v = parse_int64(t);
      if (!v) return invalid(def.name, value, "Not a number of type LONG");
      return check_numeric(def, static_cast<double>(*v), *v);
    }
    case ConfigType::DOUBLE: {
      auto v = parse_double(t);
      if (!v) return invalid(def.name, value, "Not a number of type DOUBLE");
      const double clamped = std::clamp(*v, -9.2e18, 9.2e18);
      return check_numeric(def, *v, std::isnan(*v) ? 0 : static_cast<int64_t>(clamped));
    }
    case ConfigType::LIST:
      return check_list(def, parse_list(t));
    case ConfigType::STRING:
    case ConfigType::CLASS:
    case ConfigType::PASSWORD:
    case ConfigType::UNKNOWN:
      return check_string(def, t);
  }
  return std::nullopt;
}

std::string canonical_value(const ConfigDef& def, std::string_view value) {
  const std::string_view t = trim(value);
  switch (def.type) {
    case ConfigType::BOOLEAN: {
      auto b = parse_bool(t);
      return b ? (*b ? "true" : "false") : std::string(t);
    }
    case ConfigType::SHORT:
    case ConfigType::INT:
    case ConfigType::LONG: {
      auto v = parse_int64(t);
      return v ? std::to_string(*v) : std::string(t);
    }
    case ConfigType::DOUBLE: {
      auto v = parse_double(t);
      return v ? java_double_string(*v) : std::string(t);
    }
    case ConfigType::LIST: {
      const auto items = parse_list(t);
      std::string out;
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += items[i];
      }
      return out;
    }
    default:
      return std::string(t);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_java_whitespace_or_control(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_java_whitespace_or_control(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> parse_int64(std::string_view s) { return parse_integral<int64_t>(s); }
std::optional<int32_t> parse_int32(std::string_view s) { return parse_integral<int32_t>(s); }
std::optional<int16_t> parse_int16(std::string_view s) { return parse_integral<int16_t>(s); }

std::optional<bool> parse_bool(std::string_view s) {
  s = trim(s);
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  };
  if (iequals(s, "true")) return true;
  if (iequals(s, "false")) return false;
  return std::nullopt;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  // Java accepts a trailing float/double type suffix.
  if (!s.empty() && (s.back() == 'd' || s.back() == 'D' || s.back() == 'f' || s.back() == 'F')) {
    s.remove_suffix(1);
  }
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity") {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  // Only decimal literals below; this keeps from_chars' "inf"/"nan" out.
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) return std::nullopt;
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return negative ? -d : d;
}

std::vector<std::string> parse_list(std::string_view s) {
  s = trim(s);
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const std::string_view item = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
    out.emplace_back(trim(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string java_double_string(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits in scientific form: "d.ddde[+-]xx".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
  if (ec != std::errc()) return std::to_string(d);
  const std::string_view sci(buf, static_cast<size_t>(end - buf));
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string out = d < 0 ? "-" : "";
  const double mag = std::fabs(d);
  if (mag >= 1e-3 && mag < 1e7) {
    if (exponent >= 0) {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      while (digits.size() < int_len) digits += '0';
      std::string frac = digits.substr(int_len);
      out += digits.substr(0, int_len) + "." + (frac.empty() ? "0" : frac);
    } else {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
    return out;
  }
  std::string frac = digits.substr(1);
  out += digits.substr(0, 1) + "." + (frac.empty() ? "0" : frac) + "E" + std::to_string(exponent);
  return out;
}

}  // namespace samsa::config
