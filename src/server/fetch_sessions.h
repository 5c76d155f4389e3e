// Fetch sessions (KIP-227): the broker's cache of incremental fetch sessions.
//
// A Fetch names its session in (session_id, session_epoch):
//  - epoch -1: a full, sessionless fetch; a session_id != 0 is closed first;
//  - epoch 0: a full fetch that asks for a new session (a session_id != 0 is
//    closed first); once answered, the broker keeps its partitions as a new
//    session when it has a free slot or may evict one (create()), and answers
//    the new id (0: no session); the next request must carry epoch 1;
//  - epoch > 0: an incremental fetch of session `session_id` at the epoch the
//    broker expects (else INVALID_FETCH_SESSION_EPOCH; an unknown id is
//    FETCH_SESSION_ID_NOT_FOUND; a session made with topic names used with ids or
//    the reverse, FETCH_SESSION_TOPIC_ID_ERROR). Its partitions add to or update
//    the session's, forgotten_topics_data removes some, every partition of the
//    session is fetched, and the answer carries only the partitions with
//    something new: records, a changed high watermark / last stable offset /
//    log start offset, an error or a diverging epoch. A partition answered with
//    records moves to the end of the session (fairness, as Kafka).
//
// Eviction follows Kafka's FetchSessionCache: a new session may take the slot
// of (1) the least recently used session idle for more than `eviction_ms`
// (Kafka's 120 s), else (2) the lowest-valued evictable session when the new
// one is worth more: value orders by privileged (follower) first, then by
// number of partitions. A consumer session becomes evictable by other
// consumers' sessions only after eviction_ms since its creation; followers'
// sessions may evict consumers' sessions at once.
//
// Thread-safe: one mutex, held for short map operations only (the broker's
// shards share one cache). Nothing here reads a log.
#pragma once
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error_code.h"
#include "protocol/wire.h"

namespace samsa::server {

// One partition of a session: the fields its fetcher last sent, and what the
// broker last answered for it.
struct SessionPartition {
  std::string topic;          // the name (sessions by name; or as resolved when added)
  protocol::Uuid topic_id{};  // sessions by topic id (Fetch v13+)
  int32_t partition = 0;
  int64_t fetch_offset = 0;
  int32_t max_bytes = 0;
  int32_t current_leader_epoch = -1;
  int32_t last_fetched_epoch = -1;
  int64_t log_start_offset = -1;  // the fetcher's (followers)
  // Last answered; -1: never.
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t answered_log_start = -1;
};

// What the next answer reports for a partition; must_respond() says whether an
// incremental answer carries it.
struct PartitionAnswer {
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;
  bool has_records = false;
  bool has_error = false;  // an error code, or a diverging epoch
  bool has_preferred_replica = false;  // KIP-392: sent to another replica
};
bool must_respond(const SessionPartition& cached, const PartitionAnswer& now);

struct SessionRequest {
  int32_t session_id = 0;
  int32_t epoch = -1;
  bool uses_topic_ids = false;  // Fetch v13+
  bool privileged = false;      // a follower's fetch
  std::vector<SessionPartition> partitions;  // the request's, with their fields
  std::vector<SessionPartition> forgotten;   // topic / topic_id and partition only
};

enum class SessionMode { kSessionless, kFull, kIncremental };

// The session half of one Fetch, decided before anything is read.
struct SessionContext {
  SessionMode mode = SessionMode::kSessionless;
  ErrorCode error = ErrorCode::NONE;  // 70, 71 or 106: answered as a top-level error, nothing read
  int32_t session_id = 0;             // kIncremental: the session
  // kIncremental: every partition of the session, in its order, with the last
  // answers; otherwise the request's partitions.
  std::vector<SessionPartition> partitions;
};

class FetchSessionCache {
 public:
  static constexpr int64_t kDefaultEvictionMs = 120000;  // Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS
  // Bounds on one session's partitions and on all sessions' together (memory:
  // about 150 bytes each). A full fetch beyond them gets no session; an
  // incremental one that would pass them closes its session and is answered
  // FETCH_SESSION_ID_NOT_FOUND, so the client starts over with a full fetch.
  static constexpr size_t kMaxSessionPartitions = 100000;
  static constexpr size_t kMaxCachedPartitions = 2000000;

  explicit FetchSessionCache(size_t max_slots, int64_t eviction_ms = kDefaultEvictionMs, uint64_t seed = 0);

  // Decides the mode of a request; for an incremental one, applies its
  // partitions and forgotten partitions to the session and advances its epoch.
  SessionContext begin(SessionRequest req, int64_t now_ms);
  // After a full fetch with epoch 0 was read: keeps `parts` (with their answers
  // filled in) as a new session when a slot is free or one may be evicted.
  // Returns the new session's id, or 0 (no session).
  int32_t create(bool privileged, bool uses_topic_ids, std::vector<SessionPartition> parts, int64_t now_ms);
  // After an incremental fetch was answered: records the answers of its
  // partitions (`answered`, keyed as in the session) and moves the ones answered
  // with records to the end. A session gone meanwhile is left gone.
  void record(int32_t session_id, const std::vector<std::pair<SessionPartition, PartitionAnswer>>& answered);
  bool remove(int32_t session_id);

  size_t size() const;
  size_t max_slots() const { return max_slots_; }
  // Partitions of a session (tests); nullopt when there is no such session.
  std::optional<std::vector<SessionPartition>> partitions_of(int32_t session_id) const;
  std::optional<int32_t> epoch_of(int32_t session_id) const;
  uint64_t evictions() const;
  size_t cached_partitions() const;

 private:
  struct Key {
    std::string topic;
    protocol::Uuid id{};
    int32_t partition = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  struct Session {
    int32_t id = 0;
    int32_t epoch = 1;  // the one the next incremental request must carry
    bool privileged = false;
    bool uses_topic_ids = false;
    int64_t created_ms = 0;
    int64_t last_used_ms = 0;
    std::list<SessionPartition> parts;
    std::unordered_map<Key, std::list<SessionPartition>::iterator, KeyHash> index;
  };
  static Key key_of(const SessionPartition& p, bool uses_topic_ids);
  bool try_evict(bool privileged, size_t size, int64_t now_ms);  // under mu_
  void erase(int32_t id);                                         // under mu_
  int32_t new_id();                                               // under mu_

  mutable std::mutex mu_;
  size_t max_slots_;
  int64_t eviction_ms_;
  std::mt19937 rng_;
  std::unordered_map<int32_t, std::unique_ptr<Session>> sessions_;
  uint64_t evictions_ = 0;
  size_t cached_partitions_ = 0;  // over all sessions
};

// The next epoch after `epoch` (Kafka's FetchMetadata.nextEpoch): wraps to 1.
int32_t next_session_epoch(int32_t epoch);

}  // namespace samsa::server
