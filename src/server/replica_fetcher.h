// The follower side of partition replication on one shard: a ReplicaFetcher
// pulls, from one source broker (the leader), every partition of this shard
// that follows it, with Fetch v12 requests naming this node as the replica
// (Kafka's ReplicaFetcherThread: one per source broker and shard, full fetches
// without fetch sessions). Per partition it keeps Kafka's fetch state — the
// fetch offset (the local log end), the last fetched epoch (the latest epoch
// of the local leader-epoch cache), the leader epoch it believes current —
// and on each response appends the leader's batches (Partition::
// append_as_follower) and takes its high watermark, truncates where the
// leader says the logs diverged, restarts or truncates on OFFSET_OUT_OF_RANGE,
// and backs off on errors (decisions in replica_fetcher_logic.h).
//
// The ReplicaFetcherManager of a shard keeps one fetcher per leader and, after
// every metadata image, reconciles them with the image (reconcile()).
//
// Threads: a manager, its fetchers, their clients and the partitions they
// touch all belong to one shard and run on its io_context; every method is
// called there. A partition is looked up by name after every wait and used
// only if it is still the same topic id, still a follower, and still fetched
// at the offset and epoch the answered request carried.
#pragma once
#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/random.h"
#include "base/types.h"
#include "cluster/metadata_image.h"
#include "net/kafka_client.h"
#include "net/transport.h"
#include "replication/partition.h"
#include "replication/replica_manager.h"
#include "server/replica_fetcher_logic.h"

namespace samsa::protocol {
struct FetchResponse;
}

namespace samsa::server {

class ReplicationQuota;

// Kafka's replica.fetch.* settings (defaults as Kafka's).
struct ReplicaFetcherConfig {
  NodeId node_id{-1};
  int32_t max_wait_ms = 500;                 // replica.fetch.wait.max.ms
  int32_t min_bytes = 1;                     // replica.fetch.min.bytes
  int32_t response_max_bytes = 10 << 20;     // replica.fetch.response.max.bytes
  int32_t partition_max_bytes = 1 << 20;     // replica.fetch.max.bytes
  int64_t backoff_ms = 1000;                 // replica.fetch.backoff.ms
  int64_t request_timeout_ms = 30000;        // replica.socket.timeout.ms
  std::string listener = "PLAINTEXT";        // the inter-broker listener name
  std::vector<std::string> controller_listeners;
  std::shared_ptr<const net::ClientSecurity> security;  // the listener's TLS/SASL; null for PLAINTEXT
};

// What the fetchers of a shard need from outside: the partitions (by name)
// and what to do after a truncation (write the checkpoints). Both on the shard.
struct ReplicaFetcherHooks {
  std::function<replication::Partition*(const TopicPartition&)> find;
  std::function<void()> truncated;
  // Replication throttles (replication_quota.h): this broker's follower rate,
  // and whether a partition is a throttled replica out of the ISR here. While
  // the rate is above its bound such a partition is left out of the fetches.
  ReplicationQuota* quota = nullptr;
  std::function<bool(const TopicPartition&)> throttled;
};

// A connection to the brokers and the randomness of its backoffs, shared by a
// manager and its fetchers (a client may outlive the fetcher that closed it).
struct ReplicaFetcherNet {
  ReplicaFetcherNet(asio::any_io_executor ex, uint64_t seed, std::shared_ptr<const net::ClientSecurity> security = nullptr)
      : transport(ex, 10000, std::move(security)), rng(seed) {}
  net::TcpTransport transport;
  Random rng;
};

// Kafka's PartitionFetchState.
struct PartitionFetchState {
  protocol::Uuid topic_id{};
  Epoch leader_epoch{-1};        // current_leader_epoch of our requests
  Offset fetch_offset{0};        // the local log end
  Epoch last_fetched_epoch{-1};  // -1: no divergence check
  int64_t delayed_until_ms = 0;  // monotonic; after an error
  bool fenced = false;           // FENCED_LEADER_EPOCH: until the image names a newer epoch
};

class ReplicaFetcher : public std::enable_shared_from_this<ReplicaFetcher> {
 public:
  ReplicaFetcher(asio::any_io_executor ex, NodeId source, BrokerAddress address, std::shared_ptr<ReplicaFetcherNet> net,
                 Clock& clock, const ReplicaFetcherConfig& config, ReplicaFetcherHooks hooks);
  ~ReplicaFetcher();

