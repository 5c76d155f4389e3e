// The sessions of registered brokers, as the active controller tracks them
// (Kafka's BrokerHeartbeatManager, as facts). A session is kept alive by the
// broker's heartbeats; one that has heard nothing for broker.session.timeout.ms
// has expired and its broker is fenced by the controller's periodic check.
// Sessions are not in the metadata log: a newly active controller gives every
// registered broker a fresh session (clear(), then sync()), as Kafka does.
//
// It also holds what the heartbeat state machine needs between heartbeats:
// the offset of each broker's registration (caught up = reached it), the
// metadata offset each broker last reported, and the offset of the leadership
// moves of a broker in controlled shutdown (it may stop once every active
// broker has replayed past them).
//
// Time: monotonic milliseconds of the Clock given (a ManualClock in tests).
// Threads: owned by the Controller on shard 0; called there only.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "cluster/metadata_image.h"

namespace samsa::cluster {

// A broker's state as the heartbeat state machine sees it.
enum class BrokerState { fenced, unfenced, controlled_shutdown, shutdown_now };

struct HeartbeatAsk {
  bool want_fence = false;
  bool want_shutdown = false;
  bool caught_up = false;       // its metadata offset reached its registration
  bool has_leaderships = false;  // it still leads a partition
  bool others_caught_up = false;  // every active broker replayed past its controlled-shutdown moves
};

// Kafka's transitions: a fenced broker is unfenced once caught up (unless it
// wants to stay fenced) and may stop at once; an unfenced broker that wants to
// stop first gives up its leaderships (controlled shutdown) if it has any.
BrokerState next_broker_state(BrokerState current, const HeartbeatAsk& ask);

class BrokerHeartbeats {
 public:
  struct Session {
    int64_t epoch = -1;                // the registration this session belongs to
    int64_t register_offset = -1;      // offset of its RegisterBrokerRecord
    int64_t last_contact_ms = 0;       // monotonic
    int64_t metadata_offset = -1;      // last reported by the broker
    int64_t shutdown_moves_offset = -1;  // controlled shutdown: offset of the moves away from it
    bool heard = false;  // this controller received its registration or a heartbeat
  };

  BrokerHeartbeats(Clock& clock, int64_t session_timeout_ms) : clock_(clock), timeout_ms_(session_timeout_ms) {}

  // A new registration (at `register_offset`): a fresh session. `heard`:
  // the broker itself asked (false: a session sync() starts on its behalf).
  void registered(int32_t id, int64_t epoch, int64_t register_offset, bool heard = true);
  // Matches the sessions to the registrations of `image`: a broker without a
  // session (or with one of an older registration) gets a fresh one, the
  // sessions of brokers no longer registered go.
  void sync(const MetadataImage& image);
  // A heartbeat of registration `epoch` arrived now.
  void touch(int32_t id, int64_t epoch);
  Session* find(int32_t id);
  const Session* find(int32_t id) const { return const_cast<BrokerHeartbeats*>(this)->find(id); }
  void remove(int32_t id) { sessions_.erase(id); }
  // A newly active controller: every session starts again at the next sync().
  void clear() { sessions_.clear(); }

  // The broker that runs in this process and does not heartbeat (one node):
  // its session never expires.
  void exempt(int32_t id, int64_t epoch) { exempt_[id] = epoch; }
  bool is_exempt(int32_t id, int64_t epoch) const;

  // The broker's registration has a valid session: unfenced and heard from
  // within the session timeout (Kafka's hasValidSession; a fenced broker has
  // none). A valid session blocks a registration of the same id by another
  // process.
  bool alive(const BrokerInfo& b) const;
  // The unfenced brokers of `image` whose sessions expired, in id order.
  std::vector<int32_t> expired(const MetadataImage& image) const;
  // The lowest metadata offset reported by the active brokers (unfenced, not
  // shutting down) other than `except`; a broker that runs in this process
  // has the controller's image and does not count.
  int64_t lowest_active_offset(const MetadataImage& image, int32_t except) const;

  int64_t session_timeout_ms() const { return timeout_ms_; }

 private:
  Clock& clock_;
  int64_t timeout_ms_;
  std::map<int32_t, Session> sessions_;
  std::map<int32_t, int64_t> exempt_;  // broker id -> epoch
};

}  // namespace samsa::cluster
