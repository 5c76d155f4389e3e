#include "server/txn_marker_sender.h"

#include <spdlog/spdlog.h>

#include "net/kafka_client.h"
#include "server/peer_clients.h"
#include "protocol/messages/write_txn_markers.h"

namespace samsa::server {

namespace {

constexpr int16_t kWriteTxnMarkersVersion = 1;

// What a failed exchange leaves on the items: retriable errors, so the
// transaction stays prepared and is sent again.
ErrorCode error_of(net::ClientError e) {
  return e == net::ClientError::kTimeout ? ErrorCode::REQUEST_TIMED_OUT : ErrorCode::NETWORK_EXCEPTION;
}

}  // namespace

asio::awaitable<void> TxnMarkerSender::send(const cluster::MetadataImage& image, NodeId leader,
                                            std::vector<replication::MarkerWrite*> items,
                                            replication::MarkerSpec spec) {
  BrokerAddress address;
  auto client = peers_.client_for(image, leader, &address);
  if (!client) {
    for (auto* w : items) w->error = ErrorCode::NOT_LEADER_OR_FOLLOWER;  // the next image will say more
    co_return;
  }
  protocol::WriteTxnMarkersRequest req;
  auto& m = req.markers.emplace_back();
  m.producer_id = spec.producer_id;
  m.producer_epoch = spec.producer_epoch;
  m.transaction_result = spec.commit;
  m.coordinator_epoch = spec.coordinator_epoch;
  for (auto* w : items) {
    if (m.topics.empty() || m.topics.back().name != w->tp.topic) m.topics.emplace_back().name = w->tp.topic;
    m.topics.back().partition_indexes.push_back(w->tp.partition);
  }
  protocol::WriteTxnMarkersResponse resp;
  auto op = client->call(protocol::WriteTxnMarkersRequest::api_key, kWriteTxnMarkersVersion, req, resp,
                         std::chrono::milliseconds(request_timeout_ms_));
  const net::ClientError sent = co_await std::move(op);
  if (sent != net::ClientError::kNone) {
    spdlog::warn("transaction markers for producer {} to broker {} at {}:{} failed: {}; retried later",
                 spec.producer_id, leader.value, address.host, address.port, net::to_string(sent));
    for (auto* w : items) w->error = error_of(sent);
    co_return;
  }
  // Each partition's answer; one the leader left out is an error (retried).
  for (auto* w : items) {
    w->error = ErrorCode::UNKNOWN_SERVER_ERROR;
    for (auto& mr : resp.markers) {
      if (mr.producer_id != spec.producer_id) continue;
      for (auto& t : mr.topics) {
        if (t.name != w->tp.topic) continue;
        for (auto& p : t.partitions)
          if (p.partition_index == w->tp.partition) w->error = static_cast<ErrorCode>(p.error_code);
      }
    }
    // A partition deleted since the transaction began needs no marker (as
    // the coordinator treats it locally).
    if (spec.skip_missing && w->error == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) w->error = ErrorCode::NONE;
    if (w->error != ErrorCode::NONE)
      spdlog::info("transaction marker for producer {} in {} at broker {}: {}", spec.producer_id, w->tp.to_string(),
                   leader.value, error_name(w->error));
  }
}

}  // namespace samsa::server
