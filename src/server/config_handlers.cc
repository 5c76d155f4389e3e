// DescribeConfigs (32), AlterConfigs (33), IncrementalAlterConfigs (44) for
// topics (resource type 2) and brokers (4). Topic overrides and dynamic broker
// configs are metadata records; values are described with Kafka's sources and
// synonyms by cluster/broker_config.
#include "cluster/broker_config.h"
#include "protocol/messages/alter_configs.h"
#include "protocol/messages/describe_configs.h"
#include "protocol/messages/incremental_alter_configs.h"
#include "server/broker.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {

constexpr int8_t kTopic = 2;
constexpr int8_t kBroker = 4;

// The static config plus the dynamic layers recorded in the metadata image.
cluster::BrokerConfig effective_broker_config(const Broker& broker, const cluster::MetadataImage& image) {
  cluster::BrokerConfig cfg = *broker.settings().config;
  auto apply = [&](const std::string& resource, cluster::ConfigSource layer) {
    auto it = image.broker_configs.find(resource);
    if (it == image.broker_configs.end()) return;
    for (auto& [k, v] : it->second) (void)cfg.set_dynamic(layer, k, v);
  };
  apply("", cluster::ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG);
  apply(std::to_string(broker.node_id()), cluster::ConfigSource::DYNAMIC_BROKER_CONFIG);
  return cfg;
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
  if (type == kTopic) {
    if (!image->find_topic(name)) co_return AlterOutcome{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Topic " + name + " does not exist."};
    std::map<std::string, std::optional<std::string>, std::less<>> m;
    for (auto& [k, v] : changes)
      if (v) m[k] = v;
    if (auto err = cluster::validate_topic_configs(m, broker.settings().config.get()))
      co_return AlterOutcome{err->first, err->second};
    for (auto& [k, v] : changes)
      if (v) {
        cluster::TopicOverrides one{{k, *v}};
        *v = cluster::canonical_topic_configs(one).begin()->second;
      }
  } else if (type == kBroker) {
    if (!name.empty() && name != std::to_string(broker.node_id()))
      co_return AlterOutcome{ErrorCode::INVALID_REQUEST, "Unexpected broker id " + name};
    auto cfg = effective_broker_config(broker, *image);
    auto layer = name.empty() ? cluster::ConfigSource::DYNAMIC_DEFAULT_BROKER_CONFIG : cluster::ConfigSource::DYNAMIC_BROKER_CONFIG;
    for (auto& [k, v] : changes) {
      std::optional<std::string_view> sv;
      if (v) sv = *v;
      if (auto err = cfg.set_dynamic(layer, k, sv)) co_return AlterOutcome{ErrorCode::INVALID_CONFIG, *err};
    }
  } else {
    co_return AlterOutcome{ErrorCode::INVALID_REQUEST, "Unsupported resource type " + std::to_string(type)};
  }
  auto op = run_on(broker.shard(0), [&broker, type, name, changes, validate_only] { return broker.controller().alter_configs(type, name, changes, validate_only);
  });
  auto res = co_await std::move(op);
  AlterOutcome out{res.error, std::nullopt};
  if (!res.message.empty()) out.message = res.message;
  co_return out;
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
      auto cfg = effective_broker_config(broker, *image);
      entries = cluster::describe_topic_config(o, cfg, keys, req.include_synonyms);
    } else if (res.resource_type == kBroker) {
      if (!res.resource_name.empty() && res.resource_name != std::to_string(broker.node_id())) {
        out.error_code = to_int(ErrorCode::INVALID_REQUEST);
        out.error_message = "Unexpected broker id, expected " + std::to_string(broker.node_id()) + " or empty string";
        continue;
      }
      auto cfg = effective_broker_config(broker, *image);
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
    for (auto& c : res.configs) {
      changes.emplace_back(c.name, c.value);
      given.insert(c.name);
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
    std::vector<Change> changes;
    ErrorCode err = ErrorCode::NONE;
    std::string msg;
    for (auto& c : res.configs) {
      switch (c.config_operation) {
        case 0:  // SET
          changes.emplace_back(c.name, c.value);
          break;
        case 1:  // DELETE
          changes.emplace_back(c.name, std::nullopt);
          break;
        case 2:    // APPEND to a list
        case 3: {  // SUBTRACT from a list
          auto list = cluster::parse_list(current.count(c.name) ? current[c.name] : "");
          auto items = cluster::parse_list(c.value.value_or(""));
          for (auto& i : items) {
            auto pos = std::find(list.begin(), list.end(), i);
            if (c.config_operation == 2 && pos == list.end()) list.push_back(i);
            if (c.config_operation == 3 && pos != list.end()) list.erase(pos);
          }
          std::string joined;
          for (auto& i : list) joined += (joined.empty() ? "" : ",") + i;
          changes.emplace_back(c.name, joined);
          break;
        }
        default:
          err = ErrorCode::INVALID_REQUEST;
          msg = "Unknown config operation " + std::to_string(c.config_operation);
      }
    }
    if (err != ErrorCode::NONE) {
      out.error_code = to_int(err);
      out.error_message = msg;
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
