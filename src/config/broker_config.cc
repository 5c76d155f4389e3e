#include "config/broker_config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>

namespace samsa::config {
namespace {

// ---- .properties -------------------------------------------------------------

bool is_prop_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

std::string_view skip_leading_space(std::string_view s) {
  while (!s.empty() && is_prop_space(s.front())) s.remove_prefix(1);
  return s;
}

// One physical line; `next` is where the following one starts (after \n, \r
// or \r\n).
struct NaturalLine {
  std::string_view text;
  size_t next;
};

NaturalLine read_natural_line(std::string_view text, size_t pos) {
  size_t end = pos;
  while (end < text.size() && text[end] != '\n' && text[end] != '\r') ++end;
  size_t next = end;
  if (next < text.size()) next += (text[next] == '\r' && next + 1 < text.size() && text[next + 1] == '\n') ? 2 : 1;
  return {text.substr(pos, end - pos), next};
}

bool ends_with_odd_backslashes(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && s[s.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Reads the 4 hex digits of a \u escape starting at s[i]; -1 when malformed.
int32_t read_u_escape(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return -1;
  int32_t cp = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int h = hex_value(s[i + k]);
    if (h < 0) return -1;
    cp = cp * 16 + h;
  }
  return cp;
}

// Resolves escapes. Trailing whitespace is trimmed unless it was escaped
// ("a\ " keeps its space). nullopt on a malformed \uXXXX.
std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  size_t protected_len = 0;  // output produced by escapes is never trimmed
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) break;  // a lone trailing backslash is dropped
    switch (s[i]) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        int32_t cp = read_u_escape(s, i + 1);
        if (cp < 0) return std::nullopt;
        i += 4;
        // A UTF-16 surrogate pair arrives as two escapes.
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') {
          const int32_t low = read_u_escape(s, i + 3);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, static_cast<uint32_t>(cp));
        break;
      }
      default: out += s[i]; break;
    }
    protected_len = out.size();
  }
  while (out.size() > protected_len && is_prop_space(out.back())) out.pop_back();
  return out;
}

// Splits a logical line (escapes still in place) into key and value text.
std::pair<std::string_view, std::string_view> split_key_value(std::string_view line) {
  size_t i = 0;
  size_t value_start = line.size();
  bool has_separator = false;
  bool escaped = false;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    if (!escaped && (c == '=' || c == ':')) {
      value_start = i + 1;
      has_separator = true;
      break;
    }
    if (!escaped && is_prop_space(c)) {
      value_start = i + 1;
      break;
    }
    escaped = c == '\\' && !escaped;
  }
  const std::string_view key = line.substr(0, i);
  while (value_start < line.size() && is_prop_space(line[value_start])) ++value_start;
  if (!has_separator && value_start < line.size() && (line[value_start] == '=' || line[value_start] == ':')) {
    ++value_start;
    while (value_start < line.size() && is_prop_space(line[value_start])) ++value_start;
  }
  return {key, line.substr(std::min(value_start, line.size()))};
}

// ---- helpers -------------------------------------------------------------------

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out.append(sep);
    out.append(v[i]);
  }
  return out;
}

std::vector<std::string> non_empty_items(std::string_view value) {
  std::vector<std::string> out;
  for (auto& item : parse_list(value)) {
    if (!item.empty()) out.push_back(std::move(item));
  }
  return out;
}

std::string invalid_value(std::string_view name, std::string_view value, std::string_view why) {
  return "Invalid value " + std::string(value) + " for configuration " + std::string(name) + ": " + std::string(why);
}

bool is_security_protocol(std::string_view p) {
  return p == "PLAINTEXT" || p == "SSL" || p == "SASL_PLAINTEXT" || p == "SASL_SSL";
}

bool host_chars_ok(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '%' || c == '.' || c == '_' || c == ':';
  });
}

// "host:port" or "[v6]:port" into host and port; nullopt when malformed.
std::optional<std::pair<std::string, int32_t>> parse_host_port(std::string_view s) {
  std::string_view host;
  std::string_view port_text;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    host = s.substr(1, close - 1);
    port_text = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port_text = s.substr(colon + 1);
  }
  const auto port = parse_int32(port_text);
  if (!host_chars_ok(host) || !port || *port < 0 || *port > 65535 || trim(port_text) != port_text) {
    return std::nullopt;
  }
  return std::make_pair(std::string(host), *port);
}

constexpr ConfigSource kLayers[] = {ConfigSource::DYNAMIC_BROKER_CONFIG, ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG,
                                    ConfigSource::STATIC_BROKER_CONFIG};

