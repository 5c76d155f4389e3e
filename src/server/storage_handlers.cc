// DeleteRecords (key 21): raises partitions' log start offsets on their owner
// shards (-1 = the high watermark); the segments below it go at the next
// retention check. DescribeLogDirs (key 35): each log dir with the partitions
// it holds, their sizes and offset lags, the copies of replicas moving into it
// (is_future_key), and (v4) the file system's total and usable bytes.
// AlterReplicaLogDirs (key 34): moves replicas between this broker's log dirs
// (replication/log_dir_moves.h); the answer comes when each move has started.
#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <set>

#include "protocol/messages/alter_replica_log_dirs.h"
#include "protocol/messages/delete_records.h"
#include "protocol/messages/describe_log_dirs.h"
#include "server/authz.h"
#include "server/broker.h"
#include "server/handlers.h"
#include "server/fan_out.h"
#include "replication/partition.h"
#include "replication/replica_manager.h"
#include "server/shard.h"
#include "storage/log_manager.h"

namespace samsa::server {

namespace {

constexpr int64_t kHighWatermark = -1;

struct Deletion {
  TopicPartition tp;
  int64_t offset = 0;
  ErrorCode error = ErrorCode::NONE;
  int64_t low_watermark = -1;
  size_t ti = 0, pi = 0;
};

// On the owner shard.
void delete_records(Partition& p, Deletion& d) {
  const int64_t hw = p.high_watermark().value;
  int64_t target = d.offset == kHighWatermark ? hw : d.offset;
  if (target < 0 || target > hw) {
    d.error = ErrorCode::OFFSET_OUT_OF_RANGE;
    d.low_watermark = p.log_start_offset().value;
    return;
  }
  auto& log = p.log();
  if (p.offline() || log.closed()) {
    d.error = ErrorCode::KAFKA_STORAGE_ERROR;
    return;
  }
  auto st = log.maybe_increment_log_start_offset(target, hw);
  d.error = st ? ErrorCode::NONE : ErrorCode::OFFSET_OUT_OF_RANGE;
  d.low_watermark = p.log_start_offset().value;
}

struct SizeQuery {
  TopicPartition tp;
  bool found = false;
  int64_t size = 0;
  int64_t lag = 0;  // offsetLag
  std::optional<replication::LogDirMoves::Progress> future;  // a copy moving into another dir
};

struct DirMove {
  TopicPartition tp;
  size_t dir = 0;
  ErrorCode error = ErrorCode::NONE;
};

}  // namespace

asio::awaitable<net::Response> handle_delete_records(RequestContext& ctx, protocol::Reader& r) {
  protocol::DeleteRecordsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  std::vector<Deletion> work;
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    const bool denied = !authorized_topic(ctx, AclOperation::DELETE, req.topics[ti].name);
    for (size_t pi = 0; pi < req.topics[ti].partitions.size(); ++pi) {
      auto& p = req.topics[ti].partitions[pi];
      Deletion d;
      d.tp = TopicPartition{req.topics[ti].name, p.partition_index};
      d.offset = p.offset;
      d.ti = ti;
      d.pi = pi;
      if (denied) d.error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
      work.push_back(std::move(d));
    }
  }
  auto apply = [](Partition* p, Deletion& d) {
    if (d.error != ErrorCode::NONE) return;  // refused
    if (p) delete_records(*p, d);
    else d.error = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  };
  auto op = for_each_partition(*ctx.broker, work, apply);
  co_await std::move(op);
  protocol::DeleteRecordsResponse resp;
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    tr.partitions.resize(t.partitions.size());
  }
  for (auto& d : work) {
    auto& pr = resp.topics[d.ti].partitions[d.pi];
    pr.partition_index = d.tp.partition;
    pr.low_watermark = d.low_watermark;
    pr.error_code = to_int(d.error);
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_describe_log_dirs(RequestContext& ctx, protocol::Reader& r) {
  protocol::DescribeLogDirsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  if (!authorized_cluster(ctx, AclOperation::DESCRIBE)) {  // Kafka: no dirs, and the error from v3 on
    protocol::DescribeLogDirsResponse denied;
    denied.error_code = to_int(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    co_return make_response(ctx, denied);
  }
  auto& manager = ctx.broker->log_manager();
  // A null topic list asks for everything; otherwise only the named partitions.
  std::set<TopicPartition> wanted;
  if (req.topics)
    for (auto& t : *req.topics)
      for (int32_t p : t.partitions) wanted.insert(TopicPartition{t.topic, p});
  auto on_disk = manager.partitions();
  std::vector<SizeQuery> work;
  for (auto& [tp, path] : on_disk) {
    if (req.topics && !wanted.count(tp)) continue;
    work.push_back(SizeQuery{tp});
  }
  // Kafka's offsetLag of a current (not future) replica: how far its log end
  // is below its high watermark, max(HW - LEO, 0) — on a leader always 0 (its
  // HW never passes its log end), on a follower as far as the HW it learned
  // from its leader is ahead of what it has; -1 for an offline log.
  // A future copy's: how far its log end is below the current replica's.
  auto measure = [](Shard& shard, std::vector<SizeQuery*>& group) {
    for (auto* q : group) {
      Partition* p = shard.find(q->tp);
      if (!p) continue;
      q->found = true;
      q->size = static_cast<int64_t>(p->log().size_bytes());
      q->lag = p->offline() ? -1 : std::max<int64_t>(p->high_watermark().value - p->log_end_offset().value, 0);
      q->future = shard.replicas->log_dir_moves().progress(q->tp);
    }
  };
  auto op = fan_out(*ctx.broker, work, measure);
  co_await std::move(op);

  protocol::DescribeLogDirsResponse resp;
  const auto& dirs = manager.log_dirs();
  for (auto& dir : dirs) {
    auto& res = resp.results.emplace_back();
    res.log_dir = dir.path;
    res.error_code = to_int(dir.online ? ErrorCode::NONE : ErrorCode::KAFKA_STORAGE_ERROR);
    if (!dir.online) continue;
    struct statvfs vfs {};
    if (::statvfs(dir.path.c_str(), &vfs) == 0) {
      res.total_bytes = static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize);
      res.usable_bytes = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
    }
    const std::string prefix = dir.path + "/";
    std::map<std::string, std::vector<protocol::DescribeLogDirsResponse::DescribeLogDirsPartition>> by_topic;
    for (auto& q : work) {
      if (!q.found) continue;  // e.g. a partition this shard has not opened yet
      auto it = on_disk.find(q.tp);
      if (it == on_disk.end() || it->second.compare(0, prefix.size(), prefix) != 0) continue;
      auto& pp = by_topic[q.tp.topic].emplace_back();
      pp.partition_index = q.tp.partition;
      pp.partition_size = q.size;
      pp.offset_lag = q.lag;
      pp.is_future_key = false;
    }
    for (auto& q : work) {
      if (!q.future || q.future->dir != dir.path) continue;
      auto& pp = by_topic[q.tp.topic].emplace_back();
      pp.partition_index = q.tp.partition;
      pp.partition_size = q.future->size_bytes;
      pp.offset_lag = q.future->lag;
      pp.is_future_key = true;
    }
    for (auto& [name, parts] : by_topic) {
      auto& t = res.topics.emplace_back();
      t.name = name;
      t.partitions = std::move(parts);
    }
  }
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_alter_replica_log_dirs(RequestContext& ctx, protocol::Reader& r) {
  protocol::AlterReplicaLogDirsRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return net::Response{{}, false, true};
  const bool allowed = authorized_cluster(ctx, AclOperation::ALTER);
  auto& manager = ctx.broker->log_manager();
  const auto dirs = manager.log_dirs();
  // A partition named twice goes where it is named last (Kafka builds a map).
  std::map<TopicPartition, ErrorCode> answers;
  std::map<TopicPartition, size_t> targets;
  for (auto& d : req.dirs) {
    auto index = manager.dir_index(d.path);
    ErrorCode error = ErrorCode::NONE;
    if (!allowed) {
      error = ErrorCode::CLUSTER_AUTHORIZATION_FAILED;
    } else if (!index) {
      error = ErrorCode::LOG_DIR_NOT_FOUND;
    } else if (!dirs[*index].online) {
      error = ErrorCode::KAFKA_STORAGE_ERROR;
    }
    for (auto& t : d.topics) {
      for (int32_t p : t.partitions) {
        TopicPartition tp{t.name, p};
        answers[tp] = error;
        if (error == ErrorCode::NONE) {
          targets[tp] = *index;
        } else {
          targets.erase(tp);
        }
      }
    }
  }
  std::vector<DirMove> work;
  for (auto& [tp, dir] : targets) work.push_back(DirMove{tp, dir});
  // A replica not on this broker (yet) answers REPLICA_NOT_AVAILABLE: Kafka's
  // reassignment tool asks again until it is there.
  auto start = [](Shard& shard, std::vector<DirMove*>& group) {
    auto& moves = shard.replicas->log_dir_moves();
    for (auto* m : group) {
      Partition* p = shard.find(m->tp);
      if (p == nullptr) {
        m->error = ErrorCode::REPLICA_NOT_AVAILABLE;
        continue;
      }
      bool started = false;
      m->error = moves.request(*p, m->dir, &started);
      if (started) asio::co_spawn(shard.io, moves.run(m->tp), asio::detached);
    }
  };
  auto op = fan_out(*ctx.broker, work, start);
  co_await std::move(op);
  for (auto& m : work) answers[m.tp] = m.error;

  protocol::AlterReplicaLogDirsResponse resp;
  std::map<std::string, size_t> by_topic;
  for (auto& [tp, error] : answers) {
    auto [it, fresh] = by_topic.try_emplace(tp.topic, resp.results.size());
    if (fresh) resp.results.emplace_back().topic_name = tp.topic;
    auto& pr = resp.results[it->second].partitions.emplace_back();
    pr.partition_index = tp.partition;
    pr.error_code = to_int(error);
  }
  co_return make_response(ctx, resp);
}

}  // namespace samsa::server
