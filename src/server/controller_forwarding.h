// Requests that change metadata, as a broker that is not the active controller
// sends them on (over cluster::ControllerChannel, to the CONTROLLER listener of
// the active controller): the same Kafka request (CreateTopics, DeleteTopics,
// CreatePartitions, IncrementalAlterConfigs, AllocateProducerIds, CreateAcls,
// DeleteAcls) rebuilt from what the broker's handler validated, and the
// controller's answer turned back into the results the handler encodes. Kafka
// wraps the client's request in an Envelope (58) to carry the principal; Samsa
// sends the request itself (the forwarding broker authorized the client; the
// controller authorizes the forwarding connection).
//
// Pure encoding and decoding: any thread, unit-tested. The Broker decides
// whether to forward and waits for its own image to catch up
// (broker_metadata.cc).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cluster/controller.h"
#include "cluster/metadata_image.h"
#include "protocol/wire.h"

namespace samsa::server {

// The versions a forwarded request is sent in (newest this broker speaks).
inline constexpr int16_t kForwardCreateTopicsVersion = 7;
inline constexpr int16_t kForwardDeleteTopicsVersion = 6;
inline constexpr int16_t kForwardCreatePartitionsVersion = 3;
inline constexpr int16_t kForwardIncrementalAlterConfigsVersion = 1;
inline constexpr int16_t kAllocateProducerIdsVersion = 0;
// AlterPartition is sent at this version unless the request names another
// (v3: ISR members with their broker epochs, topics by id).
inline constexpr int16_t kAlterPartitionVersion = 3;
inline constexpr int16_t kForwardCreateAclsVersion = 3;
inline constexpr int16_t kForwardDeleteAclsVersion = 3;
// The message of a forwarded change that no active controller answered in time (REQUEST_TIMED_OUT).
inline constexpr const char* kNoControllerAnswered = "No active controller answered the forwarded request in time.";
// How long the controller may take (the requests' timeout_ms field, Kafka's
// default request.timeout.ms).
inline constexpr int32_t kForwardTimeoutMs = 30000;

using ConfigChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

protocol::Bytes encode_create_topics(const std::vector<cluster::TopicSpec>& specs, bool validate_only);
// One result per spec, in spec order; a topic the answer lacks (or an answer
// that does not parse) is UNKNOWN_SERVER_ERROR.
std::vector<cluster::OpResult> decode_create_topics(std::span<const uint8_t> body,
                                                    const std::vector<cluster::TopicSpec>& specs);

protocol::Bytes encode_delete_topic(const std::string& name, const protocol::Uuid& id);
cluster::OpResult decode_delete_topic(std::span<const uint8_t> body);

protocol::Bytes encode_create_partitions(const std::string& name, int32_t total,
                                         const std::vector<std::vector<int32_t>>& assignments, bool validate_only);
cluster::OpResult decode_create_partitions(std::span<const uint8_t> body);

// A value sets a key, nullopt deletes it (IncrementalAlterConfigs SET / DELETE).
protocol::Bytes encode_alter_configs(int8_t resource_type, const std::string& resource_name,
                                     const ConfigChanges& changes, bool validate_only);
cluster::OpResult decode_alter_configs(std::span<const uint8_t> body);

protocol::Bytes encode_allocate_producer_ids(int32_t broker_id, int64_t broker_epoch);
struct ProducerIdBlock {
  ErrorCode error = ErrorCode::NONE;
  int64_t first = -1;
  int32_t length = 0;
};
ProducerIdBlock decode_allocate_producer_ids(std::span<const uint8_t> body);

// AlterPartition (56), a partition leader's ISR change, sent to the active
// controller's CONTROLLER listener at `req.version` (0-3): topics by name
// below v2, by id from it; ISR members with their epochs from v3 (ids only
// below). The answer, decoded at the same version: an answer that does not
// parse is UNKNOWN_SERVER_ERROR for the whole request.
protocol::Bytes encode_alter_partition(const cluster::AlterPartitionRequest& req);
cluster::AlterPartitionResponse decode_alter_partition(std::span<const uint8_t> body, int16_t version);

// One result per binding / filter, in request order; an answer that does not
// parse or lacks entries is UNKNOWN_SERVER_ERROR for those it lacks.
protocol::Bytes encode_create_acls(const std::vector<cluster::AclBinding>& bindings);
std::vector<cluster::OpResult> decode_create_acls(std::span<const uint8_t> body, size_t count);
protocol::Bytes encode_delete_acls(const std::vector<cluster::AclFilter>& filters);
std::vector<cluster::AclDeleteResult> decode_delete_acls(std::span<const uint8_t> body, size_t count);

// Whether `image` already shows a change the controller acknowledged: the
// broker answers a forwarded request once its own image does (bounded).
bool shows_created(const cluster::MetadataImage& image, const std::string& name, const protocol::Uuid& id);
bool shows_deleted(const cluster::MetadataImage& image, const protocol::Uuid& id);
bool shows_partitions(const cluster::MetadataImage& image, const std::string& name, int32_t total);
bool shows_configs(const cluster::MetadataImage& image, int8_t resource_type, const std::string& resource_name,
                   const ConfigChanges& changes);
// Every binding created without error is in the image / no binding a filter
// removed is left in it.
bool shows_acls_created(const cluster::MetadataImage& image, const std::vector<cluster::AclBinding>& bindings,
                        const std::vector<cluster::OpResult>& results);
bool shows_acls_deleted(const cluster::MetadataImage& image, const std::vector<cluster::AclDeleteResult>& results);

}  // namespace samsa::server