// ---- DescribeConfigs helpers ----------------------------------------------------

// Kafka's broker synonyms: every layer (source-major) for each alternative
// key, then Kafka drops everything before the described key itself.
std::vector<ConfigSynonym> broker_synonyms(const ConfigDef& def, const BrokerConfig& broker) {
  std::vector<std::string_view> names = def.synonyms;
  if (names.empty()) names.push_back(def.name);
  std::vector<ConfigSynonym> out;
  auto shown = [&](std::string v) { return def.sensitive() ? std::nullopt : std::optional<std::string>(std::move(v)); };
  for (ConfigSource layer : kLayers) {
    for (auto n : names) {
      if (auto v = broker.layer_value(layer, n)) out.push_back({std::string(n), shown(*v), layer});
    }
  }
  for (auto n : names) {
    const ConfigDef* d = find_broker_config(n);
    if (d && d->default_value) out.push_back({std::string(n), shown(std::string(*d->default_value)),
                                              ConfigSource::DEFAULT_CONFIG});
  }
  auto first = std::find_if(out.begin(), out.end(), [&](const ConfigSynonym& s) { return s.name == def.name; });
  out.erase(out.begin(), first);
  return out;
}

// The broker keys behind a topic key, key priority first, then layer.
std::vector<ConfigSynonym> topic_broker_synonyms(const ConfigDef& def, const BrokerConfig& broker) {
  std::vector<ConfigSynonym> out;
  for (auto n : def.synonyms) {
    for (ConfigSource layer : kLayers) {
      if (auto v = broker.layer_value(layer, n)) out.push_back({std::string(n), std::move(v), layer});
    }
    const ConfigDef* d = find_broker_config(n);
    if (d && d->default_value) {
      out.push_back({std::string(n), std::string(*d->default_value), ConfigSource::DEFAULT_CONFIG});
    }
  }
  return out;
}

// Broker keys in hours or minutes feed topic keys in milliseconds.
int64_t unit_factor(std::string_view broker_key) {
  if (broker_key.ends_with(".hours")) return 3600000;
  if (broker_key.ends_with(".minutes")) return 60000;
  return 1;
}

// The topic key's value given by its highest-priority synonym.
std::optional<std::string> topic_value_from(const ConfigDef& def, const std::vector<ConfigSynonym>& synonyms) {
  if (synonyms.empty() || !synonyms.front().value) {
    return def.default_value ? std::optional<std::string>(*def.default_value) : std::nullopt;
  }
  const ConfigSynonym& head = synonyms.front();
  if (head.source == ConfigSource::DYNAMIC_TOPIC_CONFIG) return head.value;
  const int64_t factor = unit_factor(head.name);
  if (factor != 1 || def.name == "retention.ms") {
    if (auto n = parse_int64(*head.value)) {
      int64_t v = *n * factor;
      if (def.name == "retention.ms" && v < 0) v = -1;  // any negative broker retention means "no limit"
      return std::to_string(v);
    }
  }
  return canonical_value(def, *head.value);
}

// The override (if any) in front of the broker entries.
std::vector<ConfigSynonym> with_override(const ConfigDef& def, const TopicOverrides& overrides,
                                         std::vector<ConfigSynonym> from_broker) {
  std::vector<ConfigSynonym> out;
  if (auto it = overrides.find(def.name); it != overrides.end()) {
    out.push_back({std::string(def.name), canonical_value(def, it->second), ConfigSource::DYNAMIC_TOPIC_CONFIG});
  }
  out.insert(out.end(), std::make_move_iterator(from_broker.begin()), std::make_move_iterator(from_broker.end()));
  return out;
}

// Where a topic key's value comes from: the override, then every broker key
// behind it in the order they take effect. The first entry gives the value.
std::vector<ConfigSynonym> topic_synonyms(const ConfigDef& def, const TopicOverrides& overrides,
                                          const BrokerConfig& broker) {
  return with_override(def, overrides, topic_broker_synonyms(def, broker));
}

// The synonyms Kafka reports for a topic key (ConfigHelper's topic entry):
// the override, then the broker synonyms of its canonical broker key (the
// first one, e.g. log.retention.ms for retention.ms) exactly as that broker
// key lists them, which drops every entry before the canonical key itself.
// So retention.ms lists no broker synonym unless log.retention.ms is set
// somewhere, even when log.retention.hours gives its value.
std::vector<ConfigSynonym> reported_topic_synonyms(const ConfigDef& def, const TopicOverrides& overrides,
                                                   const BrokerConfig& broker) {
  std::vector<ConfigSynonym> from_broker;
  if (!def.synonyms.empty()) {
    if (const ConfigDef* canonical = find_broker_config(def.synonyms.front())) {
      from_broker = broker_synonyms(*canonical, broker);
    }
  }
  return with_override(def, overrides, std::move(from_broker));
}

