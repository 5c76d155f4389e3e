// Producers: InitProducerId (22), AddPartitionsToTxn (24), AddOffsetsToTxn
// (25), EndTxn (26), WriteTxnMarkers (27), TxnOffsetCommit (28), and the operator views
// DescribeProducers (61), DescribeTransactions (65), ListTransactions (66).
//
// A transactional id lives on the shard that owns its __transaction_state
// partition; the handlers decode, run the shard's coordinator::TxnService
// there (state changes, the two-phase commit, markers) and encode its answer.
#include <spdlog/spdlog.h>

#include "coordinator/group_coordinator.h"
#include "coordinator/offset_records.h"
#include "coordinator/placement.h"
#include "coordinator/txn_state.h"
#include "protocol/messages/add_offsets_to_txn.h"
#include "protocol/messages/add_partitions_to_txn.h"
#include "protocol/messages/describe_producers.h"
#include "protocol/messages/describe_transactions.h"
#include "protocol/messages/end_txn.h"
#include "protocol/messages/init_producer_id.h"
#include "protocol/messages/list_transactions.h"
#include "protocol/messages/txn_offset_commit.h"
#include "protocol/messages/write_txn_markers.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/coordinator_io.h"
#include "server/handlers.h"
#include "server/coordinator_shard.h"
#include "server/fan_out.h"
#include "server/txn_verification.h"
#include "replication/partition.h"

