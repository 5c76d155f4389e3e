// DescribeConfigs (32), AlterConfigs (33), IncrementalAlterConfigs (44) for
// topics (resource type 2) and brokers (4). Topic overrides and dynamic broker
// configs are metadata records; values are described with Kafka's sources and
// synonyms by cluster/broker_config.
#include <charconv>
#include <variant>

#include "config/broker_config.h"
#include "protocol/messages/alter_configs.h"
#include "protocol/messages/describe_configs.h"
#include "protocol/messages/incremental_alter_configs.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/handlers.h"
#include "server/listener_security.h"

namespace samsa::server {

namespace {

constexpr int8_t kTopic = 2;
constexpr int8_t kBroker = 4;

// Kafka's ControllerConfigurationValidator for a broker resource name: empty
// (the cluster default) or a broker id.
bool valid_broker_name(const std::string& name) {
  if (name.empty()) return true;
  int32_t id = -1;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  return ec == std::errc() && end == name.data() + name.size() && id >= 0;
}

using Change = std::pair<std::string, std::optional<std::string>>;

struct AlterOutcome {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::string> message;
};

// Validates the changes of one resource, then commits them through the controller.
asio::awaitable<AlterOutcome> alter(RequestContext& ctx, int8_t type, const std::string& name, std::vector<Change> changes,
                                    bool validate_only) {
  auto& broker = *ctx.broker;
  auto image = ctx.shard->image;
  if (auto denied = config_denied(ctx, type, name, AclOperation::ALTER_CONFIGS))
    co_return AlterOutcome{*denied, std::nullopt};
  if (type == kTopic) {
    auto* topic = image->find_topic(name);
    if (!topic) co_return AlterOutcome{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Topic " + name + " does not exist."};
    // The overrides as they will be, so rules across keys see the kept ones.
    std::map<std::string, std::string, std::less<>> resulting(topic->configs.begin(), topic->configs.end());
    for (auto& [k, v] : changes) {
      if (v) resulting[k] = *v; else resulting.erase(k);
    }
    if (auto err = cluster::validate_topic_configs(resulting, broker.settings().config.get()))
      co_return AlterOutcome{err->first, err->second};
    for (auto& [k, v] : changes)
      if (v) {
        cluster::TopicOverrides one{{k, *v}};
        *v = cluster::canonical_topic_configs(one).begin()->second;
      }
  } else if (type == kBroker) {
    // A broker takes its own id (Kafka's ConfigAdminManager); the active
    // controller, on its CONTROLLER listener, any broker's (forwarded, or from
    // an admin client talking to the controllers).
    const bool controller_listener = ctx.conn && broker.on_controller_listener(*ctx.conn);
    if (controller_listener ? !valid_broker_name(name) : !name.empty() && name != std::to_string(broker.node_id()))
      co_return AlterOutcome{ErrorCode::INVALID_REQUEST, "Unexpected broker id " + name};
    auto cfg = broker.effective_config(*image, name);
    auto layer = name.empty() ? cluster::ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG : cluster::ConfigSource::DYNAMIC_BROKER_CONFIG;
    // All changes at once, then Kafka's rules across keys. INVALID_CONFIG
    // (Kafka answers INVALID_REQUEST here, which KAFKA-13609 calls a bug).
    const auto before = cfg;
    if (auto err = cfg.set_dynamic(layer, changes)) co_return AlterOutcome{ErrorCode::INVALID_CONFIG, *err};
    // A new key store or trust store must load before it is accepted.
    if (auto err = validate_tls_change(before, cfg, broker.settings().listeners))
      co_return AlterOutcome{ErrorCode::INVALID_CONFIG, *err};
  } else {
    co_return AlterOutcome{ErrorCode::INVALID_REQUEST, "Unsupported resource type " + std::to_string(type)};
  }
  auto op = broker.alter_configs(type, name, changes, validate_only);
  auto res = co_await std::move(op);
  AlterOutcome out{res.error, std::nullopt};
  if (!res.message.empty()) out.message = res.message;
  co_return out;
}

// Kafka's ConfigAdminManager.preprocess checks: INVALID_REQUEST for a key
// given twice or a null value where one is needed.
std::optional<AlterOutcome> preprocess_error(bool duplicate, const std::vector<std::string>& nulls) {
  if (duplicate) return AlterOutcome{ErrorCode::INVALID_REQUEST, "Error due to duplicate config keys"};
  if (nulls.empty()) return std::nullopt;
  std::string names;
  for (auto& n : nulls) names += (names.empty() ? "" : ", ") + n;
  return AlterOutcome{ErrorCode::INVALID_REQUEST, "Null value not supported for : " + names};
}

constexpr int8_t kSet = 0;
constexpr int8_t kDelete = 1;
constexpr int8_t kAppend = 2;
constexpr int8_t kSubtract = 3;

// APPEND / SUBTRACT of IncrementalAlterConfigs: only LIST keys; the list
// starts from the current value, else the key's default (as Kafka's
// ConfigurationControlManager.getParts). Kafka's messages on error.
std::variant<std::string, AlterOutcome> apply_list_op(int8_t type, const std::string& key, int8_t op,
                                                      const std::optional<std::string>& current,
                                                      const std::string& operand) {
  const cluster::ConfigDef* def = type == kTopic ? cluster::find_topic_config(key) : cluster::find_broker_config(key);
  const char* op_name = op == kAppend ? "APPEND" : "SUBTRACT";
  if (def == nullptr) {
    return AlterOutcome{ErrorCode::INVALID_CONFIG,
                        type == kTopic ? "Unknown topic config name: " + key : "Unknown config name: " + key};
  }
  if (def->type != cluster::ConfigType::LIST) {
    if (type == kTopic) {
      return AlterOutcome{ErrorCode::INVALID_CONFIG,
                          std::string("Can't ") + op_name + " to key " + key + " because its type is not LIST."};
    }
    return AlterOutcome{ErrorCode::INVALID_CONFIG, std::string("Config value ") +
                                                       (op == kAppend ? "append" : "subtract") +
                                                       " is not allowed for config key: " + key};
  }
  std::vector<std::string> list;
  for (auto& item : cluster::parse_list(current.value_or(std::string(def->default_value.value_or(""))))) {
    if (!item.empty()) list.push_back(item);
  }
  for (auto& item : cluster::parse_list(operand)) {
    auto pos = std::find(list.begin(), list.end(), item);
    if (op == kAppend && pos == list.end()) list.push_back(item);
    if (op == kSubtract && pos != list.end()) list.erase(pos);
  }
  std::string joined;
  for (auto& item : list) joined += (joined.empty() ? "" : ",") + item;
  return joined;
}

}  // namespace

asio::awaitable<net::Response> handle_describe_configs(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeConfigsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  auto image = ctx.shard->image;
  protocol::DescribeConfigsResponse resp;
  for (auto& res : req.resources) {
    auto& out = resp.results.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (auto denied = config_denied(ctx, res.resource_type, res.resource_name, AclOperation::DESCRIBE_CONFIGS)) {
      out.error_code = to_int(*denied);
      continue;
    }
    std::vector<std::string> keys;
    if (res.configuration_keys) keys = *res.configuration_keys;
    std::vector<cluster::ConfigEntry> entries;
    if (res.resource_type == kTopic) {
      auto* t = image->find_topic(res.resource_name);
      if (!t) {
        out.error_code = to_int(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        out.error_message = "Topic " + res.resource_name + " does not exist.";
        continue;
      }
      cluster::TopicOverrides o(t->configs.begin(), t->configs.end());
      auto cfg = broker.effective_config(*image);
      entries = cluster::describe_topic_config(o, cfg, keys, req.include_synonyms);
    } else if (res.resource_type == kBroker) {
      if (!res.resource_name.empty() && res.resource_name != std::to_string(broker.node_id())) {
        out.error_code = to_int(ErrorCode::INVALID_REQUEST);
        out.error_message = "Unexpected broker id, expected " + std::to_string(broker.node_id()) + " or empty string";
        continue;
      }
      auto cfg = broker.effective_config(*image);
      entries = cluster::describe_broker_config(cfg, keys, req.include_synonyms);
    } else {
      out.error_code = to_int(ErrorCode::INVALID_REQUEST);
      out.error_message = "Unsupported resource type";
      continue;
    }
    for (auto& e : entries) {
      auto& c = out.configs.emplace_back();
      c.name = e.name;
      c.value = e.value;
      c.read_only = e.read_only;
      c.is_default = e.is_default;
      c.config_source = static_cast<int8_t>(e.source);
      c.is_sensitive = e.sensitive;
      c.config_type = static_cast<int8_t>(e.type);
      if (req.include_documentation) c.documentation = std::string(e.documentation);
      if (req.include_synonyms)
        for (auto& s : e.synonyms) {
          auto& so = c.synonyms.emplace_back();
          so.name = s.name;
          so.value = s.value;
          so.source = static_cast<int8_t>(s.source);
        }
    }
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_alter_configs(RequestContext& ctx, protocol::Reader& r) {
  protocol::AlterConfigsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  protocol::AlterConfigsResponse resp;
  for (auto& res : req.resources) {
    auto& out = resp.responses.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    // AlterConfigs replaces the whole set: what is not given is removed.
    std::vector<Change> changes;
    std::set<std::string> given;
    std::vector<std::string> nulls;
    bool duplicate = false;
    for (auto& c : res.configs) {
      if (!c.value) nulls.push_back(c.name);
      changes.emplace_back(c.name, c.value);
      duplicate |= !given.insert(c.name).second;
    }
    if (auto bad = preprocess_error(duplicate, nulls)) {
      out.error_code = to_int(bad->error);
      out.error_message = bad->message;
      continue;
    }
    auto image = ctx.shard->image;
    if (res.resource_type == kTopic) {
      if (auto* t = image->find_topic(res.resource_name))
        for (auto& [k, v] : t->configs)
          if (!given.count(k)) changes.emplace_back(k, std::nullopt);
    } else if (res.resource_type == kBroker) {
      auto it = image->broker_configs.find(res.resource_name);
      if (it != image->broker_configs.end())
        for (auto& [k, v] : it->second)
          if (!given.count(k)) changes.emplace_back(k, std::nullopt);
    }
    auto op = alter(ctx, res.resource_type, res.resource_name, std::move(changes), req.validate_only);
    auto o = co_await std::move(op);
    out.error_code = to_int(o.error);
    out.error_message = o.message;
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_incremental_alter_configs(RequestContext& ctx, protocol::Reader& r) {
  protocol::IncrementalAlterConfigsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  protocol::IncrementalAlterConfigsResponse resp;
  for (auto& res : req.resources) {
    auto& out = resp.responses.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    auto image = ctx.shard->image;
    std::map<std::string, std::string> current;
    if (res.resource_type == kTopic) {
      if (auto* t = image->find_topic(res.resource_name)) current = t->configs;
    } else if (res.resource_type == kBroker) {
      auto it = image->broker_configs.find(res.resource_name);
      if (it != image->broker_configs.end()) current = it->second;
    }
    std::set<std::string> given;
    std::vector<std::string> nulls;
    bool duplicate = false;
    for (auto& c : res.configs) {
      duplicate |= !given.insert(c.name).second;
      if (c.config_operation != kDelete && !c.value) nulls.push_back(c.name);
    }
    std::optional<AlterOutcome> bad = preprocess_error(duplicate, nulls);
    std::vector<Change> changes;
    for (auto& c : res.configs) {
      if (bad) break;
      if (c.config_operation == kSet) {
        changes.emplace_back(c.name, c.value);
      } else if (c.config_operation == kDelete) {
        changes.emplace_back(c.name, std::nullopt);
      } else if (c.config_operation == kAppend || c.config_operation == kSubtract) {
        auto it = current.find(c.name);
        auto joined = apply_list_op(res.resource_type, c.name, c.config_operation,
                                    it == current.end() ? std::nullopt : std::optional<std::string>(it->second),
                                    *c.value);
        if (auto* e = std::get_if<AlterOutcome>(&joined)) bad = *e; else changes.emplace_back(c.name, std::get<std::string>(joined));
      } else {
        bad = AlterOutcome{ErrorCode::INVALID_REQUEST, "Unknown operations type " + std::to_string(c.config_operation)};
      }
    }
    if (bad) {
      out.error_code = to_int(bad->error);
      out.error_message = bad->message;
      continue;
    }
    auto op = alter(ctx, res.resource_type, res.resource_name, std::move(changes), req.validate_only);
    auto o = co_await std::move(op);
    out.error_code = to_int(o.error);
    out.error_message = o.message;
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