std::string effective_topic_value(std::string_view name, const TopicOverrides& overrides,
                                  const BrokerConfig& broker) {
  const ConfigDef* def = find_topic_config(name);
  if (def == nullptr) return {};
  return topic_value_from(*def, topic_synonyms(*def, overrides, broker)).value_or("");
}

bool wanted(std::span<const std::string> keys, std::string_view name) {
  return keys.empty() || std::find(keys.begin(), keys.end(), name) != keys.end();
}

std::optional<std::string> read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "Cannot read configuration file " + path + ": " + std::strerror(errno);
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return "Cannot read configuration file " + path;
  if (static_cast<uint64_t>(size) > kMaxPropertiesFileBytes) {
    return "Configuration file " + path + " is larger than " + std::to_string(kMaxPropertiesFileBytes) + " bytes";
  }
  out.resize(static_cast<size_t>(size));
  in.seekg(0);
  in.read(out.data(), size);
  if (!in) return "Cannot read configuration file " + path;
  return std::nullopt;
}

}  // namespace

// ---- .properties -------------------------------------------------------------------

std::variant<PropertyList, std::string> parse_properties(std::string_view text) {
  PropertyList out;
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    NaturalLine nl = read_natural_line(text, pos);
    pos = nl.next;
    ++line_no;
    const size_t first_line = line_no;
    std::string_view first = skip_leading_space(nl.text);
    if (first.empty() || first[0] == '#' || first[0] == '!') continue;
    // Join continuation lines into one logical line.
    std::string logical(first);
    while (ends_with_odd_backslashes(logical)) {
      logical.pop_back();
      if (pos >= text.size()) break;
      nl = read_natural_line(text, pos);
      pos = nl.next;
      ++line_no;
      logical.append(skip_leading_space(nl.text));
    }
    auto [key_text, value_text] = split_key_value(logical);
    auto key = unescape(key_text);
    auto value = unescape(value_text);
    if (!key || !value) return "Malformed \\uxxxx encoding on line " + std::to_string(first_line);
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

std::variant<std::vector<Endpoint>, std::string> parse_listeners(std::string_view value) {
  std::vector<Endpoint> out;
  for (const auto& item : non_empty_items(value)) {
    const std::string error = "Unable to parse " + item + " to a broker endpoint";
    const size_t sep = item.find("://");
    if (sep == std::string::npos || sep == 0) return error;
    auto host_port = parse_host_port(std::string_view(item).substr(sep + 3));
    if (!host_port) return error;
    out.push_back({upper(item.substr(0, sep)), std::move(host_port->first), host_port->second, ""});
  }
  return out;
}

// ---- BrokerConfig ------------------------------------------------------------------

BrokerConfig::BrokerConfig() { finalize(); }

std::optional<std::string> BrokerConfig::value(std::string_view name) const {
  for (const ConfigMap* layer : {&dynamic_broker_, &dynamic_default_, &static_}) {
    if (auto it = layer->find(name); it != layer->end()) return it->second;
  }
  const ConfigDef* def = find_broker_config(name);
  if (def && def->default_value) return std::string(*def->default_value);
  return std::nullopt;
}

ConfigSource BrokerConfig::source(std::string_view name) const {
  for (ConfigSource layer : kLayers) {
    if (layer_value(layer, name)) return layer;
  }
  return ConfigSource::DEFAULT_CONFIG;
}

std::optional<std::string> BrokerConfig::layer_value(ConfigSource layer, std::string_view name) const {
  const ConfigMap* map = layer == ConfigSource::DYNAMIC_BROKER_CONFIG           ? &dynamic_broker_
                         : layer == ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG ? &dynamic_default_
                         : layer == ConfigSource::STATIC_BROKER_CONFIG          ? &static_
                                                                                : nullptr;
  if (map == nullptr) return std::nullopt;
  auto it = map->find(name);
  return it == map->end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::optional<int64_t> BrokerConfig::get_long(std::string_view name) const {
  const ConfigDef* def = find_broker_config(name);
  if (!def || (def->type != ConfigType::LONG && def->type != ConfigType::INT && def->type != ConfigType::SHORT)) {
    return std::nullopt;
  }
  auto v = value(name);
  return v ? parse_int64(*v) : std::nullopt;
}

std::optional<int32_t> BrokerConfig::get_int(std::string_view name) const {
  const ConfigDef* def = find_broker_config(name);
  if (!def) return std::nullopt;
  if (def->type == ConfigType::LONG) {
    // A LONG key read as an int (a caller's slip that once left replica.lag.time.max.ms at its
    // default whatever the config said): the value when it fits, never a silent default.
    auto v = get_long(name);
    if (v && *v >= INT32_MIN && *v <= INT32_MAX) return static_cast<int32_t>(*v);
    return std::nullopt;
  }
  if (def->type != ConfigType::INT && def->type != ConfigType::SHORT) return std::nullopt;
  auto v = value(name);
  return v ? parse_int32(*v) : std::nullopt;
}

std::optional<bool> BrokerConfig::get_bool(std::string_view name) const {
  const ConfigDef* def = find_broker_config(name);
  if (!def || def->type != ConfigType::BOOLEAN) return std::nullopt;
  auto v = value(name);
  return v ? parse_bool(*v) : std::nullopt;
}

std::optional<double> BrokerConfig::get_double(std::string_view name) const {
  const ConfigDef* def = find_broker_config(name);
  if (!def || def->type != ConfigType::DOUBLE) return std::nullopt;
  auto v = value(name);
  return v ? parse_double(*v) : std::nullopt;
}

std::vector<std::string> BrokerConfig::get_list(std::string_view name) const {
  auto v = value(name);
  return v ? parse_list(*v) : std::vector<std::string>{};
}

namespace {
// The <key> of "listener.name.<name>.<key>", or empty for other keys.
std::string_view listener_prefixed_key(std::string_view key) {
  constexpr std::string_view kPrefix = "listener.name.";
  if (key.substr(0, kPrefix.size()) != kPrefix) return {};
  const size_t dot = key.find('.', kPrefix.size());
  return dot == std::string_view::npos ? std::string_view{} : key.substr(dot + 1);
}
}  // namespace

std::optional<std::string> BrokerConfig::set_dynamic(ConfigSource layer, std::string_view name,
                                                     std::optional<std::string_view> new_value) {
  std::optional<std::string> v;
  if (new_value) v = std::string(*new_value);
  return set_dynamic(layer, {{std::string(name), v}});
}

std::optional<std::string> BrokerConfig::set_dynamic(ConfigSource layer, const DynamicChanges& changes) {
  if (layer != ConfigSource::DYNAMIC_BROKER_CONFIG && layer != ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG) {
    return "Only the dynamic broker layers can be updated";
  }
  BrokerConfig next = *this;
  ConfigMap& map = layer == ConfigSource::DYNAMIC_BROKER_CONFIG ? next.dynamic_broker_ : next.dynamic_default_;
  for (const auto& [name, new_value] : changes) {
    const ConfigDef* def = find_broker_config(name);
    // listener.name.<l>.<key>: one listener's value of a key that is itself
    // dynamic, per broker only (Kafka's listener configs, e.g. a new key store).
    const bool per_listener = def == nullptr && !listener_prefixed_key(name).empty();
    if (per_listener) def = find_broker_config(listener_prefixed_key(name));
    if (def == nullptr) return "Unknown broker config name: " + name;
    const std::string set_text = "Set(" + name + ")";
    if (def->update_mode == UpdateMode::kReadOnly) return "Cannot update these configs dynamically: " + set_text;
    if (layer == ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG && (per_listener || def->update_mode == UpdateMode::kPerBroker)) {
      return "Cannot update these configs at default cluster level, broker id must be specified: " + set_text;
    }
    if (new_value) {
      if (auto err = validate_value(*def, *new_value)) return err;
      map.insert_or_assign(name, canonical_value(*def, *new_value));
    } else if (auto it = map.find(name); it != map.end()) {
      map.erase(it);
    }
  }
  // Rules across keys see all the changes at once, as Kafka validates the
  // whole new KafkaConfig.
  if (auto err = next.finalize()) return err;
  *this = std::move(next);
  return std::nullopt;
}

bool BrokerConfig::is_broker() const { return contains(process_roles_, "broker"); }
bool BrokerConfig::is_controller() const { return contains(process_roles_, "controller"); }

std::string BrokerConfig::metadata_log_dir() const {
  if (auto v = value("metadata.log.dir"); v && !trim(*v).empty()) return std::string(trim(*v));
  return log_dirs_.empty() ? std::string() : log_dirs_.front();
}

int64_t BrokerConfig::log_retention_ms() const {
  int64_t ms;
  if (auto v = get_long("log.retention.ms")) {
    ms = *v;
  } else if (auto m = get_int("log.retention.minutes")) {
    ms = int64_t{*m} * 60000;
  } else {
    ms = int64_t{int_or("log.retention.hours", 168)} * 3600000;
  }
  return ms < 0 ? -1 : ms;
}

int64_t BrokerConfig::log_roll_ms() const {
  if (auto v = get_long("log.roll.ms")) return *v;
  return int64_t{int_or("log.roll.hours", 168)} * 3600000;
}

int64_t BrokerConfig::log_roll_jitter_ms() const {
  if (auto v = get_long("log.roll.jitter.ms")) return *v;
  return int64_t{int_or("log.roll.jitter.hours", 0)} * 3600000;
}

int64_t BrokerConfig::log_flush_interval_ms() const {
  if (auto v = get_long("log.flush.interval.ms")) return *v;
  return long_or("log.flush.scheduler.interval.ms", INT64_MAX);
}

int16_t BrokerConfig::offsets_topic_replication_factor() const {
  return static_cast<int16_t>(int_or("offsets.topic.replication.factor", 3));
}

int16_t BrokerConfig::transaction_state_log_replication_factor() const {
  return static_cast<int16_t>(int_or("transaction.state.log.replication.factor", 3));
}

std::optional<std::string> BrokerConfig::finalize() {
  if (auto err = check_rules(broker_config_rules(), [this](std::string_view k) { return value(k); })) return err;
  const int32_t node = int_or("node.id", -1);
  const int32_t legacy = int_or("broker.id", -1);
  if (node >= 0 && legacy >= 0 && node != legacy) {
    return "You must set `node.id` to the same value as `broker.id`.";
  }
  node_id_ = node >= 0 ? node : (legacy >= 0 ? legacy : 1);

  process_roles_ = non_empty_items(value("process.roles").value_or(""));
  if (process_roles_.empty()) process_roles_ = {"broker", "controller"};

  voters_.clear();
  const std::string voters_text = value("controller.quorum.voters").value_or("");
  for (const auto& item : non_empty_items(voters_text)) {
    const size_t at = item.find('@');
    const auto id = at == std::string::npos ? std::nullopt : parse_int32(std::string_view(item).substr(0, at));
    const auto host_port =
        at == std::string::npos ? std::nullopt : parse_host_port(std::string_view(item).substr(at + 1));
    if (!id || *id < 0 || !host_port) {
      return invalid_value("controller.quorum.voters", voters_text,
                           "Entry '" + item + "' is not of the form {id}@{host}:{port}");
    }
    voters_.push_back({*id, host_port->first, host_port->second});
  }

  auto dirs = value("log.dirs");
  if (!dirs) dirs = value("log.dir");
  log_dirs_ = non_empty_items(dirs.value_or(""));
  if (log_dirs_.empty()) return "At least one log directory must be defined via log.dirs or log.dir.";
  return finalize_listeners();
}

std::optional<std::string> BrokerConfig::finalize_listeners() {
  const std::string map_text = value("listener.security.protocol.map").value_or("");
  protocol_map_.clear();
  for (const auto& entry : non_empty_items(map_text)) {
    const size_t colon = entry.find(':');
    if (colon == std::string::npos) {
      return invalid_value("listener.security.protocol.map", map_text,
                           "Map entry '" + entry + "' is not of the form LISTENER_NAME:SECURITY_PROTOCOL");
    }
    const std::string name = upper(trim(std::string_view(entry).substr(0, colon)));
    const std::string protocol = upper(trim(std::string_view(entry).substr(colon + 1)));
    if (!is_security_protocol(protocol)) {
      return invalid_value("listener.security.protocol.map", map_text, "Unknown security protocol " + protocol);
    }
    if (!protocol_map_.emplace(name, protocol).second) {
      return invalid_value("listener.security.protocol.map", map_text,
                           "Listener name " + name + " appears more than once");
    }
  }
  controller_listeners_.clear();
  for (const auto& n : non_empty_items(value("controller.listener.names").value_or(""))) {
    controller_listeners_.push_back(upper(n));
  }
  // KRaft maps controller listeners to PLAINTEXT when no map was configured.
  const bool map_explicit = source("listener.security.protocol.map") != ConfigSource::DEFAULT_CONFIG;
  auto resolve = [&](std::vector<Endpoint>& endpoints) -> std::optional<std::string> {
    for (auto& e : endpoints) {
      if (auto it = protocol_map_.find(e.listener_name); it != protocol_map_.end()) {
        e.security_protocol = it->second;
      } else if (!map_explicit && contains(controller_listeners_, e.listener_name)) {
        e.security_protocol = "PLAINTEXT";
      } else {
        return "No security protocol defined for listener " + e.listener_name;
      }
    }
    return std::nullopt;
  };

  const std::string listeners_text = value("listeners").value_or("");
  auto parsed = parse_listeners(listeners_text);
  if (auto* err = std::get_if<std::string>(&parsed)) return invalid_value("listeners", listeners_text, *err);
  listeners_ = std::move(std::get<std::vector<Endpoint>>(parsed));
  if (listeners_.empty()) return invalid_value("listeners", listeners_text, "At least one listener is required");
  std::set<std::string> names;
  std::set<int32_t> ports;
  for (const auto& e : listeners_) {
    if (!names.insert(e.listener_name).second) {
      return "Each listener must have a different name, listeners: " + listeners_text;
    }
    if (e.port != 0 && !ports.insert(e.port).second) {
      return "Each listener must have a different port, listeners: " + listeners_text;
    }
  }
  if (auto err = resolve(listeners_)) return err;

  if (auto adv_text = value("advertised.listeners")) {
    auto adv = parse_listeners(*adv_text);
    if (auto* err = std::get_if<std::string>(&adv)) return invalid_value("advertised.listeners", *adv_text, *err);
    advertised_ = std::move(std::get<std::vector<Endpoint>>(adv));
    for (const auto& e : advertised_) {
      if (!names.contains(e.listener_name)) {
        return "advertised.listeners listener names must be equal to or a subset of the ones defined in "
               "listeners. Found " + *adv_text + ". The valid options based on the current configuration are " +
               join(std::vector<std::string>(names.begin(), names.end()), ",");
      }
      if (e.host == "0.0.0.0") {
        return "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.";
      }
    }
    if (auto err = resolve(advertised_)) return err;
  } else {
    advertised_.clear();
    for (const auto& e : listeners_) {
      if (!contains(controller_listeners_, e.listener_name)) advertised_.push_back(e);
    }
    if (advertised_.empty()) advertised_ = listeners_;
  }

  const auto inter_broker = value("inter.broker.listener.name");
  const bool protocol_explicit = source("security.inter.broker.protocol") != ConfigSource::DEFAULT_CONFIG;
  if (inter_broker && protocol_explicit) {
    return "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.";
  }
  if (inter_broker) {
    inter_broker_listener_ = upper(trim(*inter_broker));
    if (!names.contains(inter_broker_listener_)) {
      return "inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid "
             "options based on currently configured listeners are " +
             join(std::vector<std::string>(names.begin(), names.end()), ",");
    }
  } else {
    // A single node needs no inter-broker listener, so a missing one is not
    // an error here; replication reports it when it needs one.
    inter_broker_listener_ = value("security.inter.broker.protocol").value_or("PLAINTEXT");
  }
  return std::nullopt;
}

std::optional<std::string> BrokerConfig::listener_value(std::string_view listener, std::string_view key) const {
  std::string prefixed = "listener.name.";
  for (char c : listener) prefixed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  prefixed.push_back('.');
  prefixed.append(key);
  if (auto v = value(prefixed)) return v;
  return value(key);
}

std::variant<BrokerConfig, std::string> load_broker_config(
    const std::optional<std::string>& file_path, const std::vector<std::pair<std::string, std::string>>& overrides,
    std::vector<std::string>& warnings) {
  PropertyList props;
  if (file_path) {
    std::string text;
    if (auto err = read_file(*file_path, text)) return *err;
    auto parsed = parse_properties(text);
    if (auto* err = std::get_if<std::string>(&parsed)) return "Cannot parse " + *file_path + ": " + *err;
    props = std::move(std::get<PropertyList>(parsed));
  }
  props.insert(props.end(), overrides.begin(), overrides.end());

  // Merge first (a later value replaces an earlier one), then validate, so a
  // bad value in the file that an override replaces is no error.
  ConfigMap merged;
  for (auto& [key, value] : props) merged.insert_or_assign(std::string(trim(key)), value);

  BrokerConfig config;
  for (const auto& [key, value] : merged) {
    if (key.empty()) continue;
    const ConfigDef* def = find_broker_config(key);
    if (def == nullptr) {
      // listener.name.<l>.<key> overrides <key> for one listener (checked as <key> when known;
      // mechanism-prefixed SASL keys such as <l>.plain.sasl.jaas.config have no table entry).
      if (auto inner = listener_prefixed_key(key); !inner.empty()) {
        if (const ConfigDef* inner_def = find_broker_config(inner))
          if (auto err = validate_value(*inner_def, value)) return *err;
        config.static_.emplace(key, value);
        continue;
      }
      // The authorizer's own keys (read by server/authz.cc), as Kafka passes them to it.
      if (key != "super.users" && key != "allow.everyone.if.no.acl.found")
        warnings.push_back("The configuration '" + key + "' was supplied but isn't a known config.");
      config.static_.emplace(key, value);
      continue;
    }
    if (auto err = validate_value(*def, value)) return *err;
    config.static_.emplace(key, canonical_value(*def, value));
  }
  if (auto err = config.finalize()) return *err;
  return config;
}

std::optional<std::string> validate_value(std::string_view name, std::string_view value) {
  const ConfigDef* def = find_broker_config(name);
  if (def == nullptr) return std::nullopt;
  return validate_value(*def, value);
}

// ---- DescribeConfigs -----------------------------------------------------------------

std::vector<ConfigEntry> describe_broker_config(const BrokerConfig& broker, std::span<const std::string> keys,
                                                bool include_synonyms) {
  std::vector<ConfigEntry> out;
  for (const ConfigDef& def : broker_config_defs()) {
    if (!wanted(keys, def.name)) continue;
    ConfigEntry e;
    e.name = def.name;
    e.type = def.type;
    e.sensitive = def.sensitive();
    e.read_only = def.read_only();
    e.documentation = def.documentation;
    e.value = e.sensitive ? std::nullopt : broker.value(def.name);
    auto synonyms = broker_synonyms(def, broker);
    e.source = synonyms.empty() ? ConfigSource::DEFAULT_CONFIG : synonyms.front().source;
    e.is_default = e.source == ConfigSource::DEFAULT_CONFIG;
    if (include_synonyms) e.synonyms = std::move(synonyms);
    out.push_back(std::move(e));
  }
  // A listener's dynamic value of a key (listener.name.<l>.<key>), typed as its key.
  for (const auto& [name, value] : broker.dynamic_broker_values()) {
    const ConfigDef* inner = find_broker_config(listener_prefixed_key(name));
    if (find_broker_config(name) != nullptr || inner == nullptr || !wanted(keys, name)) continue;
    ConfigEntry e;
    e.name = name;
    e.type = inner->type;
    e.source = ConfigSource::DYNAMIC_BROKER_CONFIG;
    e.is_default = false;
    e.sensitive = inner->sensitive();
    if (!e.sensitive) e.value = value;
    if (include_synonyms) e.synonyms.push_back({name, e.value, ConfigSource::DYNAMIC_BROKER_CONFIG});
    out.push_back(std::move(e));
  }
  // Keys the broker does not know are still reported, as Kafka reports its
  // originals; with no type to go by they count as sensitive.
  for (const auto& [name, value] : broker.static_values()) {
    if (find_broker_config(name) != nullptr || !wanted(keys, name) || broker.dynamic_broker_values().count(name))
      continue;
    ConfigEntry e;
    e.name = name;
    e.source = ConfigSource::STATIC_BROKER_CONFIG;
    e.is_default = false;
    e.sensitive = true;
    if (include_synonyms) e.synonyms.push_back({name, std::nullopt, ConfigSource::STATIC_BROKER_CONFIG});
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; });
  return out;
}

std::vector<ConfigEntry> describe_topic_config(const TopicOverrides& overrides, const BrokerConfig& broker,
                                               std::span<const std::string> keys, bool include_synonyms) {
  std::vector<ConfigEntry> out;
  for (const ConfigDef& def : topic_config_defs()) {
    if (!wanted(keys, def.name)) continue;
    ConfigEntry e;
    e.name = def.name;
    e.type = def.type;
    e.sensitive = def.sensitive();
    e.read_only = false;
    e.documentation = def.documentation;
    e.value = topic_value_from(def, topic_synonyms(def, overrides, broker));
    auto synonyms = reported_topic_synonyms(def, overrides, broker);
    e.source = synonyms.empty() ? ConfigSource::DEFAULT_CONFIG : synonyms.front().source;
    e.is_default = e.source == ConfigSource::DEFAULT_CONFIG;
    if (include_synonyms) e.synonyms = std::move(synonyms);
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<std::pair<ErrorCode, std::string>> validate_topic_configs(
    const std::map<std::string, std::string, std::less<>>& configs, const BrokerConfig* broker) {
  for (const auto& [name, value] : configs) {
    const ConfigDef* def = find_topic_config(name);
    if (def == nullptr) return std::make_pair(ErrorCode::INVALID_CONFIG, "Unknown topic config name: " + name);
    if (auto err = validate_value(*def, value)) return std::make_pair(ErrorCode::INVALID_CONFIG, *err);
  }
  // Cross-key rules (config_registry_rules.cc), with the broker's values for
  // keys the request does not set.
  const BrokerConfig defaults;
  const BrokerConfig& b = broker ? *broker : defaults;
  const TopicOverrides overrides(configs.begin(), configs.end());
  auto lookup = [&](std::string_view key) -> std::optional<std::string> {
    if (find_topic_config(key) != nullptr) return effective_topic_value(key, overrides, b);
    return b.value(key);
  };
  if (auto err = check_rules(topic_config_rules(), lookup)) return std::make_pair(ErrorCode::INVALID_CONFIG, *err);
  return std::nullopt;
}

std::optional<std::pair<ErrorCode, std::string>> validate_topic_configs(
    const std::map<std::string, std::optional<std::string>, std::less<>>& configs, const BrokerConfig* broker) {
  std::vector<std::string> nulls;
  std::map<std::string, std::string, std::less<>> present;
  for (const auto& [name, value] : configs) {
    if (value) {
      present.emplace(name, *value);
    } else {
      nulls.push_back(name);
    }
  }
  if (!nulls.empty()) {
    return std::make_pair(ErrorCode::INVALID_CONFIG, "Null value not supported for topic configs: " + join(nulls, ","));
  }
  return validate_topic_configs(present, broker);
}

TopicOverrides canonical_topic_configs(const TopicOverrides& configs) {
  TopicOverrides out;
  for (const auto& [name, value] : configs) {
    const ConfigDef* def = find_topic_config(name);
    out.emplace(name, def ? canonical_value(*def, value) : value);
  }
  return out;
}

EffectiveTopicConfig resolve_topic_config(const TopicOverrides& overrides, const BrokerConfig& broker) {
  auto text = [&](std::string_view name) { return effective_topic_value(name, overrides, broker); };
  auto i64 = [&](std::string_view name, int64_t fallback) { return parse_int64(text(name)).value_or(fallback); };
  auto i32 = [&](std::string_view name, int32_t fallback) { return parse_int32(text(name)).value_or(fallback); };
  auto flag = [&](std::string_view name, bool fallback) { return parse_bool(text(name)).value_or(fallback); };

  EffectiveTopicConfig c;
  const auto policy = parse_list(text("cleanup.policy"));
  c.cleanup_delete = contains(policy, "delete");
  c.cleanup_compact = contains(policy, "compact");
  c.compression_type = text("compression.type");
  c.max_message_bytes = i32("max.message.bytes", c.max_message_bytes);
  c.retention_ms = i64("retention.ms", c.retention_ms);
  c.retention_bytes = std::max<int64_t>(i64("retention.bytes", c.retention_bytes), -1);  // negative: no limit
  c.segment_bytes = i32("segment.bytes", c.segment_bytes);
  c.segment_ms = i64("segment.ms", c.segment_ms);
  c.segment_jitter_ms = i64("segment.jitter.ms", c.segment_jitter_ms);
  c.segment_index_bytes = i32("segment.index.bytes", c.segment_index_bytes);
  c.index_interval_bytes = i32("index.interval.bytes", c.index_interval_bytes);
  c.flush_messages = i64("flush.messages", c.flush_messages);
  c.flush_ms = i64("flush.ms", c.flush_ms);
  c.delete_retention_ms = i64("delete.retention.ms", c.delete_retention_ms);
  c.min_compaction_lag_ms = i64("min.compaction.lag.ms", c.min_compaction_lag_ms);
  c.max_compaction_lag_ms = i64("max.compaction.lag.ms", c.max_compaction_lag_ms);
  c.min_cleanable_dirty_ratio = parse_double(text("min.cleanable.dirty.ratio")).value_or(0.5);
  c.file_delete_delay_ms = i64("file.delete.delay.ms", c.file_delete_delay_ms);
  c.min_insync_replicas = i32("min.insync.replicas", c.min_insync_replicas);
  c.unclean_leader_election_enable = flag("unclean.leader.election.enable", false);
  c.preallocate = flag("preallocate", false);
  c.log_append_time = text("message.timestamp.type") == "LogAppendTime";
  c.message_timestamp_before_max_ms = i64("message.timestamp.before.max.ms", c.message_timestamp_before_max_ms);
  c.message_timestamp_after_max_ms = i64("message.timestamp.after.max.ms", c.message_timestamp_after_max_ms);
  return c;
}

}  // namespace samsa::config
