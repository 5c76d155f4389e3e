#include "server/handlers.h"

#include <algorithm>
#include <chrono>
#include <string_view>

#include "cluster/features.h"
#include "cluster/metadata_image.h"
#include "protocol/api_listeners.h"
#include "protocol/api_registry.h"
#include "protocol/messages/api_versions.h"
#include "server/broker.h"
#include "server/controller_handlers.h"
#include "server/election_handlers.h"
#include "server/raft_voter_handlers.h"
#include "server/reassign_handlers.h"

namespace samsa::server {

namespace {
constexpr HandlerEntry kHandlers[] = {
    {0, handle_produce},
    {1, handle_fetch},
    {2, handle_list_offsets},
    {3, handle_metadata},
    {8, handle_offset_commit},
    {9, handle_offset_fetch},
    {10, handle_find_coordinator},
    {11, handle_join_group},
    {12, handle_heartbeat},
    {13, handle_leave_group},
    {14, handle_sync_group},
    {15, handle_describe_groups},
    {16, handle_list_groups},
    {17, handle_sasl_handshake},
    {18, handle_api_versions},
    {19, handle_create_topics},
    {20, handle_delete_topics},
    {21, handle_delete_records},
    {22, handle_init_producer_id},
    {23, handle_offset_for_leader_epoch},
    {24, handle_add_partitions_to_txn},
    {25, handle_add_offsets_to_txn},
    {26, handle_end_txn},
    {27, handle_write_txn_markers},
    {28, handle_txn_offset_commit},
    {29, handle_describe_acls},
    {30, handle_create_acls},
    {31, handle_delete_acls},
    {32, handle_describe_configs},
    {33, handle_alter_configs},
    {34, handle_alter_replica_log_dirs},
    {35, handle_describe_log_dirs},
    {36, handle_sasl_authenticate},
    {37, handle_create_partitions},
    {42, handle_delete_groups},
    {43, handle_elect_leaders},  // election_handlers.cc
    {44, handle_incremental_alter_configs},
    {45, handle_alter_partition_reassignments},  // reassign_handlers.cc
    {46, handle_list_partition_reassignments},
    {47, handle_offset_delete},
    {48, handle_describe_client_quotas},
    {49, handle_alter_client_quotas},
    {50, handle_describe_user_scram_credentials},  // scram_handlers.cc
    {51, handle_alter_user_scram_credentials},
    {55, handle_describe_quorum},
    {57, handle_update_features},  // feature_handlers.cc
    {60, handle_describe_cluster},
    {61, handle_describe_producers},
    {64, handle_unregister_broker},
    {65, handle_describe_transactions},
    {66, handle_list_transactions},
    {68, handle_consumer_group_heartbeat},  // KIP-848 (group_handlers.cc)
    {69, handle_consumer_group_describe},
    {71, handle_get_telemetry_subscriptions},
    {72, handle_push_telemetry},
    {75, handle_describe_topic_partitions},  // KIP-966 (describe_topic_partitions_handler.cc)
    {80, handle_add_raft_voter, 0},  // KIP-853, passed on to the active controller (raft_voter_handlers.cc)
    {81, handle_remove_raft_voter},
};

// KIP-511: client_software_name and client_software_version (ApiVersions v3+)
// must match [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? — so not empty.
bool valid_software_field(std::string_view s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

// The features this broker supports and the cluster's finalized levels (KIP-584), from the
// metadata image. transaction.version 2 is what makes Kafka 4 clients use transactions v2
// (EndTxn v5, Produce v12, TxnOffsetCommit v5). Before v4 a supported feature whose minimum
// is 0 is left out (KAFKA-17492: older clients cannot read it); a level 0 is not finalized.
void add_features(protocol::ApiVersionsResponse& resp, const cluster::MetadataImage* image, int16_t version) {
  for (const auto& f : cluster::kSupportedFeatures) {
    if (version < 4 && f.min == 0) continue;
    auto& k = resp.supported_features.emplace_back();
    k.name = f.name;
    k.min_version = f.min;
    k.max_version = f.max;
  }
  if (!image) return;
  for (const auto& [name, level] : image->features) {
    if (level == 0) continue;
    auto& k = resp.finalized_features.emplace_back();
    k.name = name;
    k.min_version_level = level;
    k.max_version_level = level;
  }
  resp.finalized_features_epoch = image->last_offset;
}

protocol::ApiVersionsResponse supported_versions() {
  std::vector<protocol::ServedApi> served;
  for (auto& h : kHandlers) served.push_back({h.api_key, h.max_version});
  return protocol::api_versions_for(protocol::ApiListener::broker, served);
}
}  // namespace

std::span<const HandlerEntry> handlers() { return kHandlers; }

const HandlerEntry* find_handler(int16_t api_key) {
  for (auto& h : kHandlers)
    if (h.api_key == api_key) return &h;
  return nullptr;
}

asio::awaitable<net::Response> handle_api_versions(RequestContext& ctx, protocol::Reader& r) {
  protocol::ApiVersionsRequest req;
  req.decode(r, ctx.api_version);
  if (ctx.api_version >= 3 &&
      (!valid_software_field(req.client_software_name) || !valid_software_field(req.client_software_version))) {
    // As Kafka: INVALID_REQUEST with no api keys and every other field at its default.
    protocol::ApiVersionsResponse invalid;
    invalid.error_code = to_int(ErrorCode::INVALID_REQUEST);
    co_return make_response(ctx, invalid);
  }
  auto resp = supported_versions();
  if (ctx.api_version >= 3) add_features(resp, ctx.shard ? ctx.shard->image.get() : nullptr, ctx.api_version);
  co_return make_response(ctx, resp);
}

net::Response unsupported_api_versions(const RequestContext& ctx) {
  auto resp = supported_versions();
  resp.error_code = to_int(ErrorCode::UNSUPPORTED_VERSION);
  RequestContext v0 = ctx;
  v0.api_version = 0;
  v0.flexible = false;
  return make_response(v0, resp);
}

}  // namespace samsa::server
