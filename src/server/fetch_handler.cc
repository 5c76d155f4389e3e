// Fetch (key 1). Each partition is read on its owning shard, which answers with
// file ranges; the response is sent with sendfile() (zero copy). When less than
// min_bytes is available the fetch waits (long poll) in the waiting rooms of its
// partitions (replication/delayed_fetch.h): appends credit it their bytes, and
// it reads again only once they add up to min_bytes, or max_wait_ms passes. Fetch v0-3 clients get batches down-converted to the
// legacy message format they understand (the only path that copies): the
// conversion runs on the worker pool, and the response it builds holds a
// reservation of the global ResponseBudget until it has been written.
#include <spdlog/spdlog.h>

#include "protocol/legacy.h"
#include "protocol/messages/fetch.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/broker_metrics.h"
#include "server/handlers.h"
#include "server/fan_out.h"
#include "replication/flusher.h"
#include "replication/partition.h"
#include "server/response_budget.h"
#include "server/worker_pool.h"

namespace samsa::server {

namespace {

using protocol::FetchRequest;
using protocol::FetchResponse;

struct FetchItem {
  TopicPartition tp;
  int64_t offset = 0;
  int32_t max_bytes = 0;
  bool read_committed = false;
  ErrorCode routed = ErrorCode::NONE;  // led elsewhere or unknown: not read
  replication::ReadOutcome result;
  size_t topic_index = 0;
  size_t partition_index = 0;
};

// Reads every item on its owning shard (shards in parallel); with a `waiter`,
// registers it with each partition read, in the same step (no append between).
asio::awaitable<void> read_all(RequestContext& ctx, std::vector<FetchItem>& items,
                               std::shared_ptr<replication::DelayedFetch> waiter) {
  auto read_one = [waiter](Partition* part, FetchItem& it) {
    if (!part || it.routed != ErrorCode::NONE) {
      it.result = replication::ReadOutcome{};
      it.result.error = it.routed != ErrorCode::NONE ? it.routed : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      return;
    }
    it.result = part->read(it.offset, static_cast<size_t>(std::max(it.max_bytes, 0)), true, it.read_committed);
    if (waiter) {
      auto& res = it.result;
      part->add_fetch_waiter(waiter, {std::max<int64_t>(it.max_bytes, 0), static_cast<int64_t>(res.bytes),
                                      it.read_committed, res.last_stable_offset});
    }
  };
  auto op = for_each_partition(*ctx.broker, items, read_one);
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
  std::vector<FetchItem> items;
  // Authorization: a follower needs CLUSTER_ACTION on the cluster, a consumer
  // READ on each topic; a refused partition is answered at once, not read.
  const bool follower_denied = req.replica_id >= 0 && !authorized_cluster(ctx, AclOperation::CLUSTER_ACTION);
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    auto& t = req.topics[ti];
    auto& tr = resp.responses.emplace_back();
    tr.topic = t.topic;
    const bool denied = follower_denied || (req.replica_id < 0 && !authorized_topic(ctx, AclOperation::READ, t.topic));
    for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& p = t.partitions[pi];
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition;
      if (denied) {
        pr.error_code = to_int(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
        pr.high_watermark = -1;
        record_response_error(ctx.api_key, ErrorCode::TOPIC_AUTHORIZATION_FAILED);
        continue;
      }
      FetchItem it;
      it.tp = TopicPartition{t.topic, p.partition};
      it.offset = p.fetch_offset;
      it.max_bytes = p.partition_max_bytes;
      it.read_committed = ctx.api_version >= 4 && req.isolation_level == 1;
      it.topic_index = ti;
      it.partition_index = pi;
      items.push_back(std::move(it));
    }
  }
  // A partition another broker leads (or nobody) is answered without reading:
  // NOT_LEADER_OR_FOLLOWER, with the leader the client should go to (v12+).
  auto image = ctx.shard->image;
  for (auto& it : items) it.routed = leader_error(*image, ctx.broker->node_id(), it.tp);
  int32_t max_bytes = ctx.api_version >= 3 ? req.max_bytes : INT32_MAX;
  for (auto& it : items) it.max_bytes = std::min(it.max_bytes, max_bytes);
  if (ctx.api_version <= 3)
    for (auto& it : items) it.max_bytes = std::min(it.max_bytes, kLegacyMaxRead);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(req.max_wait_ms, 0));
  // Every partition refused: nothing to wait for (Kafka answers at once).
  if (items.empty() && !resp.responses.empty()) deadline = std::chrono::steady_clock::now();
  const int64_t min_bytes = std::max(req.min_bytes, 1);
  std::shared_ptr<replication::DelayedFetch> waiter;
  for (;;) {
    bool can_wait = std::chrono::steady_clock::now() < deadline;
    if (can_wait) waiter = std::make_shared<replication::DelayedFetch>(ctx.shard->io.get_executor(), min_bytes);
    auto reading = read_all(ctx, items, waiter);
    co_await std::move(reading);
    size_t total = 0;
    bool any_error = false;
    for (auto& it : items) {
      total += it.result.bytes;
      any_error |= it.result.error != ErrorCode::NONE;
    }
    if (!can_wait || any_error || static_cast<int64_t>(total) >= min_bytes) break;
    auto waiting = waiter->wait_until(deadline);
    replication::note_waiting("Fetch", +1);
    bool woken = co_await std::move(waiting);
    replication::note_waiting("Fetch", -1);
    if (!woken) {  // timed out: one last read below returns whatever is there
      waiter.reset();
      auto last = read_all(ctx, items, nullptr);
      co_await std::move(last);
      break;
    }
  }

  // Assemble in request order under the response's max_bytes: the first
  // partition with data is returned whole even if larger (Kafka's rule).
  size_t budget = static_cast<size_t>(max_bytes);
  size_t used = 0;
  bool first = true;
  std::vector<FetchItem*> legacy;
  for (auto& it : items) {
    auto& pr = resp.responses[it.topic_index].partitions[it.partition_index];
    auto& res = it.result;
    pr.error_code = to_int(res.error);
    pr.high_watermark = res.high_watermark;
    pr.last_stable_offset = res.last_stable_offset;
    pr.log_start_offset = res.log_start_offset;
    pr.records = protocol::Records{};
    if (ctx.api_version >= 4) pr.aborted_transactions = std::nullopt;
    if (ctx.api_version >= 4 && it.read_committed && !res.aborted.empty()) {
      auto& list = pr.aborted_transactions.emplace();
      for (auto& a : res.aborted) {
        auto& e = list.emplace_back();
        e.producer_id = a.producer_id;
        e.first_offset = a.first_offset;
      }
    }
    if (res.error == ErrorCode::NOT_LEADER_OR_FOLLOWER && ctx.api_version >= 12) {
      if (auto leader = current_leader(*image, it.tp)) {
        pr.current_leader.leader_id = leader->leader;
        pr.current_leader.leader_epoch = leader->epoch;
      }
    }
    record_response_error(ctx.api_key, res.error);
    if (res.error != ErrorCode::NONE || res.bytes == 0) continue;
    if (!first && used + res.bytes > budget) continue;
    first = false;
    used += res.bytes;
    record_fetched(it.tp.topic, static_cast<int64_t>(res.bytes), false);
    if (ctx.api_version <= 3) {
      legacy.push_back(&it);
    } else {
      pr.records.chunks = std::move(res.chunks);
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
  co_return response;
}

}  // namespace samsa::server
