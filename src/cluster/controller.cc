#include "cluster/controller.h"

#include <random>

#include <spdlog/spdlog.h>

#include "cluster/topic_name.h"

namespace samsa::cluster {

Controller::Controller(ControllerSettings settings, MetadataLog& log, std::function<void(ImagePtr)> publish)
    : settings_(std::move(settings)), log_(log), publish_(std::move(publish)),
      image_(std::make_shared<MetadataImage>()) {}

void Controller::load() {
  auto img = std::make_shared<MetadataImage>();
  size_t n = 0;
  log_.replay([&](int64_t offset, std::span<const uint8_t> value) {
    auto rec = decode_record(value);
    if (!rec) {
      spdlog::warn("metadata log: skipping undecodable record at offset {}", offset);
      return;
    }
    apply_record(*img, *rec);
    img->last_offset = offset;
    ++n;
  });
  img->controller_id = settings_.node_id;
  image_ = img;
  spdlog::info("metadata: replayed {} records, {} topics", n, img->topics.size());
  publish_(image_);
}

Uuid Controller::random_uuid() {
  static std::mt19937_64 rng{std::random_device{}()};
  Uuid u{};
  for (auto& b : u) b = static_cast<uint8_t>(rng());
  u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);  // version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);
  return u;
}

bool Controller::commit(const std::vector<MetadataRecord>& records) {
  std::vector<protocol::Bytes> values;
  values.reserve(records.size());
  for (auto& r : records) values.push_back(encode_record(r));
  auto last = log_.append(values);
  if (!last) return false;
  auto img = std::make_shared<MetadataImage>(*image_);
  for (auto& r : records) apply_record(*img, r);
  img->last_offset = *last;
  image_ = img;
  publish_(image_);
  return true;
}

