// Produce (key 0). The request's record batches are validated — header, CRC and
// every record, as Kafka's LogValidator — then each partition's batches are
// appended on the shard that owns the partition, patched in place and written
// as received (zero copy). Batches that need decompressing (compressed v2
// batches, legacy message sets) are validated on the worker pool, off the
// event loop; uncompressed v2 batches are walked inline (a few ns per byte).
// With acks=-1 the answer waits for the group-committed fdatasync.
// v10+ answers NOT_LEADER_OR_FOLLOWER with the KIP-951 leader hints. v11 and v12 have v10's
// layout. A producer's first transactional batch in a partition is checked with its
// transaction coordinator before it is appended (server/txn_verification.h, KIP-890): v12
// (transactions v2, used once the transaction.version feature is 2) adds the partition to the
// transaction; older versions are verified to have added it when
// transaction.partition.verification.enable is on (v11+ may then answer TRANSACTION_ABORTABLE).
#include <atomic>
#include <chrono>
#include <algorithm>
#include <set>
#include <spdlog/spdlog.h>

#include "cluster/topic_name.h"
#include "coordinator/txn_state.h"
#include "protocol/legacy.h"
#include "protocol/messages/produce.h"
#include "protocol/record_batch.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/fan_out.h"
#include "replication/flusher.h"
#include "server/broker_metrics.h"
#include "server/handlers.h"
#include "server/leader_hints.h"
#include "server/quota_throttle.h"
#include "server/txn_verification.h"
#include "replication/partition.h"
#include "server/worker_pool.h"

