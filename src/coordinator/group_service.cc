#include "coordinator/group_service.h"

#include <spdlog/spdlog.h>

#include <map>

#include "coordinator/consumer_group_records.h"
#include "coordinator/placement.h"
#include "protocol/batch_header.h"
#include "protocol/record_batch.h"
#include "storage/log.h"

namespace samsa::coordinator {

namespace {

KeyValue group_kv(const std::string& group, const std::optional<GroupMetadataValue>& v) {
  KeyValue kv{encode_group_key({group}), std::nullopt};
  if (v) kv.second = encode_group_value(*v);
  return kv;
}

}  // namespace

GroupService::GroupService(asio::io_context& io, GroupCoordinator& groups, PartitionWriter& writer, const Clock& clock,
                           PartitionCount partitions)
    : io_(io), groups_(groups), writer_(writer), clock_(clock), partitions_(std::move(partitions)) {}

std::optional<TopicPartition> GroupService::offsets_partition(const std::string& group) const {
  int32_t n = partitions_(kOffsetsTopic);
  if (n <= 0) return std::nullopt;
  return TopicPartition{kOffsetsTopic, offsets_partition_for(group, n)};
}

void GroupService::start(int64_t retention_ms, int64_t check_interval_ms) {
  GroupPersistence p;
  p.write_group = [this](const std::string& group) {
    asio::co_spawn(io_, write_group_record(group), asio::detached);
  };
  p.write_consumer_group = [this](const std::string& group) {
    asio::co_spawn(io_, write_consumer_group(group), asio::detached);
  };
  p.expire = [this](std::vector<ExpiredOffsets> expired) {
    asio::co_spawn(io_, expire_offsets(std::move(expired)), asio::detached);
  };
  p.retention_ms = retention_ms;
  p.check_interval_ms = check_interval_ms;
  groups_.set_persistence(std::move(p));
}

// The record is taken when the coroutine starts (before its first
// suspension), so records reach the log in the order the states were reached.
asio::awaitable<ErrorCode> GroupService::write_group_record(std::string group) {
  auto tp = offsets_partition(group);
  if (!tp) co_return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  auto record = groups_.group_record(group);
  if (!record) co_return ErrorCode::NONE;  // the group died meanwhile: its tombstone is written by who killed it
  std::vector<KeyValue> kvs{group_kv(group, record)};
  auto op = append_records(writer_, served_, *tp, kvs, clock_.now_ms());
  auto err = co_await std::move(op);
  if (err != ErrorCode::NONE) spdlog::warn("writing the metadata of group {} failed: {}", group, error_name(err));
  co_return err;
}

// A KIP-848 group's records (all of them: compaction keeps the latest), taken
// before the first suspension so that writes reach the log in order. A
// heartbeat that changed the group waits for them (persist_consumer_group);
// changes made otherwise (session expiry on the tick) are written by the tick.
asio::awaitable<ErrorCode> GroupService::persist_consumer_group(std::string group) {
  const bool changed = groups_.take_consumer_change(group);
  if (!changed && !groups_.conversion_due(group)) co_return ErrorCode::NONE;
  auto op = write_consumer_group(std::move(group));
  co_return co_await std::move(op);
}

// An online conversion (KIP-848 migration) writes both types in one batch, so a
// replay never sees the group as both or neither: an upgrade tombstones the
// classic group's record before the consumer group's records, a downgrade
// tombstones every consumer group record before the classic group's record.
asio::awaitable<std::pair<ErrorCode, std::vector<LeaveOutcome>>> GroupService::leave_group(
    TopicPartition tp, std::string group, std::vector<LeaveOutcome> leaving) {
  if (auto err = served_.check(tp); err != ErrorCode::NONE) co_return std::make_pair(err, std::move(leaving));
  auto* cg = groups_.find_consumer(group);
  auto* g = cg ? nullptr : groups_.find(group);
  for (auto& l : leaving)
    l.error = cg  ? cg->classic_leave(l.member_id, l.group_instance_id)
              : g ? g->leave(l.member_id, l.group_instance_id, groups_.now())
                  : ErrorCode::UNKNOWN_MEMBER_ID;
  ErrorCode err = ErrorCode::NONE;
  if (cg) {
    auto op = persist_consumer_group(group);
    err = co_await std::move(op);
    if (err != ErrorCode::NONE && err != ErrorCode::NOT_COORDINATOR) err = ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  co_return std::make_pair(err, std::move(leaving));
}

void GroupService::after_consumer_records(const std::string& group, std::function<void(ErrorCode)> done) {
  auto write = [](GroupService& self, std::string group, std::function<void(ErrorCode)> done) -> asio::awaitable<void> {
    auto op = self.persist_consumer_group(std::move(group));
    done(co_await std::move(op));
  };
  asio::co_spawn(io_, write(*this, group, std::move(done)), asio::detached);
}

asio::awaitable<ErrorCode> GroupService::write_consumer_group(std::string group) {
  auto tp = offsets_partition(group);
  if (!tp) co_return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  auto* g = groups_.find_consumer(group);
  const bool conversion = groups_.take_conversion(group);
  if (!g && !conversion) co_return ErrorCode::NONE;
  auto& written = consumer_members_written_[group];
  std::vector<KeyValue> kvs;
  if (g && conversion) kvs.push_back(group_kv(group, std::nullopt));
  auto records = g ? consumer_group_records(*g, written) : consumer_group_tombstones(group, written);
  for (auto& r : records) kvs.emplace_back(std::move(r.key), std::move(r.value));
  if (!g) kvs.push_back(group_kv(group, groups_.group_record(group)));
  std::set<std::string> before = std::move(written);  // members whose records the log may hold
  written.clear();
  if (g)
    for (auto& [id, _] : g->members()) written.insert(id);
  else
    consumer_members_written_.erase(group);
  auto op = append_records(writer_, served_, *tp, kvs, clock_.now_ms());
  auto err = co_await std::move(op);
  if (err != ErrorCode::NONE) {
    spdlog::warn("writing the records of consumer group {} failed: {}", group, error_name(err));
    groups_.consumer_write_failed(group);  // written again by the next tick ...
    if (conversion) groups_.conversion_write_failed(group);
    if (groups_.find_consumer(group) || conversion) {  // ... with the tombstones of the members gone meanwhile
      auto& again = consumer_members_written_[group];
      again.insert(before.begin(), before.end());
    }
  }
  co_return err;
}

// Tombstones for the expired offsets (and dead groups), one durable batch per
// __consumer_offsets partition; then the coordinator forgets them.
asio::awaitable<void> GroupService::expire_offsets(std::vector<ExpiredOffsets> expired) {
  std::map<TopicPartition, std::vector<const ExpiredOffsets*>> by_partition;
  for (auto& e : expired)
    if (auto tp = offsets_partition(e.group)) by_partition[*tp].push_back(&e);
  size_t offsets = 0, groups = 0;
  for (auto& [tp, list] : by_partition) {
    std::vector<KeyValue> kvs;
    for (auto* e : list) {
      for (auto& [topic, partition] : e->partitions) kvs.emplace_back(encode_offset_key({e->group, topic, partition}), std::nullopt);
      if (e->group_dead) kvs.push_back(group_kv(e->group, std::nullopt));
      if (e->group_dead && e->consumer_group)
        for (auto& r : consumer_group_tombstones(e->group, consumer_members_written_[e->group]))
          kvs.emplace_back(std::move(r.key), std::move(r.value));
    }
    auto op = append_records(writer_, served_, tp, kvs, clock_.now_ms());
    auto err = co_await std::move(op);
    if (err != ErrorCode::NONE) {
      spdlog::warn("expiring offsets in {} failed: {}", tp.to_string(), error_name(err));
      continue;  // they stay, and are found again at the next check
    }
    for (auto* e : list) {
      groups_.apply_expired(*e);
      if (e->consumer_group && e->group_dead && !groups_.find_consumer(e->group)) consumer_members_written_.erase(e->group);
      offsets += e->partitions.size();
      groups += e->group_dead ? 1 : 0;
    }
  }
  groups_.expiry_done();
  if (offsets || groups) spdlog::info("expired {} offset(s) and {} group(s)", offsets, groups);
}

void GroupService::reply_after_group_record(const std::string& group, SyncResult r,
                                            std::function<void(SyncResult)> done) {
  if (r.error != ErrorCode::NONE || !groups_.take_changed(group)) return done(std::move(r));
  auto write = [](GroupService& self, std::string group, SyncResult r,
                  std::function<void(SyncResult)> done) -> asio::awaitable<void> {
    auto op = self.write_group_record(group);
    auto err = co_await std::move(op);
    if (err != ErrorCode::NONE) {
      r = SyncResult{};
      const bool keep = err == ErrorCode::COORDINATOR_LOAD_IN_PROGRESS || err == ErrorCode::NOT_COORDINATOR;
      r.error = keep ? err : ErrorCode::COORDINATOR_NOT_AVAILABLE;
    }
    done(std::move(r));
  };
  asio::co_spawn(io_, write(*this, group, std::move(r), std::move(done)), asio::detached);
}

asio::awaitable<void> GroupService::commit_offsets(OffsetCommitWork& w) {
  auto set_all = [&w](ErrorCode e) {
    for (auto& i : w.items)
      if (i.error == ErrorCode::NONE) i.error = e;
  };
  if (auto err = served_.check(w.tp); err != ErrorCode::NONE) co_return set_all(err);
  auto* cg = groups_.find_consumer(w.group);
  // A KIP-848 group: the generation is the member epoch (OffsetCommit v9).
  if (cg) {
    if (auto err = cg->validate_commit(w.member_id, w.generation); err != ErrorCode::NONE) co_return set_all(err);
  }
  auto* g = cg ? nullptr : groups_.find(w.group);
  // No group: generation -1 creates one (a consumer without group management); any other
  // generation is from a group that no longer exists (Kafka's rule).
  if (!g && !cg && w.generation >= 0) co_return set_all(ErrorCode::ILLEGAL_GENERATION);
  if (!g && !cg) g = &groups_.get_or_create(w.group);
  if (auto err = g ? g->validate_commit(w.member_id, w.instance_id, w.generation) : ErrorCode::NONE;
      err != ErrorCode::NONE)
    co_return set_all(err);
  std::vector<KeyValue> kvs;
  for (auto& i : w.items) {
    if (i.error != ErrorCode::NONE) continue;
    kvs.emplace_back(encode_offset_key({w.group, i.topic, i.partition}), encode_offset_value(i.value));
  }
  if (kvs.empty()) co_return;
  auto append = append_records(writer_, served_, w.tp, kvs, clock_.now_ms());
  auto err = co_await std::move(append);
  if (err != ErrorCode::NONE) co_return set_all(err);
  for (auto& i : w.items)
    if (i.error == ErrorCode::NONE) groups_.apply_commit(w.group, i.topic, i.partition, i.value);
}

asio::awaitable<ErrorCode> GroupService::commit_txn_offsets(const TxnOffsetCommitWork& w) {
  if (auto err = served_.check(w.tp); err != ErrorCode::NONE) co_return err;
  // KIP-447: a producer that names its consumer's member (or generation) must
  // be current; a replaced static member is fenced. A KIP-848 group's member names its
  // member epoch as the generation: a stale one is ILLEGAL_GENERATION here (TxnOffsetCommit
  // has no STALE_MEMBER_EPOCH, Kafka's mapping).
  if (auto* cg = groups_.find_consumer(w.group)) {
    auto err = cg->validate_commit(w.member_id, w.generation);
    if (err == ErrorCode::STALE_MEMBER_EPOCH) err = ErrorCode::ILLEGAL_GENERATION;
    if (err != ErrorCode::NONE) co_return err;
  } else if (auto* g = groups_.find(w.group)) {
    auto err = g->validate_commit(w.member_id, w.instance_id, w.generation, /*transactional=*/true);
    if (err != ErrorCode::NONE) co_return err;
  } else if (w.generation >= 0) {
    co_return ErrorCode::ILLEGAL_GENERATION;
  }
  std::vector<KeyValue> kvs;
  for (auto& i : w.items) kvs.emplace_back(encode_offset_key({w.group, i.topic, i.partition}), encode_offset_value(i.value));
  auto op = append_records(writer_, served_, w.tp, kvs, clock_.now_ms(), w.producer);
  auto err = co_await std::move(op);
  if (err != ErrorCode::NONE) co_return err;
  for (auto& i : w.items)
    groups_.add_pending(w.producer.producer_id, w.tp.partition, w.group, i.topic, i.partition, i.value);
  co_return ErrorCode::NONE;
}

asio::awaitable<ErrorCode> GroupService::delete_group(const TopicPartition& tp, const std::string& group) {
  if (auto err = served_.check(tp); err != ErrorCode::NONE) co_return err;
  auto* cg = groups_.find_consumer(group);
  if (cg && !cg->empty()) co_return ErrorCode::NON_EMPTY_GROUP;
  auto* g = groups_.find(group);
  if (!cg && (!g || g->state() == GroupState::Dead)) co_return ErrorCode::GROUP_ID_NOT_FOUND;
  if (!cg && g->state() != GroupState::Empty) co_return ErrorCode::NON_EMPTY_GROUP;
  std::vector<KeyValue> kvs;
  if (auto* offsets = groups_.offsets(group))
    for (auto& [key, _] : *offsets) kvs.emplace_back(encode_offset_key({group, key.first, key.second}), std::nullopt);
  kvs.emplace_back(encode_group_key({group}), std::nullopt);
  if (cg) {
    std::set<std::string> members = consumer_members_written_[group];
    for (auto& r : consumer_group_tombstones(group, members)) kvs.emplace_back(std::move(r.key), std::move(r.value));
    consumer_members_written_.erase(group);
  }
  auto append = append_records(writer_, served_, tp, kvs, clock_.now_ms());
  auto err = co_await std::move(append);
  if (err != ErrorCode::NONE) co_return err;
  co_return groups_.delete_group(group);  // NON_EMPTY_GROUP if somebody joined meanwhile: the tombstones stand anyway
}

asio::awaitable<void> GroupService::delete_offsets(OffsetDeleteWork& w) {
  if (auto err = served_.check(w.tp); err != ErrorCode::NONE) co_return (void)(w.error = err);
  auto* g = groups_.find(w.group);
  if (!g || g->state() == GroupState::Dead) co_return (void)(w.error = ErrorCode::GROUP_ID_NOT_FOUND);
  std::vector<KeyValue> kvs;
  for (auto& [topic, partition, err] : w.items) {
    if (err != ErrorCode::NONE) continue;
    if (g->subscribed_to(topic)) {
      err = ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC;
      continue;
    }
    kvs.emplace_back(encode_offset_key({w.group, topic, partition}), std::nullopt);
  }
  auto append = append_records(writer_, served_, w.tp, kvs, clock_.now_ms());
  auto err = co_await std::move(append);
  if (err != ErrorCode::NONE) co_return (void)(w.error = err);
  for (auto& [topic, partition, e] : w.items)
    if (e == ErrorCode::NONE) groups_.apply_delete(w.group, topic, partition);
}

// ---- leadership and replay ----------------------------------------------------------

bool GroupService::begin_load(const TopicPartition& tp, Epoch epoch) {
  if (!served_.begin_load(tp, epoch)) return false;
  drop_groups_of(tp);  // a follower's log may have changed under the old state
  return true;
}

void GroupService::unload_partition(const TopicPartition& tp) {
  if (!served_.remove(tp)) return;
  drop_groups_of(tp);
  spdlog::info("unloaded the groups of {}", tp.to_string());
}

void GroupService::drop_groups_of(const TopicPartition& tp) {
  groups_.unload([this, &tp](const std::string& group) { return offsets_partition(group) == tp; }, tp.partition);
}

ErrorCode GroupService::load_partition(const TopicPartition& tp, Epoch epoch) {
  if (!served_.loading(tp, epoch) && !begin_load(tp, epoch)) return ErrorCode::NONE;  // superseded
  const int32_t partition = tp.partition;
  size_t records = 0, groups = 0;
  auto err = writer_.replay(tp, [&](std::span<const uint8_t> b) {
    protocol::RecordIterator it;
    if (it.open(b) != ErrorCode::NONE) return;
    const auto h = it.header();
    if (h.is_control()) {
      // A transaction marker: its TxnOffsetCommit records become visible or go.
      auto m = storage::marker_of(b);
      if (m != storage::TxnMarker::none) groups_.complete_txn(h.producer_id, partition, m == storage::TxnMarker::commit);
      return;
    }
    protocol::RecordView rv;
    while (it.next(rv)) {
      if (!rv.key) continue;
      auto key = decode_key(*rv.key);
      if (!key) {
        // KIP-848 consumer group records (types 3-8).
        if (auto ck = decode_consumer_key(*rv.key)) {
          ++groups;
          if (ck->type == 3 && !rv.value) {
            groups_.erase_consumer(ck->group);
            consumer_members_written_.erase(ck->group);
            continue;
          }
          // An upgraded group's classic record was tombstoned; a bare holder of its offsets gives way.
          if (rv.value) groups_.erase_empty_classic(ck->group);
          auto& cg = groups_.get_or_create_consumer(ck->group);
          std::optional<std::span<const uint8_t>> value;
          if (rv.value) value = *rv.value;
          if (!apply_consumer_record(cg, *ck, value, clock_.now_ms()))
            spdlog::warn("{}: unreadable record (type {}) of consumer group {}", tp.to_string(), ck->type, ck->group);
          auto& written = consumer_members_written_[ck->group];
          if (ck->type == 5) {
            if (rv.value) written.insert(ck->member);
            else written.erase(ck->member);
          }
        }
        continue;
      }
      if (auto* gk = std::get_if<GroupKey>(&*key)) {
        ++groups;
        if (!rv.value) {
          groups_.apply_group_record(gk->group, std::nullopt);
        } else if (auto v = decode_group_value(*rv.value)) {
          groups_.apply_group_record(gk->group, *v);
        } else {
          spdlog::warn("{}: unreadable metadata record of group {}", tp.to_string(), gk->group);
        }
        continue;
      }
      auto* ok = std::get_if<OffsetKey>(&*key);
      if (!ok) continue;
      ++records;
      if (!rv.value) {
        groups_.apply_delete(ok->group, ok->topic, ok->partition);
      } else if (auto v = decode_offset_value(*rv.value)) {
        if (h.is_transactional())
          groups_.add_pending(h.producer_id, partition, ok->group, ok->topic, ok->partition, *v);
        else
          groups_.apply_commit(ok->group, ok->topic, ok->partition, *v);
      }
    }
  });
  if (err != ErrorCode::NONE) return err;  // stays loading: COORDINATOR_LOAD_IN_PROGRESS
  served_.complete_load(tp, epoch);
  spdlog::info("loaded {} offset record(s) and {} group record(s) from {} at leader epoch {}", records, groups,
               tp.to_string(), epoch.value);
  return err;
}

}  // namespace samsa::coordinator
