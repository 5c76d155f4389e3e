// Fetch (key 1). Each partition is read on its owning shard, which answers with
// file ranges; the response is sent with sendfile() (zero copy). When less than
// min_bytes is available the fetch waits (long poll) in the waiting rooms of its
// partitions (replication/delayed_fetch.h): appends credit it their bytes, and
// it reads again only once they add up to min_bytes, or max_wait_ms passes. Fetch v0-3 clients get batches down-converted to the
// legacy message format they understand (the only path that copies): the
// conversion runs on the worker pool, and the response it builds holds a
// reservation of the global ResponseBudget until it has been written.
//
// A follower (replica id >= 0: the request's replica_id before v15, its
// ReplicaState from v15) is served as Kafka's leader serves one: it must be a
// replica of the partition (else NOT_LEADER_OR_FOLLOWER), it reads up to the
// log end rather than the high watermark, and when its last fetched epoch and
// fetch offset are not a prefix of this leader's log the answer carries the
// DivergingEpoch (epoch, end offset) and no records, so it truncates first.
// Every fetch served to a follower is reported to Partition::on_follower_fetch
// (the ISR / high-watermark state). current_leader_epoch is checked for every
// fetch (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
//
// Fetch sessions (KIP-227, v7+; server/fetch_sessions.h): an incremental fetch
// reads every partition of its session and answers only those with something
// new; a caught-up partition costs no log read (Partition::read returns at its
// high watermark) and is not sent. v13+ names topics by id (UNKNOWN_TOPIC_ID
// for an id the image does not know); NOT_LEADER_OR_FOLLOWER and
// FENCED_LEADER_EPOCH answers carry the current leader (KIP-951) and, v16+,
// that leader's endpoint in node_endpoints.
//
// Fetch from followers (KIP-392): a consumer fetching with v11+ may read from
// any replica of a partition; a follower serves it up to its own high
// watermark. With replica.selector.class set to the rack-aware selector, the
// leader answers a consumer whose client.rack (rack_id) holds an in-sync
// follower with that replica's id in preferred_read_replica and no records
// (ReplicaState::preferred_read_replica); the consumer goes there. A follower
// no longer a replica answers NOT_LEADER_OR_FOLLOWER, one behind the offset
// OFFSET_OUT_OF_RANGE, and the clients go back to the leader.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "protocol/legacy.h"
#include "protocol/messages/fetch.h"
#include "server/authz.h"
#include "config/broker_config.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/broker_metrics.h"
#include "server/handlers.h"
#include "server/quota_throttle.h"
#include "server/fan_out.h"
#include "server/fetch_sessions.h"
#include "server/leader_hints.h"
#include "replication/flusher.h"
#include "replication/partition.h"
#include "server/replication_quota.h"
#include "server/response_budget.h"
#include "server/worker_pool.h"