namespace samsa::server {

namespace {

using protocol::ProduceRequest;
using protocol::ProduceResponse;

// Decompression bound for one produce batch (or one legacy message set): the
// decompression-bomb limit. Far above what producers send (batch.size is
// 16 KiB for Java clients, 1 MB for librdkafka), and it keeps the memory of a
// worker thread bounded.
constexpr size_t kMaxDecompressedBatch = protocol::kDefaultMaxDecompressed;

struct PartitionWork {
  TopicPartition tp;
  std::span<uint8_t> input;     // the request's records for this partition
  storage::LogConfig cfg;
  bool on_pool = false;         // needs decompression: validated on the worker pool
  ErrorCode check = ErrorCode::NONE;
  std::span<uint8_t> records;   // validated v2 batches (request memory or `converted`)
  protocol::Bytes converted;    // up-converted legacy message set
  replication::AppendOutcome result;
  size_t topic_index = 0;
  size_t partition_index = 0;
};

// True when validating `input` means decompressing: a legacy message set
// (Produce v0-2, may hold compressed wrappers) or a compressed v2 batch.
bool needs_pool(int16_t api_version, std::span<const uint8_t> input) {
  if (api_version < 3) return true;
  if (input.size() < protocol::batch::kHeaderSize) return false;
  return (protocol::load_be16(input.data() + protocol::batch::kAttributes) & protocol::batch::kCompressionMask) != 0;
}

// Checks the batches of one partition before they go near the log. Pure (no
// shard state): runs inline or on a worker thread.
ErrorCode validate(int16_t api_version, PartitionWork& w, int64_t now) {
  const storage::LogConfig& cfg = w.cfg;
  auto mem = w.input;
  if (api_version < 3) {
    // Produce v0-2 carries legacy message sets (magic 0/1): up-convert to v2.
    auto err = protocol::upconvert(mem, now, w.converted, kMaxDecompressedBatch);
    if (err != ErrorCode::NONE) return err;
    mem = std::span<uint8_t>(w.converted);
  }
  auto batches = protocol::split_batches(mem);
  if (!batches || batches->empty()) return ErrorCode::CORRUPT_MESSAGE;
  // Produce v3+ carries exactly one record batch per partition (Kafka's rule).
  if (api_version >= 3 && batches->size() != 1) return ErrorCode::INVALID_RECORD;
  for (auto& b : *batches) {
    if (b.size() >= protocol::batch::kHeaderSize && b[protocol::batch::kMagic] != 2)
      return ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT;
    if (static_cast<int64_t>(b.size()) > cfg.max_message_bytes) return ErrorCode::MESSAGE_TOO_LARGE;
    auto err = protocol::validate_batch(b);
    if (err != ErrorCode::NONE) return err;
    // Every record, as Kafka: a batch with a valid CRC but malformed records
    // would otherwise be stored and stop every consumer (and the cleaner) at it.
    err = protocol::validate_records(b, kMaxDecompressedBatch, cfg.cleanup_compact);
    if (err != ErrorCode::NONE) return err;
    // CreateTime topics bound how far timestamps may lie in the past / future
    // (message.timestamp.before.max.ms / after.max.ms); checked on the batch's
    // first and max timestamps, per batch rather than per record.
    if (!cfg.log_append_time) {
      auto h = protocol::BatchHeader::parse(b.data());
      for (int64_t ts : {h.base_timestamp, h.max_timestamp}) {
        if (ts < 0) continue;
        if (now - ts > cfg.message_timestamp_before_max_ms || ts - now > cfg.message_timestamp_after_max_ms)
          return ErrorCode::INVALID_TIMESTAMP;
      }
    }
  }
  w.records = mem;
  return ErrorCode::NONE;
}

// The transaction of a request's transactional batches, for their check (KIP-890).
struct TxnWrite {
  std::string transactional_id;
  TxnJoin how = TxnJoin::verify;
  bool abortable_known = false;  // Produce v11+: TRANSACTION_ABORTABLE is answered as such
};

// The first transactional batches of a producer's transaction in `items` (on `target`'s
// shard) are checked with its coordinator; a refused one gets the error its client
// understands, an accepted one its guard token (`tokens`, parallel to `items`; 0: none).
asio::awaitable<void> check_first_txn_batches(Broker& broker, Shard& target, std::vector<PartitionWork*>& items,
                                              const TxnWrite& txn, std::vector<uint64_t>& tokens) {
  tokens.assign(items.size(), 0);
  std::vector<size_t> at;
  std::vector<TopicPartition> parts;
  int64_t pid = -1;
  int16_t epoch = -1;
  for (size_t i = 0; i < items.size(); ++i) {
    auto* w = items[i];
    auto* part = target.find(w->tp);
    if (!part || w->records.size() < protocol::batch::kHeaderSize) continue;
    const auto h = protocol::BatchHeader::parse(w->records.data());
    if (!h.is_transactional() || h.producer_id < 0 || part->txn_open_for(h.producer_id, h.producer_epoch)) continue;
    if (pid >= 0 && (h.producer_id != pid || h.producer_epoch != epoch)) {
      w->result.error = ErrorCode::INVALID_RECORD;  // one request, one producer
      continue;
    }
    pid = h.producer_id;
    epoch = h.producer_epoch;
    tokens[i] = part->begin_txn_verification(pid);
    at.push_back(i);
    parts.push_back(w->tp);
  }
  if (at.empty()) co_return;
  auto op = check_txn_partitions(broker, target, txn.transactional_id, pid, epoch, parts, txn.how);
  auto errors = co_await std::move(op);
  for (size_t k = 0; k < at.size(); ++k) {
    if (errors[k] == ErrorCode::NONE) continue;
    items[at[k]]->result.error = txn_check_error_for_client(errors[k], txn.abortable_known);
    tokens[at[k]] = 0;
  }
}

// Runs on the shard that owns the partitions: append, then (acks=-1) wait for
// the group commit to make them durable and for the ISR to have them (the
// high watermark past them; Kafka's DelayedProduce, bounded by the request's
// timeout).
asio::awaitable<void> append_on_shard(Broker& broker, Shard& target, std::vector<PartitionWork*>& items, int16_t acks,
                                      int32_t timeout_ms, net::ApplyToken applying, std::atomic<int64_t>* waited_ns,
                                      const TxnWrite* txn) {
  std::vector<uint64_t> tokens;
  if (txn) {
    auto check = check_first_txn_batches(broker, target, items, *txn, tokens);
    co_await std::move(check);
  }
  int64_t now = broker.clock().now_ms();
  for (size_t i = 0; i < items.size(); ++i) {
    auto* w = items[i];
    if (w->result.error != ErrorCode::NONE) continue;  // refused by its transaction check
    auto* part = target.find(w->tp);
    if (!part) {  // a log that failed to open is offline, as Kafka answers for an offline replica
      w->result.error = broker.partition_unavailable(w->tp) ? ErrorCode::KAFKA_STORAGE_ERROR
                                                            : ErrorCode::NOT_LEADER_OR_FOLLOWER;
      continue;
    }
    // acks=-1 with fewer in-sync replicas than min.insync.replicas: refused
    // before the append (NOT_ENOUGH_REPLICAS).
    if (auto refused = part->check_append(acks); refused != ErrorCode::NONE) {
      w->result.error = refused;
      continue;
    }
    if (txn && tokens[i] != 0) {
      const auto h = protocol::BatchHeader::parse(w->records.data());
      if (!part->txn_verification_holds(h.producer_id, tokens[i])) {
        // Its transaction ended while the coordinator was asked: this batch belongs to none.
        w->result.error = ErrorCode::INVALID_TXN_STATE;
        continue;
      }
    }
    w->result = part->append(w->records, now);
  }
  applying.reset();  // appended: the connection's next request may start while this waits for the fsync
  if (acks != -1) co_return;
  // What follows waits on the disk and the followers (Kafka's DelayedProduce, its remote time):
  // not charged to the client's request quota. The shards wait side by side: the longest counts.
  const auto wait_start = std::chrono::steady_clock::now();
  struct NoteWait {
    std::chrono::steady_clock::time_point start;
    std::atomic<int64_t>* out;
    ~NoteWait() {
      const int64_t ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
      int64_t seen = out->load();
      while (seen < ns && !out->compare_exchange_weak(seen, ns)) {
      }
    }
  } note{wait_start, waited_ns};
  const int64_t deadline = broker.clock().monotonic_ms() + std::max(timeout_ms, 0);
  for (auto* w : items) {
    auto* part = target.find(w->tp);
    if (!part || w->result.error != ErrorCode::NONE) continue;
    auto err = co_await broker.flusher(target.id).wait_durable(*part, w->result.last_offset);
    if (err != ErrorCode::NONE) {
      w->result.error = err;
      continue;
    }
    part = target.find(w->tp);  // the partition may have gone while this waited
    if (!part) {
      w->result.error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
      continue;
    }
    const int64_t left = std::max<int64_t>(deadline - broker.clock().monotonic_ms(), 0);
    auto replicated = part->wait_for_isr(Offset(w->result.last_offset + 1), left);
    err = co_await std::move(replicated);
    if (err != ErrorCode::NONE) w->result.error = err;
  }
}

}  // namespace

asio::awaitable<net::Response> handle_produce(RequestContext& ctx, protocol::Reader& r) {
  ProduceRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  auto& broker = *ctx.broker;
  ProduceResponse resp;
  std::vector<PartitionWork> work;
  bool acks_ok = req.acks == 0 || req.acks == 1 || req.acks == -1;

  // Auto-create unknown topics when enabled (Kafka creates them on metadata
  // requests; producers that skip those still find their topic).
  // Authorization: WRITE on the transactional id (the whole request) and on each topic.
  const bool txn_denied = req.transactional_id && !authorized_txn(ctx, AclOperation::WRITE, *req.transactional_id);
  std::vector<bool> topic_denied;
  for (auto& t : req.topic_data) topic_denied.push_back(!authorized_topic(ctx, AclOperation::WRITE, t.name));
  if (broker.settings().auto_create_topics && !txn_denied) {
    for (size_t ti = 0; ti < req.topic_data.size(); ++ti) {
      auto& t = req.topic_data[ti];
      if (ctx.shard->image->find_topic(t.name) || cluster::topic_name_error(t.name)) continue;
      if (topic_denied[ti] || !may_auto_create(ctx, t.name)) continue;
      cluster::TopicSpec spec;
      spec.name = t.name;
      auto op = broker.create_topic(spec, false);
      co_await std::move(op);
    }
  }
  auto image = ctx.shard->image;
  for (size_t ti = 0; ti < req.topic_data.size(); ++ti) {
    auto& t = req.topic_data[ti];
    auto& tr = resp.responses.emplace_back();
    tr.name = t.name;
    auto* topic = image->find_topic(t.name);
    storage::LogConfig cfg = topic ? broker.log_config_for(*topic) : broker.settings().default_log_config;
    for (size_t pi = 0; pi < t.partition_data.size(); ++pi) {
      auto& p = t.partition_data[pi];
      auto& pr = tr.partition_responses.emplace_back();
      pr.index = p.index;
      pr.base_offset = -1;
      PartitionWork w;
      w.tp = TopicPartition{t.name, p.index};
      w.topic_index = ti;
      w.partition_index = pi;
      ErrorCode err = ErrorCode::NONE;
      if (txn_denied) err = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      else if (topic_denied[ti]) err = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
      else if (!acks_ok) err = ErrorCode::INVALID_REQUIRED_ACKS;
      else if (!topic || p.index < 0 || static_cast<size_t>(p.index) >= topic->partitions.size())
        err = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      else if (cluster::is_internal_topic(t.name))
        err = ErrorCode::INVALID_TOPIC_EXCEPTION;
      else if (auto routed = leader_error(*image, broker.node_id(), w.tp); routed != ErrorCode::NONE)
        err = routed;  // led by another broker, or offline

      else if (p.records.is_null || p.records.view.empty())
        err = ErrorCode::CORRUPT_MESSAGE;
      // No segment.bytes check: a record set larger than a segment gets a segment
      // of its own (Kafka answers RECORD_LIST_TOO_LARGE, which makes every produce
      // fail at segment.bytes values its ConfigDef accepts; README, deviations).
      if (err != ErrorCode::NONE) {
        pr.error_code = to_int(err);
        continue;
      }
      w.input = std::span<uint8_t>(const_cast<uint8_t*>(p.records.view.data()), p.records.view.size());
      w.cfg = cfg;
      w.on_pool = needs_pool(ctx.api_version, w.input);
      work.push_back(std::move(w));
    }
  }

  // Validate: inline when it is a walk over bytes, on the worker pool when it
  // means decompressing (one task for all such partitions of the request).
  int16_t api_version = ctx.api_version;
  bool any_on_pool = false;
  for (auto& w : work) {
    if (w.on_pool) any_on_pool = true;
    else w.check = validate(api_version, w, broker.clock().now_ms());
  }
  if (any_on_pool) {
    const Clock* clock = &broker.clock();  // thread-safe
    auto op = WorkerPool::shared().run([&work, api_version, clock] {
      int64_t now = clock->now_ms();
      for (auto& w : work)
        if (w.on_pool) w.check = validate(api_version, w, now);
      return 0;
    });
    co_await std::move(op);
  }
  std::vector<PartitionWork> valid;
  for (auto& w : work) {
    ErrorCode err = w.check;
    // Clients before Produce v8 do not know INVALID_RECORD; Kafka answers them with CORRUPT_MESSAGE.
    if (err == ErrorCode::INVALID_RECORD && api_version < 8) err = ErrorCode::CORRUPT_MESSAGE;
    if (err == ErrorCode::NONE) valid.push_back(std::move(w));
    else resp.responses[w.topic_index].partition_responses[w.partition_index].error_code = to_int(err);
  }
  work = std::move(valid);

  // Append on the owning shards, all shards in parallel. Each shard's copy of
  // the apply token moves into its append_on_shard, which drops it once its
  // appends are done (not when its fsync is).
  int16_t acks = req.acks;
  int32_t timeout_ms = req.timeout_ms;
  net::ApplyToken token = ctx.applying;
  std::atomic<int64_t> waited_ns{0};
  // KIP-890: transactional batches are checked with their coordinator (v12 adds the partition).
  std::optional<TxnWrite> txn;
  if (req.transactional_id && !req.transactional_id->empty() && !work.empty()) {
    const bool v2 = coordinator::txn_version_of_produce(api_version) >= 2;
    if (v2 || txn_verification_enabled(broker, *image))
      txn = TxnWrite{*req.transactional_id, v2 ? TxnJoin::add : TxnJoin::verify, api_version >= 11};
  }
  const TxnWrite* txn_ptr = txn ? &*txn : nullptr;
  auto append = [&broker, acks, timeout_ms, applying = std::move(token), &waited_ns, txn_ptr](
                    Shard& target, std::vector<PartitionWork*>& items) mutable {
    return append_on_shard(broker, target, items, acks, timeout_ms, std::move(applying), &waited_ns, txn_ptr);
  };
  auto appending = fan_out(broker, work, std::move(append));
  ctx.applying.reset();  // applied once every append_on_shard has let go of its copy
  co_await std::move(appending);
  ctx.waited_ns += waited_ns.load();

  for (auto& w : work) {
    auto& pr = resp.responses[w.topic_index].partition_responses[w.partition_index];
    pr.error_code = to_int(w.result.error);
    pr.base_offset = w.result.base_offset;
    pr.log_append_time_ms = w.result.log_append_time;
    pr.log_start_offset = w.result.log_start_offset;
    if (!w.result.message.empty()) pr.error_message = w.result.message;
    if (w.result.error == ErrorCode::NONE && !w.result.duplicate)
      record_produced(w.tp.topic, static_cast<int64_t>(w.records.size()), w.result.last_offset - w.result.base_offset + 1);
  }
  for (auto& tr : resp.responses)
    for (auto& pr : tr.partition_responses) {
      record_response_error(ctx.api_key, static_cast<ErrorCode>(pr.error_code));
      if (pr.error_code != 0) record_produce_failed(tr.name);
    }
  // v10+ (KIP-951): a partition led elsewhere names its leader, and the answer carries the
  // endpoints of those leaders (server/leader_hints.h), from the image as it is now.
  if (ctx.api_version >= 10) {
    auto now = ctx.shard->image;
    std::set<int32_t> leaders;
    for (auto& tr : resp.responses)
      for (auto& pr : tr.partition_responses) {
        fill_current_leader(*now, TopicPartition{tr.name, pr.index}, static_cast<ErrorCode>(pr.error_code),
                            pr.current_leader);
        if (pr.current_leader.leader_id >= 0) leaders.insert(pr.current_leader.leader_id);
      }
    fill_leader_endpoints(ctx, *now, leaders, resp.node_endpoints);
  }
  // Client quota (producer_byte_rate): the request's bytes, as Kafka records them.
  int32_t throttle = 0;
  if (auto charge = quota_for(ctx, QuotaType::kProduce)) {
    auto recording = record_quota(ctx, std::move(*charge), static_cast<double>(ctx.frame->size()));
    throttle = co_await std::move(recording);
  }
  net::Response out{{}, false, false};
  if (req.acks != 0) {
    resp.throttle_time_ms = throttle;
    out = make_response(ctx, resp);
  }
  out.throttle_ms = throttle;
  out.throttle_before_send = req.acks != 0 && ctx.api_version < kProduceKip219Version;
  co_return out;
}

}  // namespace samsa::server
