#include "server/txn_verification.h"

#include <map>

#include "coordinator/placement.h"
#include "coordinator/txn_state.h"
#include "protocol/messages/add_partitions_to_txn.h"
#include "server/broker.h"
#include "server/coordinator_io.h"
#include "server/coordinator_shard.h"
#include "server/kafka_bridge.h"

namespace samsa::server {

namespace {

constexpr int16_t kVerifyVersion = 4;  // verify_only, transactions v1
constexpr int16_t kAddVersion = 5;     // the transactions v2 caller adds
constexpr auto kCoordinatorTimeout = std::chrono::milliseconds(5000);

using coordinator::kTransactionStateTopic;

// The coordinator's answer on this broker.
asio::awaitable<std::vector<ErrorCode>> ask_local(Broker& broker, TopicPartition state_tp, std::string id, int64_t pid,
                                                  int16_t epoch, std::vector<coordinator::TxnPartition> parts,
                                                  TxnJoin how) {
  const int shard = broker.owner_of(state_tp);
  if (how == TxnJoin::verify) {
    auto op = on_coordinator(broker, shard, [state_tp, id, pid, epoch, parts](CoordinatorShard& c) {
      return c.txns.verify_partitions(state_tp, id, pid, epoch, parts);
    });
    coordinator::VerifyDecision d = co_await std::move(op);
    if (d.error != ErrorCode::NONE) co_return std::vector<ErrorCode>(parts.size(), d.error);
    co_return d.per_partition;
  }
  auto op = on_coordinator(broker, shard, [state_tp, id, pid, epoch, parts](CoordinatorShard& c) {
    return c.txns.add_partitions(state_tp, id, pid, epoch, parts, /*client_version=*/2);
  });
  ErrorCode err = co_await std::move(op);
  co_return std::vector<ErrorCode>(parts.size(), err);
}

// The coordinator's answer from broker `node` (AddPartitionsToTxn v4/v5, as this broker).
asio::awaitable<std::vector<ErrorCode>> ask_remote(Broker& broker, Shard& here, int32_t node, std::string id,
                                                   int64_t pid, int16_t epoch, const std::vector<TopicPartition>& parts,
                                                   TxnJoin how) {
  protocol::AddPartitionsToTxnRequest req;
  auto& tx = req.transactions.emplace_back();
  tx.transactional_id = id;
  tx.producer_id = pid;
  tx.producer_epoch = epoch;
  tx.verify_only = how == TxnJoin::verify;
  std::map<std::string, size_t> topic_at;
  for (const auto& tp : parts) {
    auto [it, fresh] = topic_at.emplace(tp.topic, tx.topics.size());
    if (fresh) tx.topics.emplace_back().name = tp.topic;
    tx.topics[it->second].partitions.push_back(tp.partition);
  }
  const int16_t version = how == TxnJoin::verify ? kVerifyVersion : kAddVersion;
  protocol::Writer w;
  req.encode(w, version);
  auto op = broker.call_broker(here, NodeId(node), protocol::AddPartitionsToTxnRequest::api_key, version,
                               std::move(w.buffer()), kCoordinatorTimeout);
  auto body = co_await std::move(op);
  auto resp = decode_answer<protocol::AddPartitionsToTxnResponse>(body, version);
  if (!resp) co_return std::vector<ErrorCode>(parts.size(), ErrorCode::NETWORK_EXCEPTION);
  if (resp->error_code != 0) {
    // Kafka's rule: a coordinator that refuses this broker's cluster action is INVALID_TXN_STATE.
    const auto top = static_cast<ErrorCode>(resp->error_code);
    co_return std::vector<ErrorCode>(
        parts.size(), top == ErrorCode::CLUSTER_AUTHORIZATION_FAILED ? ErrorCode::INVALID_TXN_STATE : top);
  }
  std::map<TopicPartition, ErrorCode> said;
  for (const auto& r : resp->results_by_transaction) {
    if (r.transactional_id != id) continue;
    for (const auto& t : r.topic_results)
      for (const auto& p : t.results) said[TopicPartition{t.name, p.partition_index}] = static_cast<ErrorCode>(p.error_code);
  }
  std::vector<ErrorCode> out;
  for (const auto& tp : parts) {
    auto it = said.find(tp);
    out.push_back(it == said.end() ? ErrorCode::UNKNOWN_SERVER_ERROR : it->second);
  }
  co_return out;
}

}  // namespace

asio::awaitable<std::vector<ErrorCode>> check_txn_partitions(Broker& broker, Shard& here, std::string transactional_id,
                                                             int64_t producer_id, int16_t producer_epoch,
                                                             std::vector<TopicPartition> parts, TxnJoin how) {
  cluster::ImagePtr image = here.image;
  const cluster::TopicInfo* topic = image ? image->find_topic(kTransactionStateTopic) : nullptr;
  if (!topic || topic->partitions.empty() || transactional_id.empty())
    co_return std::vector<ErrorCode>(parts.size(), transactional_id.empty() ? ErrorCode::INVALID_REQUEST
                                                                            : ErrorCode::COORDINATOR_NOT_AVAILABLE);
  const int32_t n = static_cast<int32_t>(topic->partitions.size());
  TopicPartition state_tp{kTransactionStateTopic, coordinator::offsets_partition_for(transactional_id, n)};
  const int32_t leader = topic->partitions[state_tp.partition].leader;
  if (leader < 0) co_return std::vector<ErrorCode>(parts.size(), ErrorCode::COORDINATOR_NOT_AVAILABLE);
  if (leader == broker.node_id()) {
    std::vector<coordinator::TxnPartition> txn_parts;
    for (const auto& tp : parts) txn_parts.emplace_back(tp.topic, tp.partition);
    auto op = ask_local(broker, state_tp, transactional_id, producer_id, producer_epoch, std::move(txn_parts), how);
    co_return co_await std::move(op);
  }
  auto op = ask_remote(broker, here, leader, transactional_id, producer_id, producer_epoch, parts, how);
  co_return co_await std::move(op);
}

bool txn_verification_enabled(const Broker& broker, const cluster::MetadataImage& image) {
  if (const std::string* v = image.dynamic_broker_config(broker.node_id(), "transaction.partition.verification.enable"))
    return *v == "true";
  const auto& cfg = broker.settings().config;
  return !cfg || cfg->transaction_partition_verification_enable();
}

ErrorCode txn_check_error_for_client(ErrorCode e, bool abortable_known, ErrorCode retry_as) {
  switch (e) {
    case ErrorCode::PRODUCER_FENCED:
      return ErrorCode::INVALID_PRODUCER_EPOCH;
    case ErrorCode::TRANSACTION_ABORTABLE:
      return abortable_known ? e : ErrorCode::INVALID_TXN_STATE;
    case ErrorCode::CONCURRENT_TRANSACTIONS:
    case ErrorCode::NETWORK_EXCEPTION:
    case ErrorCode::COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode::COORDINATOR_NOT_AVAILABLE:
    case ErrorCode::NOT_COORDINATOR:
      return retry_as;
    default:
      return e;
  }
}

}  // namespace samsa::server
