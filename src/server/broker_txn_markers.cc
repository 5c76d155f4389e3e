// Where a transaction marker is written: on the shard that owns the marked
// partition, here when this broker leads it (or nobody is known to: the local
// write then answers the error that makes the coordinator retry), else at its
// leader with WriteTxnMarkers (txn_marker_sender.h). And Broker::call_broker,
// the other use of the shard's connections to its peers (peer_clients.h).
//
// Threads: write_markers_on_shard runs on the shard it names.
#include <map>

#include "coordinator/txn_service.h"
#include "server/broker.h"
#include "net/kafka_client.h"
#include "server/coordinator_shard.h"
#include "server/peer_clients.h"
#include "server/txn_marker_sender.h"

namespace samsa::server {

namespace {

int32_t leader_in(const cluster::MetadataImage& image, const TopicPartition& tp) {
  const cluster::TopicInfo* t = image.find_topic(tp.topic);
  if (!t || tp.partition < 0 || static_cast<size_t>(tp.partition) >= t->partitions.size()) return -1;
  return t->partitions[tp.partition].leader;
}

}  // namespace

asio::awaitable<void> Broker::write_markers_on_shard(int shard, std::vector<replication::MarkerWrite*> items,
                                                     replication::MarkerSpec spec) {
  Shard& s = this->shard(shard);
  cluster::ImagePtr image = s.image;  // kept alive across the sends
  std::vector<replication::MarkerWrite*> here;
  std::map<int32_t, std::vector<replication::MarkerWrite*>> elsewhere;
  const bool can_send = !spec.local_only && image && static_cast<size_t>(shard) < marker_senders_.size();
  for (auto* w : items) {
    const int32_t leader = can_send ? leader_in(*image, w->tp) : -1;
    if (leader >= 0 && leader != settings_.node_id) elsewhere[leader].push_back(w);
    else here.push_back(w);
  }
  auto& local = coordinator_shard(shard);
  if (!here.empty()) {
    auto op = coordinator::write_markers_here(local.writer, local.groups.groups(), clock_, std::move(here), spec);
    co_await std::move(op);
  }
  for (auto& [leader, list] : elsewhere) {
    auto op = marker_senders_[shard]->send(*image, NodeId(leader), std::move(list), spec);
    co_await std::move(op);
  }
}

asio::awaitable<std::optional<protocol::Bytes>> Broker::call_broker(Shard& here, NodeId node, int16_t api_key,
                                                                    int16_t version, protocol::Bytes body,
                                                                    std::chrono::milliseconds timeout) {
  cluster::ImagePtr image = here.image;
  if (!image || static_cast<size_t>(here.id) >= peer_clients_.size()) co_return std::nullopt;
  auto client = peer_clients_[here.id]->client_for(*image, node);
  if (!client) co_return std::nullopt;
  auto op = client->send(api_key, version, body, timeout);
  auto resp = co_await std::move(op);
  if (!resp.ok()) co_return std::nullopt;
  auto b = resp.body();
  co_return protocol::Bytes(b.begin(), b.end());
}

}  // namespace samsa::server
