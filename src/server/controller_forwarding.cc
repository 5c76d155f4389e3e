#include "server/controller_forwarding.h"

#include "cluster/metadata_records.h"
#include "protocol/messages/allocate_producer_ids.h"
#include "protocol/messages/alter_partition.h"
#include "protocol/messages/create_acls.h"
#include "protocol/messages/create_partitions.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_acls.h"
#include "protocol/messages/delete_topics.h"
#include "protocol/messages/incremental_alter_configs.h"

namespace samsa::server {

namespace {

constexpr int8_t kSet = 0;
constexpr int8_t kDelete = 1;

template <typename Msg>
protocol::Bytes encode(const Msg& m, int16_t version) {
  protocol::Writer w;
  m.encode(w, version);
  return std::move(w.buffer());
}

// Decodes a whole response body; nullopt when it does not parse.
template <typename Msg>
std::optional<Msg> decode(std::span<const uint8_t> body, int16_t version) {
  protocol::Reader r(body.data(), body.size());
  Msg m;
  m.decode(r, version);
  if (!r.ok()) return std::nullopt;
  return m;
}

const cluster::OpResult kUnparsable{ErrorCode::UNKNOWN_SERVER_ERROR, "The controller's answer could not be read.", {}};

cluster::OpResult result_of(int16_t code, const std::optional<std::string>& message) {
  return cluster::OpResult{static_cast<ErrorCode>(code), message.value_or(""), {}};
}

}  // namespace

protocol::Bytes encode_create_topics(const std::vector<cluster::TopicSpec>& specs, bool validate_only) {
  protocol::CreateTopicsRequest req;
  for (auto& s : specs) {
    auto& t = req.topics.emplace_back();
    t.name = s.name;
    t.num_partitions = s.assignments.empty() ? s.num_partitions : -1;
    t.replication_factor = s.assignments.empty() ? s.replication_factor : int16_t{-1};
    for (auto& [p, brokers] : s.assignments) {
      auto& a = t.assignments.emplace_back();
      a.partition_index = p;
      a.broker_ids = brokers;
    }
    for (auto& [k, v] : s.configs) {
      auto& c = t.configs.emplace_back();
      c.name = k;
      c.value = v;
    }
  }
  req.timeout_ms = kForwardTimeoutMs;
  req.validate_only = validate_only;
  return encode(req, kForwardCreateTopicsVersion);
}

std::vector<cluster::OpResult> decode_create_topics(std::span<const uint8_t> body,
                                                    const std::vector<cluster::TopicSpec>& specs) {
  std::vector<cluster::OpResult> out(specs.size(), kUnparsable);
  auto resp = decode<protocol::CreateTopicsResponse>(body, kForwardCreateTopicsVersion);
  if (!resp) return out;
  for (size_t i = 0; i < specs.size(); ++i) {
    for (auto& t : resp->topics) {
      if (t.name != specs[i].name) continue;
      out[i] = result_of(t.error_code, t.error_message);
      out[i].topic_id = t.topic_id;
      break;
    }
  }
  return out;
}

protocol::Bytes encode_delete_topic(const std::string& name, const protocol::Uuid& id) {
  protocol::DeleteTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.topic_id = id;
  req.timeout_ms = kForwardTimeoutMs;
  return encode(req, kForwardDeleteTopicsVersion);
}

cluster::OpResult decode_delete_topic(std::span<const uint8_t> body) {
  auto resp = decode<protocol::DeleteTopicsResponse>(body, kForwardDeleteTopicsVersion);
  if (!resp || resp->responses.size() != 1) return kUnparsable;
  auto& t = resp->responses.front();
  auto out = result_of(t.error_code, t.error_message);
  out.topic_id = t.topic_id;
  return out;
}

protocol::Bytes encode_create_partitions(const std::string& name, int32_t total,
                                         const std::vector<std::vector<int32_t>>& assignments, bool validate_only) {
  protocol::CreatePartitionsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.count = total;
  if (!assignments.empty()) {
    auto& list = t.assignments.emplace();
    for (auto& a : assignments) list.emplace_back().broker_ids = a;
  } else {
    t.assignments = std::nullopt;
  }
  req.timeout_ms = kForwardTimeoutMs;
  req.validate_only = validate_only;
  return encode(req, kForwardCreatePartitionsVersion);
}

cluster::OpResult decode_create_partitions(std::span<const uint8_t> body) {
  auto resp = decode<protocol::CreatePartitionsResponse>(body, kForwardCreatePartitionsVersion);
  if (!resp || resp->results.size() != 1) return kUnparsable;
  return result_of(resp->results.front().error_code, resp->results.front().error_message);
}

protocol::Bytes encode_alter_configs(int8_t resource_type, const std::string& resource_name,
                                     const ConfigChanges& changes, bool validate_only) {
  protocol::IncrementalAlterConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = resource_type;
  res.resource_name = resource_name;
  for (auto& [k, v] : changes) {
    auto& c = res.configs.emplace_back();
    c.name = k;
    c.config_operation = v ? kSet : kDelete;
    c.value = v;
  }
  req.validate_only = validate_only;
  return encode(req, kForwardIncrementalAlterConfigsVersion);
}

cluster::OpResult decode_alter_configs(std::span<const uint8_t> body) {
  auto resp = decode<protocol::IncrementalAlterConfigsResponse>(body, kForwardIncrementalAlterConfigsVersion);
  if (!resp || resp->responses.size() != 1) return kUnparsable;
  return result_of(resp->responses.front().error_code, resp->responses.front().error_message);
}

protocol::Bytes encode_allocate_producer_ids(int32_t broker_id, int64_t broker_epoch) {
  protocol::AllocateProducerIdsRequest req;
  req.broker_id = broker_id;
  req.broker_epoch = broker_epoch;
  return encode(req, kAllocateProducerIdsVersion);
}

ProducerIdBlock decode_allocate_producer_ids(std::span<const uint8_t> body) {
  auto resp = decode<protocol::AllocateProducerIdsResponse>(body, kAllocateProducerIdsVersion);
  if (!resp) return ProducerIdBlock{ErrorCode::UNKNOWN_SERVER_ERROR, -1, 0};
  ProducerIdBlock b{static_cast<ErrorCode>(resp->error_code), resp->producer_id_start, resp->producer_id_len};
  if (b.error == ErrorCode::NONE && (b.first < 0 || b.length <= 0)) b.error = ErrorCode::UNKNOWN_SERVER_ERROR;
  return b;
}

protocol::Bytes encode_alter_partition(const cluster::AlterPartitionRequest& req) {
  protocol::AlterPartitionRequest m;
  m.broker_id = req.broker.value;
  m.broker_epoch = req.broker_epoch;
  for (auto& t : req.topics) {
    auto& mt = m.topics.emplace_back();
    mt.topic_name = t.name;
    mt.topic_id = t.id;
    for (auto& p : t.partitions) {
      auto& mp = mt.partitions.emplace_back();
      mp.partition_index = p.partition;
      mp.leader_epoch = p.leader_epoch;
      for (auto& member : p.new_isr) {
        if (req.version >= 3) mp.new_isr_with_epochs.push_back({member.broker, member.broker_epoch, {}});
        else mp.new_isr.push_back(member.broker);
      }
      mp.leader_recovery_state = p.leader_recovery_state;
      mp.partition_epoch = p.partition_epoch;
    }
  }
  return encode(m, req.version);
}

cluster::AlterPartitionResponse decode_alter_partition(std::span<const uint8_t> body, int16_t version) {
  cluster::AlterPartitionResponse out;
  auto resp = decode<protocol::AlterPartitionResponse>(body, version);
  if (!resp) {
    out.error = ErrorCode::UNKNOWN_SERVER_ERROR;
    out.message = kUnparsable.message;
    return out;
  }
  out.error = static_cast<ErrorCode>(resp->error_code);
  for (auto& t : resp->topics) {
    auto& ot = out.topics.emplace_back();
    ot.name = t.topic_name;
    ot.id = t.topic_id;
    for (auto& p : t.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition = p.partition_index;
      op.error = static_cast<ErrorCode>(p.error_code);
      op.leader = p.leader_id;
      op.leader_epoch = p.leader_epoch;
      op.isr = p.isr;
      op.leader_recovery_state = p.leader_recovery_state;
      op.partition_epoch = p.partition_epoch;
    }
  }
  return out;
}

protocol::Bytes encode_create_acls(const std::vector<cluster::AclBinding>& bindings) {
  protocol::CreateAclsRequest req;
  for (auto& b : bindings) {
    auto& c = req.creations.emplace_back();
    c.resource_type = static_cast<int8_t>(b.resource_type);
    c.resource_name = b.resource_name;
    c.resource_pattern_type = static_cast<int8_t>(b.pattern_type);
    c.principal = b.principal;
    c.host = b.host;
    c.operation = static_cast<int8_t>(b.operation);
    c.permission_type = static_cast<int8_t>(b.permission);
  }
  return encode(req, kForwardCreateAclsVersion);
}

std::vector<cluster::OpResult> decode_create_acls(std::span<const uint8_t> body, size_t count) {
  std::vector<cluster::OpResult> out(count, kUnparsable);
  auto resp = decode<protocol::CreateAclsResponse>(body, kForwardCreateAclsVersion);
  if (!resp) return out;
  for (size_t i = 0; i < count && i < resp->results.size(); ++i)
    out[i] = result_of(resp->results[i].error_code, resp->results[i].error_message);
  return out;
}

protocol::Bytes encode_delete_acls(const std::vector<cluster::AclFilter>& filters) {
  protocol::DeleteAclsRequest req;
  for (auto& f : filters) {
    auto& d = req.filters.emplace_back();
    d.resource_type_filter = static_cast<int8_t>(f.resource_type);
    d.resource_name_filter = f.resource_name;
    d.pattern_type_filter = static_cast<int8_t>(f.pattern_type);
    d.principal_filter = f.principal;
    d.host_filter = f.host;
    d.operation = static_cast<int8_t>(f.operation);
    d.permission_type = static_cast<int8_t>(f.permission);
  }
  return encode(req, kForwardDeleteAclsVersion);
}

std::vector<cluster::AclDeleteResult> decode_delete_acls(std::span<const uint8_t> body, size_t count) {
  std::vector<cluster::AclDeleteResult> out(count, {to_int(kUnparsable.error), kUnparsable.message, {}});
  auto resp = decode<protocol::DeleteAclsResponse>(body, kForwardDeleteAclsVersion);
  if (!resp) return out;
  for (size_t i = 0; i < count && i < resp->filter_results.size(); ++i) {
    auto& r = resp->filter_results[i];
    out[i] = {r.error_code, r.error_message.value_or(""), {}};
    for (auto& m : r.matching_acls) out[i].removed.push_back(cluster::read_binding(m));
  }
  return out;
}

bool shows_acls_created(const cluster::MetadataImage& image, const std::vector<cluster::AclBinding>& bindings,
                        const std::vector<cluster::OpResult>& results) {
  for (size_t i = 0; i < bindings.size() && i < results.size(); ++i)
    if (results[i].error == ErrorCode::NONE && !image.acl_index().contains(bindings[i])) return false;
  return true;
}

bool shows_acls_deleted(const cluster::MetadataImage& image, const std::vector<cluster::AclDeleteResult>& results) {
  for (auto& r : results)
    for (auto& b : r.removed)
      if (image.acl_index().contains(b)) return false;
  return true;
}

bool shows_created(const cluster::MetadataImage& image, const std::string& name, const protocol::Uuid& id) {
  auto* t = image.find_topic(name);
  return t && (id == protocol::Uuid{} || t->id == id);
}

bool shows_deleted(const cluster::MetadataImage& image, const protocol::Uuid& id) { return !image.find_topic(id); }

bool shows_partitions(const cluster::MetadataImage& image, const std::string& name, int32_t total) {
  auto* t = image.find_topic(name);
  return t && static_cast<int64_t>(t->partitions.size()) >= total;
}

bool shows_configs(const cluster::MetadataImage& image, int8_t resource_type, const std::string& resource_name,
                   const ConfigChanges& changes) {
  const std::map<std::string, std::string>* current = nullptr;
  static const std::map<std::string, std::string> kNone;
  if (resource_type == cluster::kTopicResource) {
    auto* t = image.find_topic(resource_name);
    if (!t) return true;  // deleted meanwhile: nothing more to wait for
    current = &t->configs;
  } else {
    auto it = image.broker_configs.find(resource_name);
    current = it == image.broker_configs.end() ? &kNone : &it->second;
  }
  for (auto& [k, v] : changes) {
    auto it = current->find(k);
    if (v ? (it == current->end() || it->second != *v) : it != current->end()) return false;
  }
  return true;
}

}  // namespace samsa::server
