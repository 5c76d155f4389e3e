// Broker-wide connection accounting: max.connections (every listener of the
// process together) and max.connections.per.ip with its overrides, as Apache
// Kafka's ConnectionQuotas. Listeners exist per shard (SO_REUSEPORT), so one
// instance is shared by all of them.
//
// Thread-safety: every method may be called from any shard; a mutex guards the
// counts (taken once per accepted and once per closed connection only).
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

namespace samsa::net {

struct QuotaConfig {
  int32_t max_connections = INT32_MAX;         // max.connections
  int32_t max_connections_per_ip = INT32_MAX;  // max.connections.per.ip
  std::map<std::string, int32_t> per_ip_overrides;  // max.connections.per.ip.overrides, by IP address
};

// Parses max.connections.per.ip.overrides ("host:count,host:count"; the count
// follows the last ':' so IPv6 literals work). Hosts stay as written: the
// caller resolves names. Returns the map or an error message.
std::variant<std::map<std::string, int32_t>, std::string> parse_per_ip_overrides(std::string_view text);

// The quota configuration from the broker's settings: overrides parsed, and
// host names resolved to their addresses (once, at start-up, as Kafka does
// when it reads the config). Returns the config or an error message.
std::variant<QuotaConfig, std::string> make_quota_config(int32_t max_connections, int32_t max_per_ip,
                                                         std::string_view overrides);

class ConnectionQuotas {
 public:
  enum class Admission { kAdmitted, kBrokerFull, kIpFull };

  explicit ConnectionQuotas(QuotaConfig config) : config_(std::move(config)) {}

  // Counts a new connection from `ip`. kBrokerFull: max.connections is reached
  // (nothing counted; the caller keeps the socket and asks again once a slot
  // frees, as Kafka's acceptor blocks). kIpFull: the address is at its limit
  // (nothing counted; the caller closes the socket at once, as Kafka does).
  Admission admit(const std::string& ip);
  // A connection counted by admit() is closed.
  void release(const std::string& ip);

  int32_t limit_for(const std::string& ip) const;
  int32_t total() const;
  int32_t count(const std::string& ip) const;

 private:
  const QuotaConfig config_;
  mutable std::mutex mu_;
  int32_t total_ = 0;
  std::map<std::string, int32_t> per_ip_;  // only addresses with open connections
};

// Rate limit for a log line that can repeat in a tight loop (accept errors,
// refused connections): at most one line per interval, reporting how many were
// suppressed since. Owned by one thread.
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::milliseconds interval) : interval_(interval) {}
  // True when this occurrence should be logged; `suppressed` is then the count
  // of occurrences swallowed since the last logged one.
  bool allow(uint64_t& suppressed);

 private:
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
  bool logged_ = false;
  uint64_t suppressed_ = 0;
};

}  // namespace samsa::net
