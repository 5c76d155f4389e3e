// Transaction markers for partitions led by other brokers (Kafka's
// TransactionMarkerChannelManager): the coordinator's shard sends them as
// WriteTxnMarkers to each leader's inter-broker listener and records every
// partition's outcome. A failed send leaves the items with an error, so the
// transaction stays in Prepare* and the coordinator's upkeep sends it again.
//
// Threads: one TxnMarkerSender per shard, used only on that shard's thread
// (its clients live on the shard's executor).
#pragma once
#include <asio.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/types.h"
#include "cluster/metadata_image.h"
#include "net/transport.h"
#include "replication/partition_writer.h"
#include "server/replica_fetcher_logic.h"

namespace samsa {
class Clock;
}
namespace samsa::net {
class KafkaClient;
}

namespace samsa::server {

struct TxnMarkerSenderConfig {
  NodeId node_id{-1};
  std::string listener;                        // inter.broker.listener.name
  std::vector<std::string> controller_listeners;
  std::shared_ptr<const net::ClientSecurity> security;  // the inter-broker listener's TLS/SASL; null for PLAINTEXT
  int64_t request_timeout_ms = 30000;          // Kafka's request.timeout.ms for the marker channel
};

class TxnMarkerSender {
 public:
  TxnMarkerSender(asio::any_io_executor ex, Clock& clock, TxnMarkerSenderConfig config, uint64_t seed);
  ~TxnMarkerSender();

  // Writes the markers of `items` (all led by `leader` in `image`) there.
  asio::awaitable<void> send(const cluster::MetadataImage& image, NodeId leader,
                             std::vector<replication::MarkerWrite*> items, replication::MarkerSpec spec);
  void close();

 private:
  std::shared_ptr<net::KafkaClient> client_for(NodeId broker, const BrokerAddress& address);

  asio::any_io_executor ex_;
  Clock& clock_;
  TxnMarkerSenderConfig config_;
  net::TcpTransport transport_;
  Random rng_;
  struct Peer {
    BrokerAddress address;
    std::shared_ptr<net::KafkaClient> client;
  };
  std::map<int32_t, Peer> peers_;
};

}  // namespace samsa::server
