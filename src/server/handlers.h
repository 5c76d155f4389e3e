// One handler per API key. Each decodes its request with the generated codec,
// does the work (posting to the shards that own the partitions involved) and
// encodes the response. server/ is the only place that knows about API keys.
#pragma once
#include <asio.hpp>
#include <span>

#include "net/connection.h"
#include "cluster/metadata_image.h"
#include "coordinator/group.h"
#include "protocol/messages/allocate_producer_ids.h"
#include "protocol/wire.h"
#include "replication/fwd.h"
#include "server/request_context.h"
#include "server/settings.h"

namespace samsa::server {

using HandlerFn = asio::awaitable<net::Response> (*)(RequestContext&, protocol::Reader&);

struct HandlerEntry {
  int16_t api_key;
  HandlerFn fn;
  int16_t max_version = -1;  // the highest version the handler serves; -1: the schema's
};

// The APIs this broker serves; ApiVersions advertises exactly these (those in
// the broker listener's scope, up to each handler's max_version).
std::span<const HandlerEntry> handlers();
const HandlerEntry* find_handler(int16_t api_key);
// The handler of an API on a CONTROLLER listener (controller_listener.cc):
// the quorum RPCs, DescribeQuorum, ApiVersions and the controller APIs.
const HandlerEntry* find_controller_handler(int16_t api_key);

asio::awaitable<net::Response> handle_api_versions(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_metadata(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_produce(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_fetch(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_list_offsets(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_offset_for_leader_epoch(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_create_topics(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_delete_topics(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_create_partitions(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_describe_configs(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_alter_configs(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_incremental_alter_configs(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_describe_cluster(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_describe_topic_partitions(RequestContext&, protocol::Reader&);  // KIP-966
// The metadata quorum (quorum_handlers.cc).
asio::awaitable<net::Response> handle_describe_quorum(RequestContext&, protocol::Reader&);
// Client telemetry, KIP-714 (telemetry_handlers.cc).
asio::awaitable<net::Response> handle_get_telemetry_subscriptions(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_push_telemetry(RequestContext&, protocol::Reader&);
// Storage (storage_handlers.cc).
asio::awaitable<net::Response> handle_delete_records(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_describe_log_dirs(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_alter_replica_log_dirs(RequestContext&, protocol::Reader&);
// Consumer groups (group_handlers.cc).
asio::awaitable<net::Response> handle_find_coordinator(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_join_group(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_sync_group(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_heartbeat(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_leave_group(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_offset_commit(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_offset_fetch(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_list_groups(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_describe_groups(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_delete_groups(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_offset_delete(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_consumer_group_heartbeat(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_consumer_group_describe(RequestContext&, protocol::Reader&);
// Transactions (txn_handlers.cc).
asio::awaitable<net::Response> handle_init_producer_id(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_add_partitions_to_txn(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_add_offsets_to_txn(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_end_txn(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_txn_offset_commit(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_write_txn_markers(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_describe_producers(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_describe_transactions(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_list_transactions(RequestContext&, protocol::Reader&);
// ACLs (acl_handlers.cc).
asio::awaitable<net::Response> handle_describe_acls(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_create_acls(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_delete_acls(RequestContext&, protocol::Reader&);
// Client quotas (client_quota_handlers.cc).
asio::awaitable<net::Response> handle_describe_client_quotas(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_alter_client_quotas(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_update_features(RequestContext&, protocol::Reader&);  // feature_handlers.cc
// SCRAM credentials in the metadata log (scram_handlers.cc).
asio::awaitable<net::Response> handle_describe_user_scram_credentials(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_alter_user_scram_credentials(RequestContext&, protocol::Reader&);
using replication::Partition;
coordinator::GroupConfig group_config(const BrokerSettings& s);

// SASL (sasl_handlers.cc). On a SASL listener nothing but ApiVersions,
// SaslHandshake and SaslAuthenticate is served before authentication, and
// nothing but those once a KIP-368 session has expired: sasl_gate answers
// such a request by closing the connection (as Kafka), nullopt lets it pass.
asio::awaitable<net::Response> handle_sasl_handshake(RequestContext&, protocol::Reader&);
asio::awaitable<net::Response> handle_sasl_authenticate(RequestContext&, protocol::Reader&);
std::optional<net::Response> sasl_gate(const RequestContext& ctx);
// One SASL token of the SaslHandshake v0 framing: answered with a bare frame.
net::Response handle_raw_sasl_token(const net::ConnectionInfo& conn, const protocol::FrameBytes& token);

// Where a client on this request's listener reaches broker `b`: this broker's
// advertised address of the listener, another broker's registered endpoint
// (metadata_handler.cc).
void broker_endpoint(const RequestContext& ctx, const cluster::BrokerInfo& b, std::string& host, int32_t& port);

// AllocateProducerIds (67): a CONTROLLER-listener API (producer_ids_handler.cc).
// `serve_*` runs on shard 0 (the controller's thread).
asio::awaitable<protocol::AllocateProducerIdsResponse> serve_allocate_producer_ids(
    Broker& broker, protocol::AllocateProducerIdsRequest req);
asio::awaitable<net::Response> handle_allocate_producer_ids(RequestContext&, protocol::Reader&);

// The ApiVersions answer to a version this broker does not support: error 35 in
// the v0 body layout, listing what is supported, so the client can retry lower.
net::Response unsupported_api_versions(const RequestContext& ctx);
// No answer: the connection closes after this request (malformed input, as Kafka does).
inline net::Response close_connection() {
  net::Response r;
  r.send = false;
  r.close_after = true;
  return r;
}

}  // namespace samsa::server
