// Producers: InitProducerId (22), AddPartitionsToTxn (24), AddOffsetsToTxn
// (25), EndTxn (26), WriteTxnMarkers (27), TxnOffsetCommit (28), and the operator views
// DescribeProducers (61), DescribeTransactions (65), ListTransactions (66).
//
// A transactional id lives on the shard that owns its __transaction_state
// partition; its state changes run there one at a time (TxnMetadata::busy) and
// are made durable before they are applied. Ending a transaction is two-phase:
// Prepare{Commit,Abort} is logged, markers are written (durably) to every
// partition of the transaction — __consumer_offsets ones make the
// transaction's offset commits visible — then Complete{Commit,Abort} is logged
// and the client answered. A Prepare* state found after a restart, or left by
// a failed marker write, is completed by the shard's timer, which also aborts
// transactions past their timeout (fencing the producer with a new epoch).
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
#include "protocol/record_batch.h"
#include "server/broker.h"
#include "server/coordinator_io.h"
#include "server/handlers.h"
#include "server/owner_shards.h"
#include "replication/partition.h"

namespace samsa::server {

using coordinator::kOffsetsTopic;
using coordinator::kTransactionStateTopic;
using coordinator::TxnMetadata;
using coordinator::TxnState;

namespace {

net::Response bad_request() { return net::Response{{}, false, true}; }

int32_t max_txn_timeout_ms(Broker& b) {
  auto cfg = b.settings().config;
  return cfg ? cfg->transaction_max_timeout_ms() : 900000;
}

// Logs `m` durably to its __transaction_state partition, then stores it.
asio::awaitable<ErrorCode> persist(Broker& b, Shard& s, const TopicPartition& tp, TxnMetadata m) {
  std::vector<KeyValue> kvs;
  kvs.emplace_back(coordinator::encode_txn_key(m.transactional_id), coordinator::encode_txn_value(m));
  auto op = append_durably(b, s, tp, kvs);
  auto err = co_await std::move(op);
  if (err == ErrorCode::NONE) b.txn_coordinator(s.id).put(m);
  co_return err;
}

struct MarkerWork {
  TopicPartition tp;
  ErrorCode error = ErrorCode::NONE;
};

// On `target`: a marker in each partition, durable; offsets partitions then
// apply (commit) or drop (abort) the transaction's offset commits. A partition
// not here is UNKNOWN_TOPIC_OR_PARTITION, or skipped (deleted since) when
// `skip_missing`.
asio::awaitable<void> write_markers_on(Broker& b, Shard& target, std::vector<MarkerWork*> items, int64_t pid,
                                       int16_t epoch, bool commit, int32_t coordinator_epoch, bool skip_missing) {
  for (auto* w : items) {
    if (!target.find(w->tp)) {
      if (!skip_missing) w->error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      continue;
    }
    protocol::EndTxnMarker m{commit ? protocol::ControlType::commit : protocol::ControlType::abort, coordinator_epoch};
    auto batch = protocol::build_end_txn_marker(m, pid, epoch, now_ms());
    auto op = append_batch_durably(b, target, w->tp, std::span<uint8_t>(batch));
    w->error = co_await std::move(op);
    if (w->error != ErrorCode::NONE) {
      spdlog::warn("writing a transaction marker to {} failed: {}", w->tp.to_string(), error_name(w->error));
      continue;
    }
    if (w->tp.topic == kOffsetsTopic) b.group_coordinator(target.id).complete_txn(pid, w->tp.partition, commit);
  }
}

// Markers in every partition of `items`, all owning shards in parallel; returns
// when all are written (each item has its outcome).
asio::awaitable<void> write_markers(Broker& b, Shard& here, std::vector<MarkerWork>& items, int64_t pid, int16_t epoch,
                                    bool commit, int32_t coordinator_epoch, bool skip_missing) {
  std::map<int, std::vector<MarkerWork*>> by_shard;
  for (auto& w : items) by_shard[b.owner_of(w.tp)].push_back(&w);
  WaitGroup wg(here.io.get_executor());
  for (auto& [shard_id, list] : by_shard) {
    wg.add();
    Shard& target = b.shard(shard_id);
    asio::co_spawn(target.io.get_executor(),
                   write_markers_on(b, target, list, pid, epoch, commit, coordinator_epoch, skip_missing),
                   asio::bind_executor(here.io.get_executor(), [&wg](std::exception_ptr) { wg.done(); }));
  }
  co_await wg.wait();
}

// Phase two of EndTxn: `m` is in Prepare{Commit,Abort} (logged) and busy.
// Writes the markers, then logs Complete*. On failure the Prepare* state stays
// and the timer retries.
asio::awaitable<ErrorCode> finish_txn(Broker& b, Shard& s, TopicPartition state_tp, TxnMetadata m) {
  const bool commit = m.state == TxnState::prepare_commit;
  std::vector<MarkerWork> items;
  for (auto& [t, p] : m.partitions) items.push_back(MarkerWork{TopicPartition{t, p}});
  auto op_markers = write_markers(b, s, items, m.producer_id, m.producer_epoch, commit, 0, true);
  co_await std::move(op_markers);
  ErrorCode first_error = ErrorCode::NONE;
  for (auto& w : items)
    if (first_error == ErrorCode::NONE) first_error = w.error;
  if (first_error != ErrorCode::NONE) {
    if (auto* live = b.txn_coordinator(s.id).find(m.transactional_id)) live->busy = false;
    co_return first_error;
  }
  m.state = commit ? TxnState::complete_commit : TxnState::complete_abort;
  m.partitions.clear();
  m.start_ms = -1;
  m.update_ms = now_ms();
  m.busy = false;
  auto op = persist(b, s, state_tp, m);
  auto err = co_await std::move(op);
  if (err != ErrorCode::NONE) {
    if (auto* live = b.txn_coordinator(s.id).find(m.transactional_id)) live->busy = false;
  }
  co_return err;
}

// Ongoing -> Prepare{Commit,Abort} -> markers -> Complete*. `fence` bumps the
// epoch first (timeouts and InitProducerId fencing an open transaction).
asio::awaitable<ErrorCode> end_txn(Broker& b, Shard& s, TopicPartition state_tp, TxnMetadata m, bool commit,
                                   bool fence) {
  auto& c = b.txn_coordinator(s.id);
  if (fence) ++m.producer_epoch;
  m.state = commit ? TxnState::prepare_commit : TxnState::prepare_abort;
  m.update_ms = now_ms();
  m.busy = true;
  if (auto* live = c.find(m.transactional_id)) live->busy = true;
  auto op = persist(b, s, state_tp, m);
  auto err = co_await std::move(op);
  if (err != ErrorCode::NONE) {
    if (auto* live = c.find(m.transactional_id)) live->busy = false;
    co_return err;
  }
  auto fin = finish_txn(b, s, state_tp, m);
  co_return co_await std::move(fin);
}

// ---- InitProducerId ---------------------------------------------------------------------

struct InitResult {
  ErrorCode error = ErrorCode::NONE;
  int64_t producer_id = -1;
  int16_t epoch = -1;
};

asio::awaitable<void> init_on_shard(Broker& b, Shard& s, TopicPartition tp, std::string id, int32_t timeout_ms,
                                    int64_t expected_pid, int16_t expected_epoch, InitResult& out) {
  auto& c = b.txn_coordinator(s.id);
  if (!s.find(tp)) {
    out.error = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    co_return;
  }
  auto d = coordinator::decide_init(c.find(id), timeout_ms, max_txn_timeout_ms(b), expected_pid, expected_epoch);
  if (d.error != ErrorCode::NONE) {
    out.error = d.error;
    co_return;
  }
  TxnMetadata next;
  next.transactional_id = id;
  if (auto* m = c.find(id)) next = *m;
  if (d.abort_ongoing) {
    // Fence the previous producer: abort its transaction under a new epoch.
    auto op = end_txn(b, s, tp, next, false, true);
    if (auto err = co_await std::move(op); err != ErrorCode::NONE) {
      out.error = ErrorCode::CONCURRENT_TRANSACTIONS;  // the client retries; the timer finishes the abort
      co_return;
    }
    next = *c.find(id);
  }
  if (d.new_producer_id) {
    auto alloc = b.allocate_producer_id();
    int64_t pid = co_await std::move(alloc);
    if (pid < 0) {
      out.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
      co_return;
    }
    next.producer_id = pid;
    next.producer_epoch = 0;
  } else {
    ++next.producer_epoch;
  }
  next.timeout_ms = timeout_ms;
  next.state = TxnState::empty;
  next.partitions.clear();
  next.start_ms = -1;
  next.update_ms = now_ms();
  next.busy = false;
  auto op = persist(b, s, tp, next);
  out.error = co_await std::move(op);
  out.producer_id = next.producer_id;
  out.epoch = next.producer_epoch;
}

// ---- AddPartitionsToTxn / AddOffsetsToTxn ---------------------------------------------------

struct AddResult {
  ErrorCode error = ErrorCode::NONE;  // for every partition
};

asio::awaitable<void> add_on_shard(Broker& b, Shard& s, TopicPartition tp, std::string id, int64_t pid, int16_t epoch,
                                   std::vector<coordinator::TxnPartition> parts, AddResult& out) {
  auto& c = b.txn_coordinator(s.id);
  if (!s.find(tp)) {
    out.error = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    co_return;
  }
  auto* m = c.find(id);
  out.error = coordinator::decide_add_partitions(m, pid, epoch);
  if (out.error != ErrorCode::NONE) co_return;
  TxnMetadata next = *m;
  size_t before = next.partitions.size();
  for (auto& p : parts) next.partitions.insert(p);
  if (next.state == TxnState::ongoing && next.partitions.size() == before) co_return;  // nothing new
  if (next.state != TxnState::ongoing) {
    next.state = TxnState::ongoing;
    next.start_ms = now_ms();
  }
  next.update_ms = now_ms();
  m->busy = true;
  auto op = persist(b, s, tp, next);
  out.error = co_await std::move(op);
  if (auto* live = c.find(id)) live->busy = false;
}

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
    // Idempotent producer: always a fresh id with epoch 0, as Kafka answers (also to a v3+
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
  auto placed = place_txn(ctx, *req.transactional_id);
  auto p = co_await std::move(placed);
  InitResult result;
  result.error = p.error;
  if (p.error == ErrorCode::NONE) {
    Shard& target = ctx.broker->shard(p.where.shard);
    int64_t expected_pid = ctx.api_version >= 3 ? req.producer_id : -1;
    int16_t expected_epoch = ctx.api_version >= 3 ? req.producer_epoch : -1;
    auto op = run_coro_on(ctx, target,
                          init_on_shard(*ctx.broker, target, p.where.tp, *req.transactional_id,
                                        req.transaction_timeout_ms, expected_pid, expected_epoch, result));
    co_await std::move(op);
  }
  resp.error_code = to_int(result.error);
  if (result.error == ErrorCode::NONE) {
    resp.producer_id = result.producer_id;
    resp.producer_epoch = result.epoch;
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_add_partitions_to_txn(RequestContext& ctx, protocol::Reader& r) {
  protocol::AddPartitionsToTxnRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::AddPartitionsToTxnResponse resp;
  // Unknown partitions fail the request; the others are then not attempted (Kafka's rule).
  auto image = ctx.shard->image;
  bool unknown = false;
  std::vector<coordinator::TxnPartition> parts;
  for (auto& t : req.topics) {
    auto* topic = image->find_topic(t.name);
    for (auto p : t.partitions) {
      if (!topic || p < 0 || static_cast<size_t>(p) >= topic->partitions.size()) unknown = true;
      parts.emplace_back(t.name, p);
    }
  }
  AddResult result;
  if (!unknown) {
    auto placed = place_txn(ctx, req.transactional_id);
    auto p = co_await std::move(placed);
    result.error = p.error;
    if (p.error == ErrorCode::NONE) {
      Shard& target = ctx.broker->shard(p.where.shard);
      auto op = run_coro_on(ctx, target,
                            add_on_shard(*ctx.broker, target, p.where.tp, req.transactional_id, req.producer_id,
                                         req.producer_epoch, parts, result));
      co_await std::move(op);
    }
  }
  for (auto& t : req.topics) {
    auto& tr = resp.results.emplace_back();
    tr.name = t.name;
    auto* topic = image->find_topic(t.name);
    for (auto p : t.partitions) {
      auto& pr = tr.results.emplace_back();
      pr.partition_index = p;
      ErrorCode e = result.error;
      if (unknown) {
        bool bad = !topic || p < 0 || static_cast<size_t>(p) >= topic->partitions.size();
        e = bad ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::OPERATION_NOT_ATTEMPTED;
      }
      pr.error_code = to_int(e);
    }
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_add_offsets_to_txn(RequestContext& ctx, protocol::Reader& r) {
  protocol::AddOffsetsToTxnRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::AddOffsetsToTxnResponse resp;
  auto ensure = ensure_internal_topic(ctx, kOffsetsTopic);
  AddResult result;
  result.error = co_await std::move(ensure);
  auto group = place(ctx, kOffsetsTopic, req.group_id);
  if (result.error == ErrorCode::NONE && group.error != ErrorCode::NONE) result.error = group.error;
  if (result.error == ErrorCode::NONE) {
    auto placed = place_txn(ctx, req.transactional_id);
    auto p = co_await std::move(placed);
    result.error = p.error;
    if (p.error == ErrorCode::NONE) {
      Shard& target = ctx.broker->shard(p.where.shard);
      std::vector<coordinator::TxnPartition> parts{{group.tp.topic, group.tp.partition}};
      auto op = run_coro_on(ctx, target,
                            add_on_shard(*ctx.broker, target, p.where.tp, req.transactional_id, req.producer_id,
                                         req.producer_epoch, parts, result));
      co_await std::move(op);
    }
  }
  resp.error_code = to_int(result.error);
  co_return make_response(ctx, resp);
}

namespace {

asio::awaitable<void> end_on_shard(Broker& b, Shard& s, TopicPartition tp, std::string id, int64_t pid, int16_t epoch,
                                   bool commit, ErrorCode& out) {
  auto& c = b.txn_coordinator(s.id);
  if (!s.find(tp)) {
    out = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    co_return;
  }
  auto* m = c.find(id);
  auto d = coordinator::decide_end(m, pid, epoch, commit);
  out = d.error;
  if (d.error != ErrorCode::NONE || !d.write) co_return;
  auto op = end_txn(b, s, tp, *m, commit, false);
  out = co_await std::move(op);
}

}  // namespace

asio::awaitable<net::Response> handle_end_txn(RequestContext& ctx, protocol::Reader& r) {
  protocol::EndTxnRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::EndTxnResponse resp;
  auto placed = place_txn(ctx, req.transactional_id);
  auto p = co_await std::move(placed);
  ErrorCode result = p.error;
  if (p.error == ErrorCode::NONE) {
    Shard& target = ctx.broker->shard(p.where.shard);
    auto op = run_coro_on(ctx, target,
                          end_on_shard(*ctx.broker, target, p.where.tp, req.transactional_id, req.producer_id,
                                       req.producer_epoch, req.committed, result));
    co_await std::move(op);
  }
  resp.error_code = to_int(result);
  co_return make_response(ctx, resp);
}

// ---- WriteTxnMarkers -------------------------------------------------------------------

asio::awaitable<net::Response> handle_write_txn_markers(RequestContext& ctx, protocol::Reader& r) {
  protocol::WriteTxnMarkersRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  protocol::WriteTxnMarkersResponse resp;
  for (auto& m : req.markers) {
    std::vector<MarkerWork> items;
    for (auto& t : m.topics)
      for (auto p : t.partition_indexes) items.push_back(MarkerWork{TopicPartition{t.name, p}});
    auto op = write_markers(*ctx.broker, *ctx.shard, items, m.producer_id, m.producer_epoch, m.transaction_result,
                            m.coordinator_epoch, false);
    co_await std::move(op);
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

struct TxnCommitItem {
  std::string topic;
  int32_t partition = 0;
  coordinator::CommittedOffset value;
};

asio::awaitable<void> txn_commit_on_shard(Broker& b, Shard& s, TopicPartition tp, std::string group, int64_t pid,
                                          int16_t epoch, int32_t generation, std::string member,
                                          std::optional<std::string> instance, std::vector<TxnCommitItem> items,
                                          ErrorCode& out) {
  auto& c = b.group_coordinator(s.id);
  if (!s.find(tp)) {
    out = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    co_return;
  }
  // KIP-447: a producer that names its consumer's member (or generation) must
  // be current; a replaced static member is fenced.
  if (auto* g = c.find(group)) {
    out = g->validate_commit(member, instance, generation, /*transactional=*/true);
    if (out != ErrorCode::NONE) co_return;
  } else if (generation >= 0) {
    out = ErrorCode::ILLEGAL_GENERATION;
    co_return;
  }
  std::vector<KeyValue> kvs;
  for (auto& i : items)
    kvs.emplace_back(coordinator::encode_offset_key({group, i.topic, i.partition}),
                     coordinator::encode_offset_value(i.value));
  auto op = append_durably(b, s, tp, kvs, TxnProducer{pid, epoch});
  out = co_await std::move(op);
  if (out != ErrorCode::NONE) co_return;
  for (auto& i : items) c.add_pending(pid, tp.partition, group, i.topic, i.partition, i.value);
}

}  // namespace

asio::awaitable<net::Response> handle_txn_offset_commit(RequestContext& ctx, protocol::Reader& r) {
  protocol::TxnOffsetCommitRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return bad_request();
  auto where = place(ctx, kOffsetsTopic, req.group_id);
  ErrorCode result = req.group_id.empty() ? ErrorCode::INVALID_GROUP_ID : where.error;
  std::vector<TxnCommitItem> items;
  int64_t now = now_ms();
  for (auto& t : req.topics) {
    for (auto& p : t.partitions) {
      TxnCommitItem i;
      i.topic = t.name;
      i.partition = p.partition_index;
      i.value.offset = p.committed_offset;
      i.value.leader_epoch = p.committed_leader_epoch;
      i.value.metadata = p.committed_metadata.value_or("");
      i.value.commit_timestamp = now;
      items.push_back(std::move(i));
    }
  }
  if (result == ErrorCode::NONE && !items.empty()) {
    Shard& target = ctx.broker->shard(where.shard);
    int32_t generation = ctx.api_version >= 3 ? req.generation_id : -1;
    auto op = run_coro_on(ctx, target,
                          txn_commit_on_shard(*ctx.broker, target, where.tp, req.group_id, req.producer_id,
                                              req.producer_epoch, generation, req.member_id, req.group_instance_id,
                                              items, result));
    co_await std::move(op);
  }
  protocol::TxnOffsetCommitResponse resp;
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    for (auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition_index;
      pr.error_code = to_int(result);
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
  for (auto& t : req.topics)
    for (auto p : t.partition_indexes) items.push_back(Item{{t.name, p}});
  auto read = [](Partition* part, Item& it) {
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
  auto op = on_owner_shards(ctx, items, read);
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
    auto op = run_on(b->shard(i), [b, i] {
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
    if (it == all.end()) {
      st.error_code = to_int(ErrorCode::TRANSACTIONAL_ID_NOT_FOUND);
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
    auto& st = resp.transaction_states.emplace_back();
    st.transactional_id = m.transactional_id;
    st.producer_id = m.producer_id;
    st.transaction_state = state;
  }
  co_return make_response(ctx, resp);
}

// ---- replay and timer ---------------------------------------------------------------------

void load_txn_partition(Broker& broker, Shard& shard, Partition& part) {
  auto& c = broker.txn_coordinator(shard.id);
  size_t records = 0;
  for_each_batch(part, [&](std::span<const uint8_t> batch) {
    protocol::RecordIterator it;
    if (it.open(batch) != ErrorCode::NONE || it.header().is_control()) return;
    protocol::RecordView rv;
    while (it.next(rv)) {
      if (!rv.key) continue;
      auto id = coordinator::decode_txn_key(*rv.key);
      if (!id) continue;
      ++records;
      if (!rv.value) {
        c.erase(*id);
      } else if (auto m = coordinator::decode_txn_value(*rv.value)) {
        m->transactional_id = *id;
        c.put(*m);
      }
    }
  });
  if (records) spdlog::info("loaded {} transaction record(s) from {}", records, part.tp().to_string());
}

namespace {

asio::awaitable<void> txn_upkeep(Broker& b, Shard& s) {
  auto& c = b.txn_coordinator(s.id);
  auto image = s.image;
  auto* topic = image ? image->find_topic(kTransactionStateTopic) : nullptr;
  if (!topic) co_return;
  const int32_t n = static_cast<int32_t>(topic->partitions.size());
  std::vector<std::pair<TxnMetadata, bool>> work;  // (metadata, abort a timed-out one)
  for (auto& id : coordinator::timed_out(c.all(), now_ms())) work.emplace_back(*c.find(id), true);
  for (auto& [id, m] : c.all()) {
    if (coordinator::recovery_action(m) != coordinator::TxnRecovery::none) work.emplace_back(m, false);
  }
  // transactional.id.expiration.ms: idle ids are forgotten (tombstoned).
  auto cfg = b.settings().config;
  const int64_t expiration = cfg ? cfg->transactional_id_expiration_ms() : 604800000;
  for (auto& id : coordinator::expired_ids(c.all(), now_ms(), expiration)) {
    TopicPartition tp{kTransactionStateTopic, coordinator::offsets_partition_for(id, n)};
    if (!s.find(tp)) continue;
    std::vector<KeyValue> kvs;
    kvs.emplace_back(coordinator::encode_txn_key(id), std::nullopt);
    auto op = append_durably(b, s, tp, kvs);
    if (co_await std::move(op) == ErrorCode::NONE) {
      auto* m = c.find(id);
      if (m && !m->busy) c.erase(id);
    }
  }
  for (auto& [m, abort] : work) {
    TopicPartition tp{kTransactionStateTopic, coordinator::offsets_partition_for(m.transactional_id, n)};
    if (!s.find(tp)) continue;
    auto* live = c.find(m.transactional_id);
    if (!live || live->busy) continue;
    if (abort) {
      spdlog::info("aborting transaction {} (producer {}) after its timeout of {} ms", m.transactional_id,
                   m.producer_id, m.timeout_ms);
      auto op = end_txn(b, s, tp, m, false, true);
      co_await std::move(op);
    } else {
      live->busy = true;
      auto op = finish_txn(b, s, tp, m);
      co_await std::move(op);
    }
  }
}

}  // namespace

void schedule_txn_timeouts(Broker& broker, Shard& shard, asio::steady_timer& timer) {
  auto cfg = broker.settings().config;
  int64_t interval = cfg ? cfg->transaction_abort_timed_out_transaction_cleanup_interval_ms() : 10000;
  // At least every second: Prepare* states left by a restart are completed soon after start.
  timer.expires_after(std::chrono::milliseconds(std::min<int64_t>(interval, 1000)));
  timer.async_wait([&broker, &shard, &timer](const asio::error_code& ec) {
    if (ec) return;
    asio::co_spawn(shard.io.get_executor(), txn_upkeep(broker, shard),
                   [&broker, &shard, &timer](std::exception_ptr) { schedule_txn_timeouts(broker, shard, timer); });
  });
}

}  // namespace samsa::server
