#include "cluster/client_quotas.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>

namespace samsa::cluster {

namespace {

enum class KeyType { kLong, kInt, kDouble };

struct KeyInfo {
  const char* name;
  KeyType type;
};
// Kafka's QuotaConfigs: the keys of user and client-id entities, and of ip entities.
constexpr KeyInfo kClientKeys[] = {{kProducerByteRate, KeyType::kLong},
                                   {kConsumerByteRate, KeyType::kLong},
                                   {kRequestPercentage, KeyType::kDouble},
                                   {kControllerMutationRate, KeyType::kDouble}};
constexpr KeyInfo kIpKeys[] = {{kConnectionCreationRate, KeyType::kInt}};

bool valid_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

QuotaError invalid(std::string message) { return {ErrorCode::INVALID_REQUEST, std::move(message)}; }

}  // namespace

std::optional<QuotaError> validate_entity(const EntityComponents& components, QuotaEntity& out) {
  out.clear();
  if (components.empty()) return invalid("Invalid empty client quota entity");
  for (const auto& [type, name] : components) {
    if (type != kUserEntity && type != kClientIdEntity && type != kIpEntity)
      return invalid("Unhandled client quota entity type: " + type);
    if (out.contains(type)) return invalid("Invalid empty client quota entity, duplicate entity entry " + type);
    if (type == kIpEntity && name && !valid_ip(*name)) return invalid(*name + " is not a valid IP or resolvable host.");
    out[type] = name;
  }
  if (out.contains(kIpEntity) && out.size() > 1)
    return invalid("Invalid quota entity combination, IP entity should not be combined with User or ClientId");
  return std::nullopt;
}

std::optional<QuotaError> validate_op(const QuotaEntity& entity, const std::string& key, double value, bool remove) {
  const bool ip = entity.contains(kIpEntity);
  const KeyInfo* info = nullptr;
  if (ip) {
    for (auto& k : kIpKeys)
      if (key == k.name) info = &k;
  } else {
    for (auto& k : kClientKeys)
      if (key == k.name) info = &k;
  }
  if (!info) return invalid("Invalid configuration key " + key);
  if (remove) return std::nullopt;
  // NaN fails the comparison too.
  if (!(value > 0.0) || std::isinf(value)) return invalid("Quota " + key + " must be greater than 0");
  constexpr double kEpsilon = 1e-6;
  switch (info->type) {
    case KeyType::kDouble:
      break;
    case KeyType::kLong:
      if (value >= 9.2e18 || std::fabs(std::floor(value + kEpsilon) - value) > kEpsilon)
        return invalid("Configuration " + key + " must be a Long value");
      break;
    case KeyType::kInt:
      if (value > 2147483647.0) return invalid("Proposed value for " + key + " is too large for an INT.");
      if (std::fabs(std::floor(value + kEpsilon) - value) > kEpsilon)
        return invalid("Configuration " + key + " must be an Integer value");
      break;
  }
  return std::nullopt;
}

protocol::kraft::ClientQuotaRecord quota_record(const QuotaEntity& entity, const std::string& key, double value,
                                                bool remove) {
  protocol::kraft::ClientQuotaRecord r;
  for (const auto& [type, name] : entity) {
    auto& e = r.entity.emplace_back();
    e.entity_type = type;
    e.entity_name = name;
  }
  r.key = key;
  r.value = remove ? 0.0 : value;
  r.remove = remove;
  return r;
}

std::vector<protocol::kraft::ClientQuotaRecord> quota_records(const ClientQuotaMap& current, const QuotaEntity& entity,
                                                              const std::vector<QuotaOp>& ops) {
  QuotaValues values;
  if (auto it = current.find(entity); it != current.end()) values = it->second;
  std::vector<protocol::kraft::ClientQuotaRecord> out;
  for (const auto& op : ops) {
    auto it = values.find(op.key);
    if (op.remove) {
      if (it == values.end()) continue;
      values.erase(it);
    } else {
      if (it != values.end() && it->second == op.value) continue;
      values[op.key] = op.value;
    }
    out.push_back(quota_record(entity, op.key, op.value, op.remove));
  }
  return out;
}

void apply_quota_record(ClientQuotaMap& quotas, const protocol::kraft::ClientQuotaRecord& r) {
  EntityComponents components;
  for (const auto& e : r.entity) components.emplace_back(e.entity_type, e.entity_name);
  QuotaEntity entity;
  // A record the controller would not have written (another writer's) is not applied.
  if (validate_entity(components, entity)) return;
  if (r.remove) {
    auto it = quotas.find(entity);
    if (it == quotas.end()) return;
    it->second.erase(r.key);
    if (it->second.empty()) quotas.erase(it);
    return;
  }
  quotas[entity][r.key] = r.value;
}

std::vector<protocol::kraft::ClientQuotaRecord> quota_records(const ClientQuotaMap& quotas) {
  std::vector<protocol::kraft::ClientQuotaRecord> out;
  for (const auto& [entity, values] : quotas)
    for (const auto& [key, value] : values) out.push_back(quota_record(entity, key, value, false));
  return out;
}

bool QuotaFilter::matches(const QuotaEntity& e) const {
  if (strict && e.size() != exact.size() + specified.size()) return false;
  for (const auto& [type, name] : exact) {
    auto it = e.find(type);
    if (it == e.end() || it->second != name) return false;
  }
  for (const auto& type : specified) {
    auto it = e.find(type);
    if (it == e.end() || !it->second) return false;
  }
  return true;
}

std::optional<QuotaError> make_filter(const std::vector<QuotaFilterComponent>& components, bool strict,
                                      QuotaFilter& out) {
  out = QuotaFilter{};
  out.strict = strict;
  auto seen = [&](const std::string& t) {
    return out.exact.contains(t) || std::find(out.specified.begin(), out.specified.end(), t) != out.specified.end();
  };
  for (const auto& c : components) {
    const std::string& type = c.entity_type;
    if (type.empty()) return invalid("Invalid empty entity type.");
    if (seen(type)) return invalid("Entity type " + type + " cannot appear more than once in the filter.");
    if (type != kUserEntity && type != kClientIdEntity && type != kIpEntity)
      return invalid("Unknown entity type " + type);
    switch (c.match_type) {
      case 0:
        if (!c.match) return invalid("Request specified MATCH_TYPE_EXACT, but set match string to null.");
        out.exact[type] = c.match;
        break;
      case 1:
        if (c.match) return invalid("Request specified MATCH_TYPE_DEFAULT, but also specified a match string.");
        out.exact[type] = std::nullopt;
        break;
      case 2:
        if (c.match) return invalid("Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.");
        out.specified.push_back(type);
        break;
      default:
        return invalid("Unknown match type " + std::to_string(c.match_type));
    }
  }
  if (seen(kIpEntity) && (seen(kUserEntity) || seen(kClientIdEntity)))
    return invalid(
        "Invalid entity filter component combination. IP filter component should not be used with user or clientId "
        "filter component.");
  return std::nullopt;
}

std::optional<QuotaMatch> resolve_quota(const ClientQuotaMap& quotas, const std::string& user,
                                        const std::string& client_id, const std::string& key) {
  if (quotas.empty()) return std::nullopt;
  using Name = std::optional<std::string>;
  struct Level {
    std::optional<Name> user;    // nullopt: no user part
    std::optional<Name> client;  // nullopt: no client-id part
  };
  const Name u{user}, c{client_id}, d{};
  const Level levels[] = {{u, c}, {u, d}, {u, std::nullopt}, {d, c},
                          {d, d}, {d, std::nullopt}, {std::nullopt, c}, {std::nullopt, d}};
  for (const auto& level : levels) {
    QuotaEntity e;
    if (level.user) e[kUserEntity] = *level.user;
    if (level.client) e[kClientIdEntity] = *level.client;
    auto it = quotas.find(e);
    if (it == quotas.end()) continue;
    auto v = it->second.find(key);
    if (v == it->second.end()) continue;
    return QuotaMatch{v->second, level.user ? user : std::string(), level.client ? client_id : std::string()};
  }
  return std::nullopt;
}

}  // namespace samsa::cluster