  // Starts the fetch loop (once).
  void start();
  // Fails the request in flight and ends the loop; no partition is touched after.
  void stop();

  NodeId source() const { return source_; }
  const BrokerAddress& address() const { return address_; }
  // The leader moved to another address: reconnect there.
  void set_address(const BrokerAddress& address);

  // Fetches `tp` (a follower at `leader_epoch`) from here on. A partition
  // already fetched at the same topic id and epoch keeps its state; otherwise
  // it starts at its log end and latest local epoch (Kafka's initial fetch
  // state; a log without epochs is first truncated to its high watermark).
  void add_or_update(replication::Partition& part, Epoch leader_epoch);
  void remove(const TopicPartition& tp);
  bool contains(const TopicPartition& tp) const { return partitions_.count(tp) != 0; }
  std::vector<TopicPartition> partitions() const;
  bool empty() const { return partitions_.empty(); }
  const PartitionFetchState* state(const TopicPartition& tp) const;

 private:
  asio::awaitable<void> run();
  // Sleeps until `ms` from now (or until woken by add_or_update / stop).
  asio::awaitable<void> sleep(int64_t ms);
  void wake();
  // The partitions due for a fetch now, with what is sent for each.
  std::vector<std::pair<TopicPartition, SentFetch>> due(int64_t now_ms, int64_t* next_due_ms) const;
  // A throttled partition out of the ISR while the follower rate is above its bound.
  bool held_back(const TopicPartition& tp, bool& exceeded_known, bool& exceeded) const;
  bool is_throttled(const TopicPartition& tp) const;
  asio::awaitable<void> fetch_once(const std::vector<std::pair<TopicPartition, SentFetch>>& batch);
  // One partition of the response (see the file comment); true when it truncated.
  bool on_partition(const TopicPartition& tp, const SentFetch& sent, const FetchedPartition& resp,
                    std::span<const uint8_t> records);
  bool on_out_of_range(replication::Partition& part, PartitionFetchState& st, const FetchedPartition& resp);
  void resync(replication::Partition& part, PartitionFetchState& st, bool epoch_check = true);
  void delay(PartitionFetchState& st);
  std::shared_ptr<net::KafkaClient> make_client() const;

  asio::any_io_executor ex_;
  NodeId source_;
  BrokerAddress address_;
  std::shared_ptr<ReplicaFetcherNet> net_;
  Clock& clock_;
  ReplicaFetcherConfig config_;
  ReplicaFetcherHooks hooks_;
  std::shared_ptr<net::KafkaClient> client_;
  asio::steady_timer wake_timer_;
  std::map<TopicPartition, PartitionFetchState> partitions_;
  bool started_ = false;
  bool stopped_ = false;
  bool failing_ = false;  // the last request failed (logged once until one succeeds)
};

// The fetchers of one shard, one per leader (see the file comment).
class ReplicaFetcherManager {
 public:
  ReplicaFetcherManager(asio::any_io_executor ex, Clock& clock, ReplicaFetcherConfig config, ReplicaFetcherHooks hooks,
                        uint64_t seed);
  ~ReplicaFetcherManager();

  // After an image was applied on this shard: every hosted partition whose
  // image role is follower is fetched from its leader (added at its current
  // fetch state, or kept); the others (leader here, deleted, leader moved,
  // leader fenced) are removed; a fetcher left with nothing stops.
  void reconcile(const cluster::MetadataImage& image, const replication::ReplicaManager::PartitionMap& hosted);
  // Shutdown, before the logs close: every fetcher stops.
  void stop();

  size_t fetcher_count() const { return fetchers_.size(); }
  ReplicaFetcher* fetcher(NodeId source);

 private:
  asio::any_io_executor ex_;
  Clock& clock_;
  ReplicaFetcherConfig config_;
  ReplicaFetcherHooks hooks_;
  std::shared_ptr<ReplicaFetcherNet> net_;
  std::map<NodeId, std::shared_ptr<ReplicaFetcher>> fetchers_;
  bool stopped_ = false;
};

}  // namespace samsa::server
