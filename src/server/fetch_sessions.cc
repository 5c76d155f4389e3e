#include "server/fetch_sessions.h"

#include <algorithm>
#include <functional>


namespace samsa::server {

int32_t next_session_epoch(int32_t epoch) {
  if (epoch < 0) return -1;  // a sessionless fetch stays sessionless
  return epoch == INT32_MAX ? 1 : epoch + 1;
}

bool must_respond(const SessionPartition& cached, const PartitionAnswer& now) {
  return now.has_records || now.has_error || now.has_preferred_replica || now.high_watermark != cached.high_watermark ||
         now.last_stable_offset != cached.last_stable_offset || now.log_start_offset != cached.answered_log_start;
}

size_t FetchSessionCache::KeyHash::operator()(const Key& k) const noexcept {
  size_t h = std::hash<std::string>()(k.topic);
  for (uint8_t b : k.id) h = h * 131 + b;
  return h * 31 + std::hash<int32_t>()(k.partition);
}

FetchSessionCache::Key FetchSessionCache::key_of(const SessionPartition& p, bool uses_topic_ids) {
  Key k;
  if (uses_topic_ids) {
    k.id = p.topic_id;
  } else {
    k.topic = p.topic;
  }
  k.partition = p.partition;
  return k;
}

FetchSessionCache::FetchSessionCache(size_t max_slots, int64_t eviction_ms, uint64_t seed)
    : max_slots_(max_slots), eviction_ms_(eviction_ms), rng_(seed ? seed : std::random_device{}()) {}

int32_t FetchSessionCache::new_id() {
  std::uniform_int_distribution<int32_t> dist(1, INT32_MAX);
  for (;;) {
    int32_t id = dist(rng_);
    if (!sessions_.count(id)) return id;
  }
}

void FetchSessionCache::erase(int32_t id) {
  auto found = sessions_.find(id);
  if (found == sessions_.end()) return;
  cached_partitions_ -= found->second->parts.size();
  sessions_.erase(found);
}

SessionContext FetchSessionCache::begin(SessionRequest req, int64_t now_ms) {
  SessionContext ctx;
  const bool full = req.epoch <= 0;  // 0: new session, -1: sessionless
  std::lock_guard lock(mu_);
  if (full) {
    // A full request with a session id closes that session first (Kafka too).
    if (req.session_id != 0) erase(req.session_id);
    ctx.mode = req.epoch == 0 ? SessionMode::kFull : SessionMode::kSessionless;
    ctx.partitions = std::move(req.partitions);
    return ctx;
  }
  ctx.mode = SessionMode::kIncremental;
  auto found = sessions_.find(req.session_id);
  if (found == sessions_.end()) {
    ctx.error = ErrorCode::FETCH_SESSION_ID_NOT_FOUND;
    return ctx;
  }
  Session& s = *found->second;
  if (s.epoch != req.epoch) {
    ctx.error = ErrorCode::INVALID_FETCH_SESSION_EPOCH;
    return ctx;
  }
  if (s.uses_topic_ids != req.uses_topic_ids) {
    ctx.error = ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR;
    return ctx;
  }
  size_t adds = 0;
  for (auto& p : req.partitions)
    if (!s.index.count(key_of(p, s.uses_topic_ids))) ++adds;
  if (s.parts.size() + adds > kMaxSessionPartitions || cached_partitions_ + adds > kMaxCachedPartitions) {
    erase(s.id);
    ctx.error = ErrorCode::FETCH_SESSION_ID_NOT_FOUND;
    return ctx;
  }
  // Added or changed partitions first, then the forgotten ones go (Kafka's order).
  for (auto& p : req.partitions) {
    Key k = key_of(p, s.uses_topic_ids);
    auto at = s.index.find(k);
    if (at == s.index.end()) {
      s.parts.push_back(p);
      s.index.emplace(std::move(k), std::prev(s.parts.end()));
      ++cached_partitions_;
      continue;
    }
    SessionPartition& c = *at->second;
    if (!p.topic.empty()) c.topic = p.topic;
    c.fetch_offset = p.fetch_offset;
    c.max_bytes = p.max_bytes;
    c.current_leader_epoch = p.current_leader_epoch;
    c.last_fetched_epoch = p.last_fetched_epoch;
    c.log_start_offset = p.log_start_offset;
  }
  for (auto& f : req.forgotten) {
    auto at = s.index.find(key_of(f, s.uses_topic_ids));
    if (at == s.index.end()) continue;
    s.parts.erase(at->second);
    s.index.erase(at);
    --cached_partitions_;
  }
  s.epoch = next_session_epoch(s.epoch);
  s.last_used_ms = now_ms;
  ctx.session_id = s.id;
  ctx.partitions.assign(s.parts.begin(), s.parts.end());
  return ctx;
}

bool FetchSessionCache::try_evict(bool privileged, size_t size, int64_t now_ms) {
  if (sessions_.empty()) return false;
  // 1. The least recently used session, when it has been idle long enough.
  Session* lru = nullptr;
  for (auto& [id, s] : sessions_)
    if (!lru || s->last_used_ms < lru->last_used_ms || (s->last_used_ms == lru->last_used_ms && s->id < lru->id))
      lru = s.get();
  if (now_ms - lru->last_used_ms > eviction_ms_) {
    erase(lru->id);
    ++evictions_;
    return true;
  }
  // 2. The lowest-valued session this one may evict, when worth less than it.
  // A privileged session may evict any consumer session and followers' sessions
  // older than eviction_ms; a consumer's, only sessions older than eviction_ms.
  auto value_less = [](bool pa, size_t sa, int32_t ia, bool pb, size_t sb, int32_t ib) {
    if (pa != pb) return !pa;
    if (sa != sb) return sa < sb;
    return ia < ib;
  };
  Session* lowest = nullptr;
  for (auto& [id, s] : sessions_) {
    const bool old = now_ms - s->created_ms > eviction_ms_;
    const bool evictable = old || (privileged && !s->privileged);
    if (!evictable) continue;
    if (!lowest || value_less(s->privileged, s->parts.size(), s->id, lowest->privileged, lowest->parts.size(),
                              lowest->id))
      lowest = s.get();
  }
  if (!lowest) return false;
  // The new session (id 0 in Kafka's key) must not be worth less than it.
  if (value_less(privileged, size, 0, lowest->privileged, lowest->parts.size(), lowest->id)) return false;
  erase(lowest->id);
  ++evictions_;
  return true;
}

int32_t FetchSessionCache::create(bool privileged, bool uses_topic_ids, std::vector<SessionPartition> parts,
                                  int64_t now_ms) {
  if (parts.size() > kMaxSessionPartitions) return 0;
  std::lock_guard lock(mu_);
  if (max_slots_ == 0) return 0;
  if (sessions_.size() >= max_slots_ && !try_evict(privileged, parts.size(), now_ms)) return 0;
  if (cached_partitions_ + parts.size() > kMaxCachedPartitions) return 0;
  auto s = std::make_unique<Session>();
  s->id = new_id();
  s->privileged = privileged;
  s->uses_topic_ids = uses_topic_ids;
  s->created_ms = now_ms;
  s->last_used_ms = now_ms;
  for (auto& p : parts) {
    Key k = key_of(p, uses_topic_ids);
    if (s->index.count(k)) continue;  // named twice: the first counts
    s->parts.push_back(std::move(p));
    s->index.emplace(std::move(k), std::prev(s->parts.end()));
  }
  const int32_t id = s->id;
  cached_partitions_ += s->parts.size();
  sessions_.emplace(id, std::move(s));
  return id;
}

void FetchSessionCache::record(int32_t session_id,
                               const std::vector<std::pair<SessionPartition, PartitionAnswer>>& answered) {
  std::lock_guard lock(mu_);
  auto found = sessions_.find(session_id);
  if (found == sessions_.end()) return;
  Session& s = *found->second;
  for (auto& [p, a] : answered) {
    auto at = s.index.find(key_of(p, s.uses_topic_ids));
    if (at == s.index.end()) continue;  // forgotten meanwhile
    SessionPartition& c = *at->second;
    c.high_watermark = a.high_watermark;
    c.last_stable_offset = a.last_stable_offset;
    c.answered_log_start = a.log_start_offset;
    if (a.has_records) s.parts.splice(s.parts.end(), s.parts, at->second);  // iterators stay valid
  }
}

bool FetchSessionCache::remove(int32_t session_id) {
  std::lock_guard lock(mu_);
  const bool found = sessions_.count(session_id) > 0;
  erase(session_id);
  return found;
}

size_t FetchSessionCache::cached_partitions() const {
  std::lock_guard lock(mu_);
  return cached_partitions_;
}

size_t FetchSessionCache::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

uint64_t FetchSessionCache::evictions() const {
  std::lock_guard lock(mu_);
  return evictions_;
}

std::optional<std::vector<SessionPartition>> FetchSessionCache::partitions_of(int32_t session_id) const {
  std::lock_guard lock(mu_);
  auto found = sessions_.find(session_id);
  if (found == sessions_.end()) return std::nullopt;
  return std::vector<SessionPartition>(found->second->parts.begin(), found->second->parts.end());
}

std::optional<int32_t> FetchSessionCache::epoch_of(int32_t session_id) const {
  std::lock_guard lock(mu_);
  auto found = sessions_.find(session_id);
  if (found == sessions_.end()) return std::nullopt;
  return found->second->epoch;
}

}  // namespace samsa::server
