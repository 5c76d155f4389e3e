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

#include "base/types.h"
#include "cluster/metadata_image.h"
#include "replication/partition_writer.h"

namespace samsa::server {

class PeerClients;

// The markers go over the shard's PeerClients; `request_timeout_ms` is
// Kafka's request.timeout.ms for the marker channel.
class TxnMarkerSender {
 public:
  explicit TxnMarkerSender(PeerClients& peers, int64_t request_timeout_ms = 30000)
      : peers_(peers), request_timeout_ms_(request_timeout_ms) {}

  // Writes the markers of `items` (all led by `leader` in `image`) there.
  asio::awaitable<void> send(const cluster::MetadataImage& image, NodeId leader,
                             std::vector<replication::MarkerWrite*> items, replication::MarkerSpec spec);

 private:
  PeerClients& peers_;
  int64_t request_timeout_ms_;
};

}  // namespace samsa::server
