#include "server/group_persistence.h"

#include <spdlog/spdlog.h>

#include <map>

#include "coordinator/group_coordinator.h"
#include "coordinator/placement.h"
#include "protocol/batch_header.h"
#include "protocol/record_batch.h"
#include "server/broker.h"
#include "server/coordinator_io.h"
#include "server/handlers.h"
#include "replication/partition.h"

namespace samsa::server {

namespace {

using coordinator::kOffsetsTopic;

// The group's __consumer_offsets partition (always one this shard owns: the
// coordinator holds only such groups); nullopt before the topic exists.
std::optional<TopicPartition> offsets_tp(Shard& shard, const std::string& group) {
  auto* t = shard.image->find_topic(kOffsetsTopic);
  if (!t || t->partitions.empty()) return std::nullopt;
  return TopicPartition{kOffsetsTopic, coordinator::offsets_partition_for(group, static_cast<int32_t>(t->partitions.size()))};
}

KeyValue group_kv(const std::string& group, const std::optional<coordinator::GroupMetadataValue>& v) {
  KeyValue kv{coordinator::encode_group_key({group}), std::nullopt};
  if (v) kv.second = coordinator::encode_group_value(*v);
  return kv;
}

// The record is taken when the coroutine starts (before its first
// suspension), so records reach the log in the order the states were reached.
asio::awaitable<ErrorCode> write_group_record(Broker& broker, Shard& shard, std::string group) {
  auto tp = offsets_tp(shard, group);
  if (!tp) co_return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  auto record = broker.group_coordinator(shard.id).group_record(group);
  if (!record) co_return ErrorCode::NONE;  // the group died meanwhile: its tombstone is written by who killed it
  std::vector<KeyValue> kvs{group_kv(group, record)};
  auto op = append_durably(broker, shard, *tp, kvs);
  auto err = co_await std::move(op);
  if (err != ErrorCode::NONE) spdlog::warn("writing the metadata of group {} failed: {}", group, error_name(err));
  co_return err;
}

// Tombstones for the expired offsets (and dead groups), one durable batch per
// __consumer_offsets partition; then the coordinator forgets them.
asio::awaitable<void> expire_offsets(Broker& broker, Shard& shard, std::vector<coordinator::ExpiredOffsets> expired) {
  auto& c = broker.group_coordinator(shard.id);
  std::map<TopicPartition, std::vector<const coordinator::ExpiredOffsets*>> by_partition;
  for (auto& e : expired)
    if (auto tp = offsets_tp(shard, e.group)) by_partition[*tp].push_back(&e);
  size_t offsets = 0, groups = 0;
  for (auto& [tp, list] : by_partition) {
    std::vector<KeyValue> kvs;
    for (auto* e : list) {
      for (auto& [topic, partition] : e->partitions)
        kvs.emplace_back(coordinator::encode_offset_key({e->group, topic, partition}), std::nullopt);
      if (e->group_dead) kvs.push_back(group_kv(e->group, std::nullopt));
    }
    auto op = append_durably(broker, shard, tp, kvs);
    auto err = co_await std::move(op);
    if (err != ErrorCode::NONE) {
      spdlog::warn("expiring offsets in {} failed: {}", tp.to_string(), error_name(err));
      continue;  // they stay, and are found again at the next check
    }
    for (auto* e : list) {
      c.apply_expired(*e);
      offsets += e->partitions.size();
      groups += e->group_dead ? 1 : 0;
    }
  }
  c.expiry_done();
  if (offsets || groups) spdlog::info("expired {} offset(s) and {} group(s)", offsets, groups);
}

}  // namespace

void install_group_persistence(Broker& broker, Shard& shard) {
  coordinator::GroupPersistence p;
  p.write_group = [&broker, &shard](const std::string& group) {
    asio::co_spawn(shard.io.get_executor(), write_group_record(broker, shard, group), asio::detached);
  };
  p.expire = [&broker, &shard](std::vector<coordinator::ExpiredOffsets> expired) {
    asio::co_spawn(shard.io.get_executor(), expire_offsets(broker, shard, std::move(expired)), asio::detached);
  };
  if (auto cfg = broker.settings().config) {
    p.retention_ms = cfg->offsets_retention_ms();
    p.check_interval_ms = cfg->offsets_retention_check_interval_ms();
  }
  broker.group_coordinator(shard.id).set_persistence(std::move(p));
}

void reply_after_group_record(Broker& broker, int shard, const std::string& group, coordinator::SyncResult r,
                              std::function<void(coordinator::SyncResult)> done) {
  auto& c = broker.group_coordinator(shard);
  if (r.error != ErrorCode::NONE || !c.take_changed(group)) return done(std::move(r));
  Shard& s = broker.shard(shard);
  auto write = [](Broker& b, Shard& s, std::string group, coordinator::SyncResult r,
                  std::function<void(coordinator::SyncResult)> done) -> asio::awaitable<void> {
    auto op = write_group_record(b, s, group);
    auto err = co_await std::move(op);
    if (err != ErrorCode::NONE) {
      r = coordinator::SyncResult{};
      r.error = err == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS ? err : ErrorCode::COORDINATOR_NOT_AVAILABLE;
    }
    done(std::move(r));
  };
  asio::co_spawn(s.io.get_executor(), write(broker, s, group, std::move(r), std::move(done)), asio::detached);
}

// ---- replay -------------------------------------------------------------------------

// Rebuilds the committed offsets and groups of a __consumer_offsets partition
// this shard has just opened, by reading it from the start (later records win).
void load_offsets_partition(Broker& broker, Shard& shard, Partition& part) {
  auto& c = broker.group_coordinator(shard.id);
  const int32_t partition = part.tp().partition;
  size_t records = 0, groups = 0;
  for_each_batch(part, [&](std::span<const uint8_t> b) {
    protocol::RecordIterator it;
    if (it.open(b) != ErrorCode::NONE) return;
    const auto h = it.header();
    if (h.is_control()) {
      // A transaction marker: its TxnOffsetCommit records become visible or go.
      auto m = storage::marker_of(b);
      if (m != storage::TxnMarker::none) c.complete_txn(h.producer_id, partition, m == storage::TxnMarker::commit);
      return;
    }
    protocol::RecordView rv;
    while (it.next(rv)) {
      if (!rv.key) continue;
      auto key = coordinator::decode_key(*rv.key);
      if (!key) continue;
      if (auto* gk = std::get_if<coordinator::GroupKey>(&*key)) {
        ++groups;
        if (!rv.value) {
          c.apply_group_record(gk->group, std::nullopt);
        } else if (auto v = coordinator::decode_group_value(*rv.value)) {
          c.apply_group_record(gk->group, *v);
        } else {
          spdlog::warn("{}: unreadable metadata record of group {}", part.tp().to_string(), gk->group);
        }
        continue;
      }
      auto* ok = std::get_if<coordinator::OffsetKey>(&*key);
      if (!ok) continue;
      ++records;
      if (!rv.value) {
        c.apply_delete(ok->group, ok->topic, ok->partition);
      } else if (auto v = coordinator::decode_offset_value(*rv.value)) {
        if (h.is_transactional())
          c.add_pending(h.producer_id, partition, ok->group, ok->topic, ok->partition, *v);
        else
          c.apply_commit(ok->group, ok->topic, ok->partition, *v);
      }
    }
  });
  if (records || groups)
    spdlog::info("loaded {} offset record(s) and {} group record(s) from {}", records, groups, part.tp().to_string());
}

}  // namespace samsa::server