namespace samsa::server {

using coordinator::kOffsetsTopic;
using coordinator::kTransactionStateTopic;
using coordinator::TxnMetadata;
using coordinator::TxnState;

namespace {

net::Response bad_request() { return net::Response{{}, false, true}; }

struct TxnPlace {
  ErrorCode error = ErrorCode::NONE;
  Placement where;
};

asio::awaitable<TxnPlace> place_txn(RequestContext& ctx, const std::string& id) {
  TxnPlace out;
  auto ensure = ensure_internal_topic(ctx, kTransactionStateTopic);
  out.error = co_await std::move(ensure);
  if (out.error != ErrorCode::NONE) co_return out;
  out.where = place(ctx, kTransactionStateTopic, id);
  out.error = out.where.error;
  co_return out;
}

}  // namespace

asio::awaitable<net::Response> handle_init_producer_id(RequestContext& ctx, protocol::Reader& r) {
  protocol::InitProducerIdRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::InitProducerIdResponse resp;
  resp.producer_id = -1;
  resp.producer_epoch = -1;
  if (!req.transactional_id || req.transactional_id->empty()) {
    // Idempotent producer: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic (KIP-679).
    if (!authorized_cluster(ctx, AclOperation::IDEMPOTENT_WRITE) &&
        !authorized_any(ctx, AclOperation::WRITE, ResourceType::TOPIC)) {
      resp.error_code = to_int(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
      co_return make_response(ctx, resp);
    }
    // Always a fresh id with epoch 0, as Kafka answers (also to a v3+
    // request naming its current id and epoch).
    auto alloc = ctx.broker->allocate_producer_id();
    int64_t pid = co_await std::move(alloc);
    resp.error_code = to_int(pid < 0 ? ErrorCode::COORDINATOR_NOT_AVAILABLE : ErrorCode::NONE);
    if (pid >= 0) {
      resp.producer_id = pid;
      resp.producer_epoch = 0;
    }
    co_return make_response(ctx, resp);
  }
  if (!authorized_txn(ctx, AclOperation::WRITE, *req.transactional_id)) {
    resp.error_code = to_int(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    co_return make_response(ctx, resp);
  }
  auto placed = place_txn(ctx, *req.transactional_id);
  auto p = co_await std::move(placed);
  coordinator::InitProducerResult result;
  result.error = p.error;
  if (p.error == ErrorCode::NONE) {
    int64_t expected_pid = ctx.api_version >= 3 ? req.producer_id : -1;
    int16_t expected_epoch = ctx.api_version >= 3 ? req.producer_epoch : -1;
    auto op = on_coordinator(*ctx.broker, p.where.shard,
                             [tp = p.where.tp, id = *req.transactional_id, timeout = req.transaction_timeout_ms,
                              expected_pid, expected_epoch](CoordinatorShard& c) {
                               return c.txns.init_producer(tp, id, timeout, expected_pid, expected_epoch);
                             });
    result = co_await std::move(op);
  }
  resp.error_code = to_int(result.error);
  if (result.error == ErrorCode::NONE) {
    resp.producer_id = result.producer_id;
    resp.producer_epoch = result.epoch;
  }
  co_return make_response(ctx, resp);
}

namespace {

// One transaction of an AddPartitionsToTxn: its partitions (as the request lists them) and
// each one's answer.
struct TxnAddition {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool verify_only = false;
  std::vector<std::pair<std::string, std::vector<int32_t>>> topics;
  std::vector<std::vector<ErrorCode>> results;  // parallel to topics
};

// Adds (or, verify_only, checks) one transaction's partitions. `from_client` (v0-3): WRITE on
// the transactional id and on each topic; brokers (v4+) were authorized for the cluster.
// Unknown or refused partitions fail the whole transaction, the others are then
// OPERATION_NOT_ATTEMPTED (Kafka's rule).
asio::awaitable<void> add_to_txn(RequestContext& ctx, TxnAddition& t, bool from_client, int16_t client_version) {
  auto image = ctx.shard->image;
  const bool txn_denied = from_client && !authorized_txn(ctx, AclOperation::WRITE, t.transactional_id);
  std::set<std::string> denied;
  if (from_client)
    for (auto& [name, _] : t.topics)
      if (!authorized_topic(ctx, AclOperation::WRITE, name)) denied.insert(name);
  auto missing = [&](const std::string& name, int32_t p) {
    auto* topic = image->find_topic(name);
    return !topic || p < 0 || static_cast<size_t>(p) >= topic->partitions.size();
  };
  bool refused = !denied.empty();
  std::vector<coordinator::TxnPartition> parts;
  for (auto& [name, ps] : t.topics)
    for (auto p : ps) {
      refused |= missing(name, p);
      parts.emplace_back(name, p);
    }
  ErrorCode all = ErrorCode::NONE;        // for every partition, unless `each` says
  std::vector<ErrorCode> each;            // verify_only: per partition, in `parts` order
  if (t.transactional_id.empty()) {
    all = ErrorCode::INVALID_REQUEST;
  } else if (txn_denied) {
    all = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    refused = false;
  } else if (!refused) {
    auto placed = place_txn(ctx, t.transactional_id);
    auto p = co_await std::move(placed);
    all = p.error;
    if (p.error == ErrorCode::NONE && t.verify_only) {
      auto op = on_coordinator(*ctx.broker, p.where.shard,
                               [tp = p.where.tp, id = t.transactional_id, pid = t.producer_id,
                                epoch = t.producer_epoch, parts](CoordinatorShard& c) {
                                 return c.txns.verify_partitions(tp, id, pid, epoch, parts);
                               });
      auto d = co_await std::move(op);
      all = d.error;
      each = std::move(d.per_partition);
    } else if (p.error == ErrorCode::NONE) {
      auto op = on_coordinator(*ctx.broker, p.where.shard,
                               [tp = p.where.tp, id = t.transactional_id, pid = t.producer_id,
                                epoch = t.producer_epoch, parts, client_version](CoordinatorShard& c) {
                                 return c.txns.add_partitions(tp, id, pid, epoch, parts, client_version);
                               });
      all = co_await std::move(op);
    }
  }
  // Clients before v2 do not know PRODUCER_FENCED.
  if (all == ErrorCode::PRODUCER_FENCED && ctx.api_version < 2) all = ErrorCode::INVALID_PRODUCER_EPOCH;
  size_t at = 0;
  for (auto& [name, ps] : t.topics) {
    auto& out = t.results.emplace_back();
    for (auto p : ps) {
      ErrorCode e = all;
      if (refused) {
        e = denied.contains(name) ? ErrorCode::TOPIC_AUTHORIZATION_FAILED
            : missing(name, p)    ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                                  : ErrorCode::OPERATION_NOT_ATTEMPTED;
      } else if (e == ErrorCode::NONE && at < each.size()) {
        e = each[at];
      }
      out.push_back(e);
      ++at;
    }
  }
}

template <typename TopicResult, typename Topics>
void put_txn_results(const TxnAddition& t, const Topics& requested, std::vector<TopicResult>& out) {
  for (size_t i = 0; i < requested.size(); ++i) {
    auto& tr = out.emplace_back();
    tr.name = requested[i].name;
    for (size_t j = 0; j < requested[i].partitions.size(); ++j) {
      auto& pr = tr.results.emplace_back();
      pr.partition_index = requested[i].partitions[j];
      pr.error_code = to_int(t.results[i][j]);
    }
  }
}

template <typename Topics>
void take_txn_topics(TxnAddition& t, const Topics& topics) {
  for (auto& tt : topics) t.topics.emplace_back(tt.name, tt.partitions);
}

}  // namespace

// v0-3 (clients): one transaction. v4+ (brokers, CLUSTER_ACTION): a batch of transactions,
// each verified or added; v5 is a transactions v2 caller (its transaction takes version 2).
asio::awaitable<net::Response> handle_add_partitions_to_txn(RequestContext& ctx, protocol::Reader& r) {
  protocol::AddPartitionsToTxnRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::AddPartitionsToTxnResponse resp;
  if (ctx.api_version < 4) {
    TxnAddition t{req.transactional_id, req.producer_id, req.producer_epoch};
    take_txn_topics(t, req.topics);
    auto op = add_to_txn(ctx, t, /*from_client=*/true, /*client_version=*/0);
    co_await std::move(op);
    put_txn_results(t, req.topics, resp.results);
    co_return make_response(ctx, resp);
  }
  if (!authorized_cluster(ctx, AclOperation::CLUSTER_ACTION)) {
    resp.error_code = to_int(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    co_return make_response(ctx, resp);
  }
  const int16_t client_version = ctx.api_version >= 5 ? 2 : 0;
  for (auto& tx : req.transactions) {
    TxnAddition t{tx.transactional_id, tx.producer_id, tx.producer_epoch, tx.verify_only};
    take_txn_topics(t, tx.topics);
    auto op = add_to_txn(ctx, t, /*from_client=*/false, t.verify_only ? 0 : client_version);
    co_await std::move(op);
    auto& out = resp.results_by_transaction.emplace_back();
    out.transactional_id = tx.transactional_id;
    put_txn_results(t, tx.topics, out.topic_results);
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_add_offsets_to_txn(RequestContext& ctx, protocol::Reader& r) {
  protocol::AddOffsetsToTxnRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::AddOffsetsToTxnResponse resp;
  if (!authorized_txn(ctx, AclOperation::WRITE, req.transactional_id)) {
    resp.error_code = to_int(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    co_return make_response(ctx, resp);
  }
  if (!authorized_group(ctx, AclOperation::READ, req.group_id)) {
    resp.error_code = to_int(ErrorCode::GROUP_AUTHORIZATION_FAILED);
    co_return make_response(ctx, resp);
  }
  auto ensure = ensure_internal_topic(ctx, kOffsetsTopic);
  struct {
    ErrorCode error = ErrorCode::NONE;  // for every partition
  } result;
  result.error = co_await std::move(ensure);
  // Only the group's partition is needed: its coordinator may be another broker
  // (TxnOffsetCommit goes there), so NOT_COORDINATOR for the group is no error here.
  auto group = place(ctx, kOffsetsTopic, req.group_id);
  if (result.error == ErrorCode::NONE && group.error != ErrorCode::NONE && group.error != ErrorCode::NOT_COORDINATOR)
    result.error = group.error;
  if (result.error == ErrorCode::NONE) {
    auto placed = place_txn(ctx, req.transactional_id);
    auto p = co_await std::move(placed);
    result.error = p.error;
    if (p.error == ErrorCode::NONE) {
      std::vector<coordinator::TxnPartition> parts{{group.tp.topic, group.tp.partition}};
      auto op = on_coordinator(*ctx.broker, p.where.shard,
                               [tp = p.where.tp, id = req.transactional_id, pid = req.producer_id,
                                epoch = req.producer_epoch, parts](CoordinatorShard& c) {
                                 return c.txns.add_partitions(tp, id, pid, epoch, parts);
                               });
      result.error = co_await std::move(op);
    }
  }
  resp.error_code = to_int(result.error);
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_end_txn(RequestContext& ctx, protocol::Reader& r) {
  protocol::EndTxnRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::EndTxnResponse resp;
  if (!authorized_txn(ctx, AclOperation::WRITE, req.transactional_id)) {
    resp.error_code = to_int(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    co_return make_response(ctx, resp);
  }
  auto placed = place_txn(ctx, req.transactional_id);
  auto p = co_await std::move(placed);
  coordinator::InitProducerResult result;
  result.error = p.error;
  if (p.error == ErrorCode::NONE) {
    const int16_t client_version = coordinator::txn_version_of_end_txn(ctx.api_version);
    auto op = on_coordinator(*ctx.broker, p.where.shard,
                             [tp = p.where.tp, id = req.transactional_id, pid = req.producer_id,
                              epoch = req.producer_epoch, commit = req.committed, client_version](CoordinatorShard& c) {
                               return c.txns.end(tp, id, pid, epoch, commit, client_version);
                             });
    result = co_await std::move(op);
  }
  // Clients before v2 do not know PRODUCER_FENCED.
  if (result.error == ErrorCode::PRODUCER_FENCED && ctx.api_version < 2) result.error = ErrorCode::INVALID_PRODUCER_EPOCH;
  resp.error_code = to_int(result.error);
  // v5: the producer id and epoch the producer goes on with (the epoch bumped by this EndTxn).
  if (result.error == ErrorCode::NONE) {
    resp.producer_id = result.producer_id;
    resp.producer_epoch = result.epoch;
  }
  co_return make_response(ctx, resp);
}

// ---- WriteTxnMarkers -------------------------------------------------------------------

asio::awaitable<net::Response> handle_write_txn_markers(RequestContext& ctx, protocol::Reader& r) {
  protocol::WriteTxnMarkersRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::WriteTxnMarkersResponse resp;
  const bool denied = !authorized_cluster(ctx, AclOperation::CLUSTER_ACTION);  // brokers only
  for (auto& m : req.markers) {
    std::vector<coordinator::MarkerWrite> items;
    for (auto& t : m.topics)
      for (auto p : t.partition_indexes) items.push_back(coordinator::MarkerWrite{TopicPartition{t.name, p}});
    if (denied) {
      for (auto& i : items) i.error = ErrorCode::CLUSTER_AUTHORIZATION_FAILED;
    }
    coordinator::MarkerSpec spec{m.producer_id, m.producer_epoch, m.transaction_result, m.coordinator_epoch,
                                 /*skip_missing=*/false, /*local_only=*/true};
    if (!denied) {
      auto op = ctx.broker->coordinator_shard(ctx.shard->id).writer.write_markers(items, spec);
      co_await std::move(op);
    }
    auto& out = resp.markers.emplace_back();
    out.producer_id = m.producer_id;
    size_t at = 0;
    for (auto& t : m.topics) {
      auto& tr = out.topics.emplace_back();
      tr.name = t.name;
      for (size_t i = 0; i < t.partition_indexes.size(); ++i, ++at) {
        auto& pr = tr.partitions.emplace_back();
        pr.partition_index = items[at].tp.partition;
        pr.error_code = to_int(items[at].error);
      }
    }
  }
  co_return make_response(ctx, resp);
}

// ---- TxnOffsetCommit --------------------------------------------------------------------

namespace {

// On the coordinator's shard (which owns the group's __consumer_offsets partition): the
// commit, unless a marker of the producer overtook its check (`guard`, 0: none taken). Runs
// to the commit's first write without suspending, so no marker can slip in between.
asio::awaitable<ErrorCode> commit_txn_offsets_guarded(Broker& broker, int shard, CoordinatorShard& c,
                                                      coordinator::TxnOffsetCommitWork& w, uint64_t guard) {
  if (guard != 0) {
    auto* p = broker.shard(shard).find(w.tp);
    if (!p || !p->txn_verification_holds(w.producer.producer_id, guard)) co_return ErrorCode::INVALID_TXN_STATE;
  }
  auto op = c.groups.commit_txn_offsets(w);
  co_return co_await std::move(op);
}

}  // namespace

asio::awaitable<net::Response> handle_txn_offset_commit(RequestContext& ctx, protocol::Reader& r) {
  protocol::TxnOffsetCommitRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  auto where = place(ctx, kOffsetsTopic, req.group_id);
  ErrorCode result = req.group_id.empty() ? ErrorCode::INVALID_GROUP_ID : where.error;
  // Authorization: WRITE on the transactional id, READ on the group (every partition
  // refused), READ on each topic (only that topic's partitions refused).
  if (!authorized_txn(ctx, AclOperation::WRITE, req.transactional_id))
    result = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  else if (!authorized_group(ctx, AclOperation::READ, req.group_id))
    result = ErrorCode::GROUP_AUTHORIZATION_FAILED;
  std::set<std::string> denied;
  for (auto& t : req.topics)
    if (!authorized_topic(ctx, AclOperation::READ, t.name)) denied.insert(t.name);
  coordinator::TxnOffsetCommitWork w;
  w.group = req.group_id;
  w.producer = coordinator::TxnProducer{req.producer_id, req.producer_epoch};
  w.generation = ctx.api_version >= 3 ? req.generation_id : -1;
  w.member_id = req.member_id;
  w.instance_id = req.group_instance_id;
  w.tp = where.tp;
  auto& items = w.items;
  int64_t now = ctx.broker->clock().now_ms();
  for (auto& t : req.topics) {
    if (denied.contains(t.name)) continue;
    for (auto& p : t.partitions) {
      coordinator::OffsetCommitItem i;
      i.topic = t.name;
      i.partition = p.partition_index;
      i.value.offset = p.committed_offset;
      i.value.leader_epoch = p.committed_leader_epoch;
      i.value.metadata = p.committed_metadata.value_or("");
      i.value.commit_timestamp = now;
      items.push_back(std::move(i));
    }
  }
  // KIP-890: the group's __consumer_offsets partition must be in the transaction — added by
  // this commit for transactions v2 (v5, no AddOffsetsToTxn), else verified. The partition's
  // guard voids the check when a marker of the producer lands while it is out: the commit
  // would otherwise leave pending offsets that no marker completes.
  uint64_t guard = 0;
  Broker* b = ctx.broker;
  if (result == ErrorCode::NONE && !items.empty()) {
    const bool v2 = coordinator::txn_version_of_txn_offset_commit(ctx.api_version) >= 2;
    if (v2 || txn_verification_enabled(*ctx.broker, *ctx.shard->image)) {
      auto begin = invoke_on(b->shard(where.shard), [b, shard = where.shard, tp = where.tp, pid = req.producer_id] {
        auto* p = b->shard(shard).find(tp);
        return p ? p->begin_txn_verification(pid) : uint64_t{0};
      });
      guard = co_await std::move(begin);
      auto check = check_txn_partitions(*ctx.broker, *ctx.shard, req.transactional_id, req.producer_id,
                                        req.producer_epoch, {where.tp}, v2 ? TxnJoin::add : TxnJoin::verify);
      auto errors = co_await std::move(check);
      result = txn_check_error_for_client(errors.front(), ctx.api_version >= 4, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
    }
  }
  if (result == ErrorCode::NONE && !items.empty()) {
    auto op = on_coordinator(*ctx.broker, where.shard, [&w, b, shard = where.shard, guard](CoordinatorShard& c) {
      return commit_txn_offsets_guarded(*b, shard, c, w, guard);
    });
    result = co_await std::move(op);
  }
  protocol::TxnOffsetCommitResponse resp;
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    for (auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition_index;
      pr.error_code = to_int(denied.contains(t.name) && result == ErrorCode::NONE ? ErrorCode::TOPIC_AUTHORIZATION_FAILED
                                                                                  : result);
    }
  }
  co_return make_response(ctx, resp);
}

// ---- operator views --------------------------------------------------------------------------

asio::awaitable<net::Response> handle_describe_producers(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeProducersRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  using Out = protocol::DescribeProducersResponse;
  struct Item {
    TopicPartition tp;
    ErrorCode error = ErrorCode::NONE;
    std::vector<Out::ProducerState> producers;
  };
  std::vector<Item> items;
  std::set<std::string> denied;  // no READ on the topic
  for (auto& t : req.topics) {
    if (!authorized_topic(ctx, AclOperation::READ, t.name)) denied.insert(t.name);
    for (auto p : t.partition_indexes) items.push_back(Item{{t.name, p}});
  }
  for (auto& it : items)
    if (denied.contains(it.tp.topic)) it.error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  auto read = [](Partition* part, Item& it) {
    if (it.error != ErrorCode::NONE) return;
    if (!part) {
      it.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      return;
    }
    for (auto& [pid, e] : part->log().producer_state().producers()) {
      auto& ps = it.producers.emplace_back();
      ps.producer_id = pid;
      ps.producer_epoch = e.epoch;
      ps.last_sequence = e.batches.empty() ? -1 : e.batches.back().last_seq;
      ps.last_timestamp = e.batches.empty() ? -1 : e.batches.back().timestamp;
      ps.coordinator_epoch = e.coordinator_epoch;
      ps.current_txn_start_offset = e.current_txn_first_offset;
    }
  };
  auto op = for_each_partition(*ctx.broker, items, read);
  co_await std::move(op);
  Out resp;
  size_t at = 0;
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    for (size_t i = 0; i < t.partition_indexes.size(); ++i, ++at) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = items[at].tp.partition;
      pr.error_code = to_int(items[at].error);
      pr.active_producers = std::move(items[at].producers);
    }
  }
  co_return make_response(ctx, resp);
}

namespace {

// Every shard's transactions, gathered on the handler's shard.
asio::awaitable<std::vector<TxnMetadata>> all_transactions(RequestContext& ctx) {
  std::vector<TxnMetadata> out;
  for (int i = 0; i < ctx.broker->shard_count(); ++i) {
    Broker* b = ctx.broker;
    auto op = invoke_on(b->shard(i), [b, i] {
      std::vector<TxnMetadata> v;
      for (auto& [id, m] : b->txn_coordinator(i).all()) v.push_back(m);
      return v;
    });
    auto got = co_await std::move(op);
    out.insert(out.end(), got.begin(), got.end());
  }
  co_return out;
}

}  // namespace

asio::awaitable<net::Response> handle_describe_transactions(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeTransactionsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  auto gather = all_transactions(ctx);
  auto all = co_await std::move(gather);
  protocol::DescribeTransactionsResponse resp;
  for (auto& id : req.transactional_ids) {
    auto& st = resp.transaction_states.emplace_back();
    st.transactional_id = id;
    auto it = std::find_if(all.begin(), all.end(), [&](const TxnMetadata& m) { return m.transactional_id == id; });
    const bool denied = !authorized_txn(ctx, AclOperation::DESCRIBE, id);
    if (denied || it == all.end()) {
      // Kafka: an id whose partition this broker does not lead is NOT_COORDINATOR, not unknown.
      ErrorCode missing = ErrorCode::TRANSACTIONAL_ID_NOT_FOUND;
      if (!denied && ctx.shard->image->find_topic(kTransactionStateTopic) &&
          place(ctx, kTransactionStateTopic, id).error == ErrorCode::NOT_COORDINATOR)
        missing = ErrorCode::NOT_COORDINATOR;
      st.error_code = to_int(denied ? ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED : missing);
      st.transaction_state = "";
      st.producer_id = -1;
      st.producer_epoch = -1;
      st.transaction_start_time_ms = -1;
      continue;
    }
    st.error_code = 0;
    st.transaction_state = coordinator::txn_state_name(it->state);
    st.transaction_timeout_ms = it->timeout_ms;
    st.transaction_start_time_ms = it->start_ms;
    st.producer_id = it->producer_id;
    st.producer_epoch = it->producer_epoch;
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (auto& [t, p] : it->partitions) by_topic[t].push_back(p);
    for (auto& [t, ps] : by_topic) {
      auto& td = st.topics.emplace_back();
      td.topic = t;
      td.partitions = ps;
    }
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_list_transactions(RequestContext& ctx, protocol::Reader& r) {
  protocol::ListTransactionsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  auto gather = all_transactions(ctx);
  auto all = co_await std::move(gather);
  protocol::ListTransactionsResponse resp;
  resp.error_code = 0;
  std::set<std::string> known;
  for (int s = 0; s <= static_cast<int>(TxnState::prepare_epoch_fence); ++s)
    known.insert(coordinator::txn_state_name(static_cast<TxnState>(s)));
  for (auto& f : req.state_filters)
    if (!known.count(f)) resp.unknown_state_filters.push_back(f);
  for (auto& m : all) {
    std::string state = coordinator::txn_state_name(m.state);
    if (!req.state_filters.empty() &&
        std::find(req.state_filters.begin(), req.state_filters.end(), state) == req.state_filters.end())
      continue;
    if (!req.producer_id_filters.empty() &&
        std::find(req.producer_id_filters.begin(), req.producer_id_filters.end(), m.producer_id) ==
            req.producer_id_filters.end())
      continue;
    if (!authorized_txn(ctx, AclOperation::DESCRIBE, m.transactional_id)) continue;
    auto& st = resp.transaction_states.emplace_back();
    st.transactional_id = m.transactional_id;
    st.producer_id = m.producer_id;
    st.transaction_state = state;
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
