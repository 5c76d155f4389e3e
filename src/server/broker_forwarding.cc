// Metadata changes reaching the active controller. On the node that is the
// active controller (always, on one node) they run on its Controller on shard
// 0, as before there were clusters. On any other node they are forwarded over
// the controller channel (controller_forwarding.h: the same Kafka request to
// the controller's CONTROLLER listener) and answered once this node's own
// image shows the change, so a client that reads this broker's Metadata next
// sees it (bounded by kImageWait; Kafka itself answers without waiting).
//
// Threads: every *_at_controller / forwarded step runs on shard 0 (the
// controller, the loader and the channel live there); the public methods may
// be called from any shard and resume the caller through a post.
#include <spdlog/spdlog.h>

#include "protocol/api_registry.h"
#include "raft/metadata_log.h"
#include "quorum/quorum_node.h"
#include "server/broker.h"
#include "server/controller_forwarding.h"
#include "server/image_waiter.h"

namespace samsa::server {

namespace {

// How long an answer waits for this node's image to show a forwarded change.
constexpr std::chrono::milliseconds kImageWait{5000};
const cluster::OpResult kNoController{ErrorCode::REQUEST_TIMED_OUT, kNoControllerAnswered, {}};

}  // namespace

bool Broker::controller_here() const { return quorum_ ? quorum_->log().is_leader() : true; }

asio::awaitable<std::optional<protocol::Bytes>> Broker::call_controller(int16_t api_key, int16_t version,
                                                                        protocol::Bytes body) {
  auto op = channel_->call(api_key, version, body, std::chrono::milliseconds(kForwardTimeoutMs));
  auto resp = co_await std::move(op);
  if (!resp.ok) co_return std::nullopt;
  co_return std::move(resp.body);
}

asio::awaitable<std::vector<cluster::OpResult>> Broker::create_topics_at_controller(std::vector<cluster::TopicSpec> specs,
                                                                                    bool validate_only) {
  if (controller_here()) {
    auto op = controller_->create_topics(specs, validate_only);
    co_return co_await std::move(op);
  }
  std::vector<cluster::OpResult> results;
  ShowsImage shows;
  if (!validate_only)
    shows = [&specs, &results](const cluster::MetadataImage& img) {
      for (size_t i = 0; i < specs.size(); ++i)
        if (results[i].error == ErrorCode::NONE && !shows_created(img, specs[i].name, results[i].topic_id))
          return false;
      return true;
    };
  auto op = forward_batch(
      protocol::api_key::CreateTopics, kForwardCreateTopicsVersion, encode_create_topics(specs, validate_only),
      [&](std::span<const uint8_t> body) { results = decode_create_topics(body, specs); }, std::move(shows));
  if (!co_await std::move(op)) co_return std::vector<cluster::OpResult>(specs.size(), kNoController);
  co_return results;
}

asio::awaitable<bool> Broker::forward_batch(int16_t api_key, int16_t version, protocol::Bytes request,
                                            std::function<void(std::span<const uint8_t>)> decode, ShowsImage shows) {
  auto call = call_controller(api_key, version, std::move(request));
  auto body = co_await std::move(call);
  if (!body) co_return false;
  decode(*body);
  if (shows) {
    auto wait = image_waiter_->wait_for(std::move(shows), kImageWait);
    co_await std::move(wait);
  }
  co_return true;
}

// One forwarded change: forward_batch with one answer; the wait for this
// node's image to show it only when it succeeded (a failure shows at once).
asio::awaitable<cluster::OpResult> Broker::forward(int16_t api_key, int16_t version, protocol::Bytes request,
                                                  cluster::OpResult (*decode)(std::span<const uint8_t>),
                                                  ShowsChange shows) {
  cluster::OpResult res = kNoController;
  ShowsImage image_shows;
  if (shows)
    image_shows = [&shows, &res](const cluster::MetadataImage& img) {
      return res.error != ErrorCode::NONE || shows(img, res);
    };
  auto op = forward_batch(
      api_key, version, std::move(request), [&res, decode](std::span<const uint8_t> body) { res = decode(body); },
      std::move(image_shows));
  if (!co_await std::move(op)) co_return kNoController;
  co_return res;
}

asio::awaitable<cluster::OpResult> Broker::delete_topic(std::string name) {
  return on_controller(delete_topic_at_controller(std::move(name)));
}

asio::awaitable<cluster::OpResult> Broker::delete_topic_at_controller(std::string name) {
  if (controller_here()) {
    auto op = controller_->delete_topic(name);
    co_return co_await std::move(op);
  }
  auto* t = loader_->image()->find_topic(name);
  protocol::Uuid id = t ? t->id : protocol::Uuid{};
  auto op = forward(protocol::api_key::DeleteTopics, kForwardDeleteTopicsVersion, encode_delete_topic(name, id),
                    decode_delete_topic, [id](const cluster::MetadataImage& img, const cluster::OpResult& res) {
                      return shows_deleted(img, res.topic_id == protocol::Uuid{} ? id : res.topic_id);
                    });
  co_return co_await std::move(op);
}

asio::awaitable<cluster::OpResult> Broker::create_partitions(std::string name, int32_t total,
                                                             std::vector<std::vector<int32_t>> assignments,
                                                             bool validate_only) {
  return on_controller(create_partitions_at_controller(std::move(name), total, std::move(assignments), validate_only));
}

asio::awaitable<cluster::OpResult> Broker::create_partitions_at_controller(std::string name, int32_t total,
                                                                           std::vector<std::vector<int32_t>> assignments,
                                                                           bool validate_only) {
  if (controller_here()) {
    auto op = controller_->create_partitions(name, total, assignments, validate_only);
    co_return co_await std::move(op);
  }
  ShowsChange shows;
  if (!validate_only)
    shows = [name, total](const cluster::MetadataImage& img, const cluster::OpResult&) {
      return shows_partitions(img, name, total);
    };
  auto op = forward(protocol::api_key::CreatePartitions, kForwardCreatePartitionsVersion,
                    encode_create_partitions(name, total, assignments, validate_only), decode_create_partitions,
                    std::move(shows));
  co_return co_await std::move(op);
}

asio::awaitable<cluster::OpResult> Broker::alter_configs(int8_t resource_type, std::string resource_name,
                                                         ConfigChanges changes, bool validate_only) {
  return on_controller(alter_configs_at_controller(resource_type, std::move(resource_name), std::move(changes),
                                                   validate_only));
}

asio::awaitable<cluster::OpResult> Broker::alter_configs_at_controller(int8_t resource_type, std::string resource_name,
                                                                       ConfigChanges changes, bool validate_only) {
  if (controller_here()) {
    auto op = controller_->alter_configs(resource_type, resource_name, changes, validate_only);
    co_return co_await std::move(op);
  }
  ShowsChange shows;
  if (!validate_only)
    shows = [resource_type, resource_name, changes](const cluster::MetadataImage& img, const cluster::OpResult&) {
      return shows_configs(img, resource_type, resource_name, changes);
    };
  auto op = forward(protocol::api_key::IncrementalAlterConfigs, kForwardIncrementalAlterConfigsVersion,
                    encode_alter_configs(resource_type, resource_name, changes, validate_only), decode_alter_configs,
                    std::move(shows));
  co_return co_await std::move(op);
}

asio::awaitable<std::vector<cluster::OpResult>> Broker::create_acls(std::vector<cluster::AclBinding> bindings) {
  return on_controller(create_acls_at_controller(std::move(bindings)));
}

asio::awaitable<std::vector<cluster::OpResult>> Broker::create_acls_at_controller(
    std::vector<cluster::AclBinding> bindings) {
  if (controller_here()) {
    auto op = controller_->create_acls(std::move(bindings));
    co_return co_await std::move(op);
  }
  std::vector<cluster::OpResult> results;
  auto op = forward_batch(
      protocol::api_key::CreateAcls, kForwardCreateAclsVersion, encode_create_acls(bindings),
      [&](std::span<const uint8_t> body) { results = decode_create_acls(body, bindings.size()); },
      [&](const cluster::MetadataImage& img) { return shows_acls_created(img, bindings, results); });
  if (!co_await std::move(op)) co_return std::vector<cluster::OpResult>(bindings.size(), kNoController);
  co_return results;
}

asio::awaitable<std::vector<cluster::AclDeleteResult>> Broker::delete_acls(std::vector<cluster::AclFilter> filters) {
  return on_controller(delete_acls_at_controller(std::move(filters)));
}

asio::awaitable<std::vector<cluster::AclDeleteResult>> Broker::delete_acls_at_controller(
    std::vector<cluster::AclFilter> filters) {
  if (controller_here()) {
    auto op = controller_->delete_acls(std::move(filters));
    co_return co_await std::move(op);
  }
  std::vector<cluster::AclDeleteResult> results;
  auto op = forward_batch(
      protocol::api_key::DeleteAcls, kForwardDeleteAclsVersion, encode_delete_acls(filters),
      [&](std::span<const uint8_t> body) { results = decode_delete_acls(body, filters.size()); },
      [&](const cluster::MetadataImage& img) { return shows_acls_deleted(img, results); });
  if (!co_await std::move(op))
    co_return std::vector<cluster::AclDeleteResult>(
        filters.size(), cluster::AclDeleteResult{to_int(kNoController.error), kNoController.message, {}});
  co_return results;
}

// A block of producer ids: from this node's controller, or (AllocateProducerIds)
// from the active one.
asio::awaitable<ProducerIdBlock> Broker::allocate_producer_ids_at_controller(int32_t block_size) {
  if (controller_here()) {
    auto op = controller_->allocate_producer_ids(settings_.node_id, block_size);
    int64_t first = co_await std::move(op);
    co_return ProducerIdBlock{first < 0 ? ErrorCode::UNKNOWN_SERVER_ERROR : ErrorCode::NONE, first, block_size};
  }
  auto call = call_controller(protocol::api_key::AllocateProducerIds, kAllocateProducerIdsVersion,
                              encode_allocate_producer_ids(settings_.node_id, broker_epoch()));
  auto body = co_await std::move(call);
  if (!body) co_return ProducerIdBlock{ErrorCode::REQUEST_TIMED_OUT, -1, 0};
  auto block = decode_allocate_producer_ids(*body);
  if (block.error != ErrorCode::NONE) spdlog::warn("AllocateProducerIds failed: {}", error_name(block.error));
  co_return block;
}

}  // namespace samsa::server