OpResult Controller::create_topic(const TopicSpec& spec, bool validate_only) {
  if (auto err = topic_name_error(spec.name)) return {ErrorCode::INVALID_TOPIC_EXCEPTION, *err, {}};
  if (image_->find_topic(spec.name))
    return {ErrorCode::TOPIC_ALREADY_EXISTS, "Topic '" + spec.name + "' already exists.", {}};
  for (auto& [name, t] : image_->topics) {
    if (topics_collide(name, spec.name))
      return {ErrorCode::INVALID_TOPIC_EXCEPTION, topic_collision_message(spec.name, name), {}};
  }
  int32_t nparts = spec.num_partitions == -1 ? settings_.default_partitions : spec.num_partitions;
  int16_t rf = spec.replication_factor == -1 ? settings_.default_replication_factor : spec.replication_factor;
  int32_t live = static_cast<int32_t>(std::max<size_t>(image_->brokers.size(), 1));
  std::map<int32_t, std::vector<int32_t>> assignment = spec.assignments;
  if (!assignment.empty()) {
    if (spec.num_partitions != -1 || spec.replication_factor != -1)
      return {ErrorCode::INVALID_REQUEST,
              "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.", {}};
    nparts = static_cast<int32_t>(assignment.size());
    for (int32_t p = 0; p < nparts; ++p) {
      auto it = assignment.find(p);
      if (it == assignment.end() || it->second.empty())
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Partitions must be numbered consecutively from 0.", {}};
      for (auto b : it->second)
        if (!image_->brokers.count(b))
          return {ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Broker " + std::to_string(b) + " is not registered.", {}};
    }
  } else {
    if (nparts <= 0) return {ErrorCode::INVALID_PARTITIONS, "Number of partitions must be larger than 0.", {}};
    if (rf <= 0) return {ErrorCode::INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.", {}};
    if (rf > live)
      return {ErrorCode::INVALID_REPLICATION_FACTOR,
              "Unable to replicate the partition " + std::to_string(rf) + " time(s): The target replication factor of " +
                  std::to_string(rf) + " cannot be reached because only " + std::to_string(live) +
                  " broker(s) are registered.", {}};
    std::vector<int32_t> ids;
    for (auto& [id, b] : image_->brokers) ids.push_back(id);
    if (ids.empty()) ids.push_back(settings_.node_id);
    for (int32_t p = 0; p < nparts; ++p) {
      std::vector<int32_t> replicas;
      for (int32_t r = 0; r < rf; ++r) replicas.push_back(ids[(p + r) % ids.size()]);
      assignment[p] = replicas;
    }
  }
  if (settings_.validate_topic_configs) {
    if (auto err = settings_.validate_topic_configs(spec.configs)) return {err->first, err->second, {}};
  }
  if (validate_only) return {};
  Uuid id = random_uuid();
  std::vector<MetadataRecord> recs;
  recs.push_back(TopicRecord{spec.name, id});
  for (auto& [p, replicas] : assignment)
    recs.push_back(PartitionRecord{id, p, replicas, replicas, replicas.front(), 0});
  for (auto& [k, v] : spec.configs) recs.push_back(ConfigRecord{2, spec.name, k, v});
  if (!commit(recs)) return {ErrorCode::KAFKA_STORAGE_ERROR, "metadata log append failed", {}};
  return {ErrorCode::NONE, {}, id};
}

OpResult Controller::delete_topic(const std::string& name) {
  auto t = image_->find_topic(name);
  if (!t) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.", {}};
  Uuid id = t->id;
  if (!commit({RemoveTopicRecord{id}})) return {ErrorCode::KAFKA_STORAGE_ERROR, "metadata log append failed", {}};
  return {ErrorCode::NONE, {}, id};
}

OpResult Controller::create_partitions(const std::string& name, int32_t total,
                                       const std::vector<std::vector<int32_t>>& assignments, bool validate_only) {
  auto t = image_->find_topic(name);
  if (!t) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "The topic '" + name + "' does not exist.", {}};
  int32_t current = static_cast<int32_t>(t->partitions.size());
  if (total < current)
    return {ErrorCode::INVALID_PARTITIONS,
            "Topic currently has " + std::to_string(current) + " partitions, which is higher than the requested " +
                std::to_string(total) + ".", {}};
  if (total == current)
    return {ErrorCode::INVALID_PARTITIONS, "Topic already has " + std::to_string(current) + " partitions.", {}};
  if (!assignments.empty() && static_cast<int32_t>(assignments.size()) != total - current)
    return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
            "Increasing the number of partitions by " + std::to_string(total - current) + " but " +
                std::to_string(assignments.size()) + " assignments provided.", {}};
  size_t rf = t->partitions.empty() ? 1 : t->partitions[0].replicas.size();
  std::vector<int32_t> ids;
  for (auto& [id, b] : image_->brokers) ids.push_back(id);
  if (ids.empty()) ids.push_back(settings_.node_id);
  std::vector<MetadataRecord> recs;
  for (int32_t p = current; p < total; ++p) {
    std::vector<int32_t> replicas;
    if (!assignments.empty()) {
      replicas = assignments[p - current];
      for (auto b : replicas)
        if (!image_->brokers.count(b))
          return {ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Broker " + std::to_string(b) + " is not registered.", {}};
      if (replicas.empty()) return {ErrorCode::INVALID_REPLICA_ASSIGNMENT, "Empty replica assignment.", {}};
    } else {
      for (size_t r = 0; r < rf; ++r) replicas.push_back(ids[(p + r) % ids.size()]);
    }
    recs.push_back(PartitionRecord{t->id, p, replicas, replicas, replicas.front(), 0});
  }
  if (validate_only) return {};
  if (!commit(recs)) return {ErrorCode::KAFKA_STORAGE_ERROR, "metadata log append failed", {}};
  return {};
}

OpResult Controller::alter_configs(int8_t resource_type, const std::string& resource_name,
                                   const std::vector<std::pair<std::string, std::optional<std::string>>>& changes,
                                   bool validate_only) {
  std::map<std::string, std::string> resulting;
  if (resource_type == 2) {
    auto t = image_->find_topic(resource_name);
    if (!t) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Topic " + resource_name + " does not exist.", {}};
    resulting = t->configs;
  }
  for (auto& [k, v] : changes) {
    if (v) resulting[k] = *v; else resulting.erase(k);
  }
  // The whole resulting set, so rules across keys see the overrides kept.
  if (resource_type == 2 && settings_.validate_topic_configs) {
    if (auto err = settings_.validate_topic_configs(resulting)) return {err->first, err->second, {}};
  }
  if (validate_only || changes.empty()) return {};
  std::vector<MetadataRecord> recs;
  for (auto& [k, v] : changes) recs.push_back(ConfigRecord{resource_type, resource_name, k, v});
  if (!commit(recs)) return {ErrorCode::KAFKA_STORAGE_ERROR, "metadata log append failed", {}};
  return {};
}

OpResult Controller::register_broker(int32_t id, const std::string& host, int32_t port,
                                     std::optional<std::string> rack) {
  auto it = image_->brokers.find(id);
  if (it != image_->brokers.end() && it->second.host == host && it->second.port == port && it->second.rack == rack)
    return {};
  if (!commit({RegisterBrokerRecord{id, host, port, rack}}))
    return {ErrorCode::KAFKA_STORAGE_ERROR, "metadata log append failed", {}};
  return {};
}

OpResult Controller::ensure_cluster_id(const std::string& cluster_id) {
  if (image_->cluster_id == cluster_id) return {};
  if (!commit({ClusterIdRecord{cluster_id}})) return {ErrorCode::KAFKA_STORAGE_ERROR, "metadata log append failed", {}};
  return {};
}

int64_t Controller::allocate_producer_ids(int32_t broker_id, int64_t block_size) {
  int64_t first = image_->next_producer_id;
  if (!commit({ProducerIdsRecord{broker_id, first + block_size}})) return -1;
  return first;
}

}  // namespace samsa::cluster
