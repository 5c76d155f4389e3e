// ListOffsets (key 2): earliest (-2), latest (-1), max timestamp (-3, v7+), earliest local
// (-4, v8+, KIP-405), latest tiered (-5, v9+, KIP-1005) and offset-by-timestamp, answered on
// the shard that owns each partition. Samsa has no tiered storage, so as Kafka answers for a
// topic without remote storage: -4 is the log start offset (the whole log is local) and -5 is
// offset -1 with leader epoch -1 (nothing tiered). v10's timeout_ms bounds remote lookups
// only: unused. A special timestamp the request's version does not know is answered
// UNSUPPORTED_VERSION (Kafka's isListOffsetsTimestampUnsupported), as is any other negative one.
#include <optional>

#include "protocol/messages/list_offsets.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/cluster_routing.h"
#include "server/handlers.h"
#include "server/fan_out.h"
#include "replication/partition.h"

namespace samsa::server {

namespace {
constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr int64_t kEarliestLocal = -4;
constexpr int64_t kLatestTiered = -5;

// The first version that knows special timestamp `ts` (< 0); nullopt: none does.
std::optional<int16_t> min_version_for(int64_t ts) {
  switch (ts) {
    case kLatest:
    case kEarliest: return 0;
    case kMaxTimestamp: return 7;
    case kEarliestLocal: return 8;
    case kLatestTiered: return 9;
    default: return std::nullopt;
  }
}

struct Lookup {
  TopicPartition tp;
  int64_t timestamp = 0;
  ErrorCode error = ErrorCode::NONE;
  int64_t offset = -1;
  int64_t found_timestamp = -1;
  int32_t leader_epoch = -1;
  bool read_committed = false;  // latest = the last stable offset
  size_t ti = 0, pi = 0;
};

void lookup(Partition& p, Lookup& l) {
  if (l.timestamp == kLatest) {
    l.offset = (l.read_committed ? p.last_stable_offset() : p.high_watermark()).value;
  } else if (l.timestamp == kEarliest || l.timestamp == kEarliestLocal) {
    l.offset = p.log_start_offset().value;
  } else if (l.timestamp == kLatestTiered) {
    l.offset = -1;  // nothing is tiered; Kafka answers leader epoch -1 too
    l.leader_epoch = -1;
    return;
  } else if (l.timestamp == kMaxTimestamp) {
    auto [ts, off] = p.max_timestamp_and_offset();
    l.found_timestamp = ts;
    l.offset = off;
  } else {
    auto r = p.offset_for_timestamp(l.timestamp);
    if (r) {
      l.offset = r->first;
      l.found_timestamp = r->second;
    }
  }
  // The partition's current leader epoch (as Kafka answers for its own
  // replica; -1 while it has no role yet).
  l.leader_epoch = p.leader_epoch().value;
}
}  // namespace

asio::awaitable<net::Response> handle_list_offsets(RequestContext& ctx, protocol::Reader& r) {
  protocol::ListOffsetsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  std::vector<Lookup> work, denied;  // denied: no DESCRIBE on the topic
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    const bool may_describe = authorized_topic(ctx, AclOperation::DESCRIBE, req.topics[ti].name);
    for (size_t pi = 0; pi < req.topics[ti].partitions.size(); ++pi) {
      auto& p = req.topics[ti].partitions[pi];
      if (!may_describe) {
        denied.push_back(Lookup{{req.topics[ti].name, p.partition_index}, p.timestamp,
                                ErrorCode::TOPIC_AUTHORIZATION_FAILED});
        denied.back().ti = ti;
        denied.back().pi = pi;
        continue;
      }
      work.push_back(Lookup{{req.topics[ti].name, p.partition_index}, p.timestamp});
      work.back().read_committed = ctx.api_version >= 2 && req.isolation_level == 1;
      work.back().error = leader_error(*ctx.shard->image, ctx.broker->node_id(), work.back().tp);
      if (p.timestamp < 0) {
        auto since = min_version_for(p.timestamp);
        if (!since || ctx.api_version < *since) work.back().error = ErrorCode::UNSUPPORTED_VERSION;
      }
      work.back().ti = ti;
      work.back().pi = pi;
    }
  }
  auto apply = [](Partition* p, Lookup& l) {
    if (l.error != ErrorCode::NONE) return;  // led elsewhere, or unknown
    if (p) lookup(*p, l);
    else l.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  };
  auto op = for_each_partition(*ctx.broker, work, apply);
  co_await std::move(op);
  protocol::ListOffsetsResponse resp;
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    tr.partitions.resize(t.partitions.size());
  }
  work.insert(work.end(), denied.begin(), denied.end());
  for (auto& l : work) {
    auto& pr = resp.topics[l.ti].partitions[l.pi];
    pr.partition_index = l.tp.partition;
    pr.error_code = to_int(l.error);
    pr.offset = l.offset;
    pr.timestamp = l.found_timestamp;
    pr.leader_epoch = l.leader_epoch;
    if (ctx.api_version == 0 && l.error == ErrorCode::NONE) pr.old_style_offsets = {l.offset};
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