namespace samsa::server {

namespace {

using protocol::FetchRequest;
using protocol::FetchResponse;

// Who is fetching: a consumer (replica_id < 0) or a follower broker.
struct Fetcher {
  int32_t replica_id = -1;
  int64_t broker_epoch = -1;  // ReplicaState.replica_epoch (v15+)
  // KIP-392 (v11+, a consumer): Kafka's ClientMetadata. Such a consumer may
  // read from any replica of a partition (a follower serves up to its HW),
  // and `rack` (client.rack) is what the rack-aware selector matches.
  bool client_metadata = false;
  std::string rack;
  // A follower's fetch while leader.replication.throttled.rate is set.
  ReplicationQuota* leader_quota = nullptr;
  bool follower() const { return replica_id >= 0; }
};

struct FetchItem {
  TopicPartition tp;
  int64_t offset = 0;
  int32_t max_bytes = 0;
  bool read_committed = false;
  int32_t current_leader_epoch = -1;  // -1: not checked
  int32_t last_fetched_epoch = -1;    // -1: no divergence check (v12+ only)
  int64_t replica_log_start = -1;     // a follower's log start offset (v5+)
  ErrorCode routed = ErrorCode::NONE;  // led elsewhere or unknown: not read
  replication::ReadOutcome result;
  std::optional<storage::EpochEndOffset> diverging;  // answered instead of records
  // KIP-392, on the leader: the replicas in the consumer's rack (empty: the
  // leader serves it), and the one it is sent to instead of records (-1: none).
  std::vector<NodeId> same_rack;
  int32_t preferred_replica = -1;
  bool on_follower = false;  // KIP-392: a consumer reading this broker's follower replica
  bool throttled = false;    // a follower fetch of a leader.replication.throttled.replicas replica
  size_t topic_index = 0;
  size_t partition_index = 0;
};

// Kafka's check of a fetch's last fetched epoch (Partition.readFromLocalLog):
// where this leader's log says that epoch ended. OFFSET_OUT_OF_RANGE when it
// cannot tell or the offset is below the log start; a diverging epoch when
// the fetcher's log goes past the end of its last epoch here.
// The partition's offsets without a read (Kafka's fetchOffsetSnapshot).
replication::ReadOutcome offsets_of(Partition& part) {
  replication::ReadOutcome res;
  res.high_watermark = part.high_watermark().value;
  res.log_start_offset = part.log_start_offset().value;
  res.log_end_offset = part.log_end_offset().value;
  res.last_stable_offset = part.last_stable_offset().value;
  return res;
}

void check_divergence(Partition& part, FetchItem& it) {
  auto& res = it.result;
  res = offsets_of(part);
  const storage::EpochEndOffset end = part.end_offset_for_epoch(Epoch(it.last_fetched_epoch));
  if (end.epoch < 0 || end.end_offset < 0 || it.offset < res.log_start_offset) {
    res.error = ErrorCode::OFFSET_OUT_OF_RANGE;
  } else if (end.epoch < it.last_fetched_epoch || end.end_offset < it.offset) {
    it.diverging = end;
  }
}

// KIP-392: the replicas of `tp` on brokers in `rack` (Kafka's
// RackAwareReplicaSelector candidates, by the brokers' broker.rack).
std::vector<NodeId> replicas_in_rack(const cluster::MetadataImage& image, const TopicPartition& tp,
                                     const std::string& rack) {
  std::vector<NodeId> out;
  const auto* p = find_partition(image, tp);
  if (!p) return out;
  for (int32_t r : p->replicas) {
    auto b = image.brokers.find(r);
    if (b != image.brokers.end() && b->second.rack && *b->second.rack == rack) out.emplace_back(r);
  }
  return out;
}

// Reads one item on its partition's shard (see the file comment).
void read_one(Partition* part, FetchItem& it, const Fetcher& fetcher, int64_t now_ms) {
  it.diverging.reset();
  it.preferred_replica = -1;
  const ErrorCode fenced = part ? part->check_leader_epoch(Epoch(it.current_leader_epoch)) : ErrorCode::NONE;
  if (!part || it.routed != ErrorCode::NONE || fenced != ErrorCode::NONE) {
    it.result = replication::ReadOutcome{};
    // A replica the image names but this broker does not host (yet, or any
    // more) is Kafka's NOT_LEADER_OR_FOLLOWER.
    it.result.error = fenced != ErrorCode::NONE       ? fenced
                      : it.routed != ErrorCode::NONE ? it.routed
                      : it.on_follower               ? ErrorCode::NOT_LEADER_OR_FOLLOWER
                                                     : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    return;
  }
  if (it.last_fetched_epoch >= 0) {
    check_divergence(*part, it);
    if (it.diverging || it.result.error != ErrorCode::NONE) return;
  }
  const size_t max_bytes = static_cast<size_t>(std::max(it.max_bytes, 0));
  // KIP-392: a consumer with a follower in its rack is sent there, with the
  // offsets and no records (Kafka skips the read).
  if (!it.same_rack.empty())
    if (auto replica = part->preferred_read_replica(it.same_rack, Offset(it.offset))) {
      it.result = offsets_of(*part);
      it.preferred_replica = replica->value;
      return;
    }
  if (!fetcher.follower()) {
    it.result = part->read(it.offset, max_bytes, true, it.read_committed);
    return;
  }
  // A throttled replica out of the ISR gets nothing while the leader's
  // replication rate is above its bound (Kafka's shouldLeaderThrottle).
  const auto* state = part->replica_state();
  const bool in_isr = state && std::find(state->isr().begin(), state->isr().end(), NodeId(fetcher.replica_id)) !=
                                   state->isr().end();
  if (it.throttled && !in_isr && fetcher.leader_quota->exceeded(now_ms)) {
    it.result = offsets_of(*part);
  } else {
    it.result = part->read_for_follower(it.offset, max_bytes);
  }
  if (it.result.error != ErrorCode::NONE) return;
  part->on_follower_fetch(replication::FollowerFetch{NodeId(fetcher.replica_id), Offset(it.offset),
                                                     Offset(it.replica_log_start), Offset(it.result.log_end_offset),
                                                     fetcher.broker_epoch, now_ms});
}

// Reads every item on its owning shard (shards in parallel); with a `waiter`,
// registers it with each partition read, in the same step (no append between).
asio::awaitable<void> read_all(RequestContext& ctx, std::vector<FetchItem>& items, Fetcher fetcher,
                               std::shared_ptr<replication::DelayedFetch> waiter) {
  Clock* clock = &ctx.broker->clock();
  auto read_item = [waiter, fetcher, clock](Partition* part, FetchItem& it) {
    read_one(part, it, fetcher, clock->now_ms());
    if (!part || it.result.error != ErrorCode::NONE || it.diverging || it.preferred_replica >= 0) return;
    if (waiter) {
      auto& res = it.result;
      part->add_fetch_waiter(waiter, {std::max<int64_t>(it.max_bytes, 0), static_cast<int64_t>(res.bytes),
                                      it.read_committed, res.last_stable_offset});
    }
  };
  auto op = for_each_partition(*ctx.broker, items, read_item);
  co_await std::move(op);
}

// ---- down-conversion (Fetch v0-3) ----
//
// Bytes read per partition for a legacy fetch: what one conversion may copy.
constexpr int32_t kLegacyMaxRead = 16 << 20;
// Largest legacy record set built for one partition; the first reservation is
// smaller (8x the bytes read covers the growth of uncompressed records), a
// batch that needs more is retried once with this.
constexpr size_t kLegacyMaxOutput = size_t{64} << 20;
constexpr size_t kLegacyFirstReservationMin = size_t{1} << 20;
// How long a fetch waits for response memory before it answers with fewer records.
constexpr std::chrono::milliseconds kBudgetWait{500};

struct Converted {
  protocol::Bytes bytes;
  ErrorCode error = ErrorCode::NONE;
};

// Runs on a worker thread: reads the file ranges and converts them.
Converted convert_chunks(const std::vector<protocol::FileChunk>& chunks, size_t bytes, int8_t magic,
                         size_t max_output) {
  Converted c;
  protocol::Bytes raw(bytes);
  size_t pos = 0;
  for (auto& ch : chunks) {
    if (pos + ch.len > raw.size()) break;
    ssize_t n = ::pread(ch.fd, raw.data() + pos, ch.len, ch.pos);
    if (n != static_cast<ssize_t>(ch.len)) break;
    pos += ch.len;
  }
  raw.resize(pos);
  c.error = protocol::downconvert(raw, magic, c.bytes, protocol::kDefaultMaxDecompressed, max_output);
  return c;
}

// Down-converts one partition's read under a reservation of the response
// budget. Returns the reservation (shrunk to the bytes kept), or nullptr when
// no memory became free in time (the partition is answered without records).
asio::awaitable<std::shared_ptr<ResponseBudget::Reservation>> downconvert_item(
    replication::ReadOutcome& res, int8_t magic, protocol::Records& out) {
  auto& budget = ResponseBudget::global();
  size_t want = std::clamp(res.bytes * 8, kLegacyFirstReservationMin, kLegacyMaxOutput);
  for (;;) {
    auto acquiring = budget.acquire(want, kBudgetWait);
    auto reservation = co_await std::move(acquiring);
    if (!reservation) co_return nullptr;
    const auto* chunks = &res.chunks;
    size_t bytes = res.bytes;
    auto op = WorkerPool::shared().run([chunks, bytes, magic, want] {
      return convert_chunks(*chunks, bytes, magic, want);
    });
    Converted c = co_await std::move(op);
    if (c.error == ErrorCode::MESSAGE_TOO_LARGE && want < kLegacyMaxOutput) {
      want = kLegacyMaxOutput;
      continue;  // `reservation` is released here, before the larger one is sought
    }
    if (c.error != ErrorCode::NONE) {
      spdlog::warn("fetch: down-conversion to magic {} failed: {}", magic, error_name(c.error));
      co_return reservation;  // nothing kept: the destructor releases it
    }
    reservation->shrink_to(c.bytes.size());
    out.owned = std::move(c.bytes);
    co_return reservation;
  }
}

}  // namespace

asio::awaitable<net::Response> handle_fetch(RequestContext& ctx, protocol::Reader& r) {
  FetchRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  FetchResponse resp;
  Fetcher fetcher;
  fetcher.replica_id = ctx.api_version >= 15 ? req.replica_state.replica_id : req.replica_id;
  fetcher.broker_epoch = ctx.api_version >= 15 ? req.replica_state.replica_epoch : -1;
  fetcher.client_metadata = ctx.api_version >= 11 && !fetcher.follower();
  if (fetcher.follower() && ctx.broker->replication_quotas().leader.limited())
    fetcher.leader_quota = &ctx.broker->replication_quotas().leader;
  if (fetcher.client_metadata) fetcher.rack = req.rack_id;
  const bool by_id = ctx.api_version >= 13;
  auto image = ctx.shard->image;
  auto name_of = [&image](const protocol::Uuid& id) {
    const auto* t = image->find_topic(id);
    return t ? t->name : std::string();
  };

  // The session half (fetch_sessions.h): which partitions this fetch reads.
  SessionRequest sreq;
  sreq.session_id = ctx.api_version >= 7 ? req.session_id : 0;
  sreq.epoch = ctx.api_version >= 7 ? req.session_epoch : -1;
  sreq.uses_topic_ids = by_id;
  sreq.privileged = fetcher.follower();
  for (auto& t : req.topics) {
    const std::string name = by_id ? name_of(t.topic_id) : t.topic;
    for (auto& p : t.partitions) {
      auto& sp = sreq.partitions.emplace_back();
      sp.topic = name;
      sp.topic_id = t.topic_id;
      sp.partition = p.partition;
      sp.fetch_offset = p.fetch_offset;
      sp.max_bytes = p.partition_max_bytes;
      sp.current_leader_epoch = p.current_leader_epoch;
      sp.last_fetched_epoch = p.last_fetched_epoch;
      sp.log_start_offset = p.log_start_offset;
    }
  }
  for (auto& f : req.forgotten_topics_data)
    for (int32_t p : f.partitions) {
      auto& sp = sreq.forgotten.emplace_back();
      sp.topic = f.topic;
      sp.topic_id = f.topic_id;
      sp.partition = p;
    }
  SessionContext session;
  if (sreq.epoch < 0 && sreq.session_id == 0) {  // sessionless: the cache is not asked
    session.partitions = std::move(sreq.partitions);
  } else {
    session = ctx.broker->fetch_sessions().begin(std::move(sreq), ctx.broker->clock().now_ms());
  }
  if (session.error != ErrorCode::NONE) {  // answered at once, nothing read (Kafka's SessionErrorContext)
    resp.error_code = to_int(session.error);
    record_response_error(ctx.api_key, session.error);
    co_return make_response(ctx, resp);
  }
  if (session.mode == SessionMode::kIncremental && by_id)  // names as they are now (a topic may be recreated)
    for (auto& sp : session.partitions) sp.topic = name_of(sp.topic_id);

  // Authorization: a follower needs CLUSTER_ACTION on the cluster, a consumer
  // READ on each topic; a refused partition is answered at once, not read.
  std::vector<FetchItem> items;
  items.reserve(session.partitions.size());
  const bool follower_denied = fetcher.follower() && !authorized_cluster(ctx, AclOperation::CLUSTER_ACTION);
  const std::string* last_topic = nullptr;
  bool last_denied = false;
  for (auto& sp : session.partitions) {
    FetchItem it;
    it.tp = TopicPartition{sp.topic, sp.partition};
    it.offset = sp.fetch_offset;
    it.max_bytes = sp.max_bytes;
    // A follower copies the log as it is (Kafka ignores its isolation level).
    it.read_committed = ctx.api_version >= 4 && req.isolation_level == 1 && !fetcher.follower();
    it.current_leader_epoch = sp.current_leader_epoch;
    it.last_fetched_epoch = sp.last_fetched_epoch;
    it.replica_log_start = sp.log_start_offset;
    if (by_id && sp.topic.empty()) {
      it.routed = ErrorCode::UNKNOWN_TOPIC_ID;
    } else {
      if (!last_topic || *last_topic != sp.topic) {
        last_topic = &sp.topic;
        last_denied = follower_denied ||
                      (!fetcher.follower() && !authorized_topic(ctx, AclOperation::READ, sp.topic));
      }
      if (last_denied) it.routed = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
    }
    items.push_back(std::move(it));
  }
  // A partition another broker leads (or nobody) is answered without reading:
  // NOT_LEADER_OR_FOLLOWER, with the leader the client should go to (v12+).
  // KIP-392: a consumer with client metadata may read any replica here.
  const int32_t node = ctx.broker->node_id();
  const bool rack_aware =
      fetcher.client_metadata && !fetcher.rack.empty() && ctx.broker->settings().rack_aware_replica_selector;
  for (auto& it : items) {
    if (it.routed != ErrorCode::NONE) continue;
    it.routed = leader_error(*image, node, it.tp);
    if (fetcher.client_metadata && it.routed == ErrorCode::NOT_LEADER_OR_FOLLOWER) {
      const auto* p = find_partition(*image, it.tp);
      if (p && p->has_replica(node)) {
        it.routed = ErrorCode::NONE;
        it.on_follower = true;
      }
    } else if (rack_aware && it.routed == ErrorCode::NONE) {
      it.same_rack = replicas_in_rack(*image, it.tp, fetcher.rack);
    }
    // A follower must hold a replica of the partition (Kafka's getFollowerReplicaOrThrow).
    if (fetcher.follower() && it.routed == ErrorCode::NONE) {
      const auto* p = find_partition(*image, it.tp);
      const bool replica = p && fetcher.replica_id != ctx.broker->node_id() && p->has_replica(fetcher.replica_id);
      if (!replica) it.routed = ErrorCode::NOT_LEADER_OR_FOLLOWER;
      it.throttled = fetcher.leader_quota && replica_throttled(*image, it.tp, kLeaderThrottledReplicas, node);
    }
  }
  int32_t max_bytes = ctx.api_version >= 3 ? req.max_bytes : INT32_MAX;
  for (auto& it : items) it.max_bytes = std::min(it.max_bytes, max_bytes);
  if (ctx.api_version <= 3)
    for (auto& it : items) it.max_bytes = std::min(it.max_bytes, kLegacyMaxRead);
  // A consumer with a consumer_byte_rate quota takes at most what one quota
  // window allows (Kafka caps fetch.max.bytes the same way); followers have none.
  std::optional<QuotaCharge> charge;
  if (!fetcher.follower()) charge = quota_for(ctx, QuotaType::kFetch);
  if (charge) {
    const double cap = std::max(max_value_in_window(ctx, *charge), 1.0);
    if (cap < static_cast<double>(max_bytes)) max_bytes = static_cast<int32_t>(cap);
    for (auto& it : items) it.max_bytes = std::min(it.max_bytes, max_bytes);
  }

  // A refused partition is an error: answered at once (below), as Kafka does.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(req.max_wait_ms, 0));
  const int64_t min_bytes = std::max(req.min_bytes, 1);
  std::shared_ptr<replication::DelayedFetch> waiter;
  for (;;) {
    bool can_wait = std::chrono::steady_clock::now() < deadline;
    if (can_wait) waiter = std::make_shared<replication::DelayedFetch>(ctx.shard->io.get_executor(), min_bytes);
    auto reading = read_all(ctx, items, fetcher, waiter);
    co_await std::move(reading);
    size_t total = 0;
    bool any_error = false;
    for (auto& it : items) {
      total += it.result.bytes;
      // A diverging epoch is answered at once, as an error is (Kafka too).
      // So is a preferred read replica (Kafka's rule 6 of an immediate answer).
      any_error |= it.result.error != ErrorCode::NONE || it.diverging.has_value() || it.preferred_replica >= 0;
    }
    if (!can_wait || any_error || static_cast<int64_t>(total) >= min_bytes) break;
    auto waiting = waiter->wait_until(deadline);
    replication::note_waiting("Fetch", +1);
    bool woken = false;
    {
      WaitedTime remote(ctx);  // a long poll is not charged to the client's request quota
      woken = co_await std::move(waiting);
    }
    replication::note_waiting("Fetch", -1);
    if (!woken) {  // timed out: one last read below returns whatever is there
      waiter.reset();
      auto last = read_all(ctx, items, fetcher, nullptr);
      co_await std::move(last);
      break;
    }
  }

  // Assemble in request (or session) order under the response's max_bytes:
  // the first partition with data is returned whole even if larger (Kafka's rule).
  size_t budget = static_cast<size_t>(max_bytes);
  size_t used = 0;
  int64_t throttled_bytes = 0;  // sent for throttled replicas: recorded in the leader's replication rate
  bool first = true;
  std::vector<FetchResponse::PartitionData> answers(items.size());
  std::vector<PartitionAnswer> summaries(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto& it = items[i];
    auto& pr = answers[i];
    auto& res = it.result;
    pr.partition_index = it.tp.partition;
    pr.error_code = to_int(res.error);
    pr.high_watermark = res.high_watermark;
    pr.last_stable_offset = res.last_stable_offset;
    pr.log_start_offset = res.log_start_offset;
    pr.records = protocol::Records{};
    pr.preferred_read_replica = it.preferred_replica;
    if (it.diverging) {
      pr.diverging_epoch.epoch = it.diverging->epoch;
      pr.diverging_epoch.end_offset = it.diverging->end_offset;
    }
    if (ctx.api_version >= 4) pr.aborted_transactions = std::nullopt;
    if (ctx.api_version >= 4 && it.read_committed && !res.aborted.empty()) {
      auto& list = pr.aborted_transactions.emplace();
      for (auto& a : res.aborted) {
        auto& e = list.emplace_back();
        e.producer_id = a.producer_id;
        e.first_offset = a.first_offset;
      }
    }
    // KIP-951: where the leader is now, for a client that went to the wrong one (server/leader_hints.h).
    if (ctx.api_version >= 12) fill_current_leader(*image, it.tp, res.error, pr.current_leader);
    auto& sum = summaries[i];
    sum.high_watermark = res.high_watermark;
    sum.last_stable_offset = res.last_stable_offset;
    sum.log_start_offset = res.log_start_offset;
    sum.has_error = res.error != ErrorCode::NONE || it.diverging.has_value();
    sum.has_preferred_replica = it.preferred_replica >= 0;
    if (res.error != ErrorCode::NONE || res.bytes == 0) continue;
    if (!first && used + res.bytes > budget) continue;
    first = false;
    used += res.bytes;
    sum.has_records = true;
    if (it.throttled) throttled_bytes += static_cast<int64_t>(res.bytes);
    record_fetched(it.tp.topic, static_cast<int64_t>(res.bytes), fetcher.follower());
    if (ctx.api_version > 3) pr.records.chunks = std::move(res.chunks);
  }
  if (throttled_bytes > 0) fetcher.leader_quota->record(throttled_bytes, ctx.broker->clock().now_ms());
  // The answer: every partition, or (incremental) those with something new,
  // consecutive partitions of a topic under one topic entry.
  const bool incremental = session.mode == SessionMode::kIncremental;
  std::vector<FetchItem*> legacy;
  std::set<int32_t> leaders;  // named in current_leader: their endpoints go in node_endpoints (v16+)
  for (size_t i = 0; i < items.size(); ++i) {
    auto& it = items[i];
    if (incremental && !must_respond(session.partitions[i], summaries[i])) continue;
    record_response_error(ctx.api_key, it.result.error);
    const auto& sp = session.partitions[i];
    if (resp.responses.empty() || (by_id ? resp.responses.back().topic_id != sp.topic_id
                                         : resp.responses.back().topic != sp.topic)) {
      auto& tr = resp.responses.emplace_back();
      tr.topic = sp.topic;
      tr.topic_id = sp.topic_id;
    }
    auto& tr = resp.responses.back();
    it.topic_index = resp.responses.size() - 1;
    it.partition_index = tr.partitions.size();
    if (answers[i].current_leader.leader_id >= 0) leaders.insert(answers[i].current_leader.leader_id);
    tr.partitions.push_back(std::move(answers[i]));
    if (ctx.api_version <= 3 && summaries[i].has_records) legacy.push_back(&it);
  }
  if (ctx.api_version >= 16) fill_leader_endpoints(ctx, *image, leaders, resp.node_endpoints);
  // Client quota (consumer_byte_rate): over it, the answer carries no data,
  // only the throttle time, and the bytes are taken back (Kafka's rule).
  int32_t throttle = 0;
  if (charge) {
    auto recording = record_quota(ctx, *charge, static_cast<double>(used));
    throttle = co_await std::move(recording);
    if (throttle > 0) {
      auto unrecording = unrecord_quota(ctx, std::move(*charge), static_cast<double>(used));
      co_await std::move(unrecording);
      resp.responses.clear();
      resp.node_endpoints.clear();
      legacy.clear();
      resp.throttle_time_ms = throttle;
    }
  }
  // The session keeps what was answered; a throttled answer (nothing sent)
  // changes nothing, and creates no session.
  if (throttle == 0 && session.mode == SessionMode::kFull) {
    for (size_t i = 0; i < items.size(); ++i) {
      auto& sp = session.partitions[i];
      sp.high_watermark = summaries[i].high_watermark;
      sp.last_stable_offset = summaries[i].last_stable_offset;
      sp.answered_log_start = summaries[i].log_start_offset;
    }
    resp.session_id = ctx.broker->fetch_sessions().create(fetcher.follower(), by_id, std::move(session.partitions),
                                                          ctx.broker->clock().now_ms());
  } else if (incremental) {
    resp.session_id = session.session_id;
    if (throttle == 0) {
      std::vector<std::pair<SessionPartition, PartitionAnswer>> answered;
      for (size_t i = 0; i < items.size(); ++i)
        if (must_respond(session.partitions[i], summaries[i]))
          answered.emplace_back(std::move(session.partitions[i]), summaries[i]);
      ctx.broker->fetch_sessions().record(session.session_id, answered);
    }
  }
  // Down-convert for clients that only understand magic 0/1, in request order;
  // once the response budget is exhausted the rest is answered without records.
  auto holds = std::make_shared<std::vector<std::shared_ptr<ResponseBudget::Reservation>>>();
  int8_t magic = ctx.api_version >= 2 ? 1 : 0;
  for (FetchItem* it : legacy) {
    auto& pr = resp.responses[it->topic_index].partitions[it->partition_index];
    auto converting = downconvert_item(it->result, magic, pr.records);
    auto reservation = co_await std::move(converting);
    if (!reservation) break;
    holds->push_back(std::move(reservation));
  }
  auto response = make_response(ctx, resp);
  if (!holds->empty()) response.keepalive = std::move(holds);
  response.throttle_ms = throttle;
  response.throttle_before_send = ctx.api_version < kFetchKip219Version;
  co_return response;
}

// Made on first use, with max.incremental.fetch.session.cache.slots (read-only).
FetchSessionCache& Broker::fetch_sessions() {
  std::call_once(fetch_sessions_once_, [this] {
    int64_t slots = 1000;
    if (settings_.config)
      if (auto v = settings_.config->get_int("max.incremental.fetch.session.cache.slots")) slots = *v;
    fetch_sessions_ = std::make_shared<FetchSessionCache>(static_cast<size_t>(std::max<int64_t>(slots, 0)));
  });
  return *fetch_sessions_;
}

}  // namespace samsa::server
