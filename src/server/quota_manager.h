// Client quota enforcement (Kafka's ClientQuotaManager): the bytes a
// (user, client-id) produces or fetches are recorded in a rate over
// `quota.window.num` samples of `quota.window.size.seconds` (Kafka's Rate over
// a SampledStat, defaults 11 x 1 s); a record that takes the rate above the
// quota answers the throttle time Kafka computes:
//   (rate - quota) / quota * window,
// where window is the span the rate was measured over (at least
// (samples - 1) x window size). The request's response carries it as
// throttle_time_ms and the connection stops reading for that long (KIP-219,
// net::Response::throttle_ms).
//
// Which quota applies and which clients share its rate is the image's
// business (cluster::resolve_quota). The rates of one sensor key live on one
// shard, chosen by the key's hash (QuotaManager::owner), so the connections of
// a client on several shards share one rate without locks: a handler hops to
// the owner with invoke_on (server/quota_throttle.h).
//
// Ownership: QuotaRate is a value; each shard owns one QuotaManager (Shard::
// quotas) and only that shard's thread touches it.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "base/clock.h"

namespace samsa::server {

struct QuotaWindow {
  int samples = 11;             // quota.window.num
  int64_t window_ms = 1000;     // quota.window.size.seconds x 1000
};

// Kafka's Rate (SampledTotal, per second) over a QuotaWindow.
class QuotaRate {
 public:
  explicit QuotaRate(QuotaWindow w) : w_(w) {}
  void record(double value, int64_t now_ms);
  // The value per second over the samples still in the window.
  double rate(int64_t now_ms);
  // The span the rate is measured over, in ms (Kafka's Rate.windowSize).
  int64_t window_size_ms(int64_t now_ms);
  int64_t last_record_ms() const { return last_record_ms_; }

 private:
  struct Sample {
    double value = 0;
    int64_t start_ms = 0;  // Kafka's lastWindowMs: when the sample began
    void reset(int64_t now) {
      value = 0;
      start_ms = now;
    }
  };
  void purge(int64_t now_ms);
  QuotaWindow w_;
  std::vector<Sample> samples_;
  size_t current_ = 0;
  int64_t last_record_ms_ = 0;
};

// Kafka's QuotaUtils.throttleTime: 0 while `rate` <= `quota`.
int64_t throttle_ms(double rate, double quota, int64_t window_ms);

// kControllerMutation: controller_mutation_rate (KIP-599), partitions created
// or deleted per second by CreateTopics, CreatePartitions and DeleteTopics.
// kRequest: request_percentage (KIP-124), the time a client's requests take
// on the broker's threads, in percent of one thread per second.
enum class QuotaType : int8_t { kProduce = 0, kFetch = 1, kControllerMutation = 2, kRequest = 3 };

class QuotaManager {
 public:
  QuotaManager(QuotaWindow w, const Clock& clock) : w_(w), clock_(clock) {}
  struct Key {
    QuotaType type;
    std::string user;       // "" when the quota has no user part
    std::string client_id;  // "" when it has no client-id part
    auto operator<=>(const Key&) const = default;
  };
  // The shard owning `key`'s rate among `shards`.
  static int owner(const Key& key, int shards);
  // Records `value` against `key` with `quota` (per second); the throttle in ms.
  int64_t record(const Key& key, double quota, double value);
  // Takes back a value recorded earlier (a throttled fetch answers no data).
  void unrecord(const Key& key, double value);
  // The throttle `key`'s rate already calls for, recording nothing (0 while
  // it is within `quota`): the strict check of a controller mutation.
  int64_t throttle_now(const Key& key, double quota);
  size_t sensors() const { return rates_.size(); }

 private:
  // Rates idle for a whole window are all zero: dropped once there are many.
  void expire(int64_t now_ms);
  QuotaWindow w_;
  const Clock& clock_;
  std::map<Key, QuotaRate> rates_;
  int64_t last_expiry_ms_ = 0;
};

// One client's quota of one type: the sensor key its rate is kept under and the bound.
struct QuotaCharge {
  QuotaManager::Key key;
  double quota = 0;  // per second
};

}  // namespace samsa::server
