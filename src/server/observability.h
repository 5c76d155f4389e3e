// The broker's observability: one metric registry per shard (bound to the
// shard's thread, so every layer records without locks), the consumer lag
// trackers, and the HTTP server (http.listeners) that serves /metrics, the
// health checks and the JSON admin API (http_api.cc).
//
// Threads: constructed and started by Broker::start on the main thread; each
// registry, tracker and HTTP server belongs to its shard and is touched only
// on that shard's thread (the scrape visits each shard with invoke_on).
#pragma once
#include <asio.hpp>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "net/http_server.h"
#include "net/sasl.h"
#include "observe/metrics.h"
#include "server/consumer_lag.h"

namespace samsa::server {

class Broker;
struct Shard;

struct HttpEndpoint {
  std::string host;  // empty: every interface
  int port = 0;
};

// "http://host:port,..." (http.listeners); empty: none. An error names what is wrong.
std::variant<std::vector<HttpEndpoint>, std::string> parse_http_listeners(std::string_view value);

class Observability {
 public:
  explicit Observability(Broker& broker);
  ~Observability();

  // Binds each shard's registry to its thread (posted before the shards run).
  void bind_shards();
  // Binds every http.listeners endpoint on every shard and starts serving;
  // an error message naming the key when one cannot be bound.
  std::string start_http();
  void stop_http();  // from the main thread, before the shards stop
  // The first HTTP endpoint as bound ("http://127.0.0.1:9644"), or "" when off.
  const std::string& http_address() const { return http_address_; }
  // What the web console checks a login against: the first SASL listener's
  // mechanisms and users (console_auth.cc); null when no listener uses SASL and
  // the console needs no login. Set by start_http before serving, then only read.
  const net::SaslConfig* console_login() const { return console_login_.get(); }

  observe::Registry& registry(int shard) { return *registries_[shard]; }
  LagTracker& lag_tracker(int shard) { return *trackers_[shard]; }

  // The whole broker's metrics, merged from every shard, with consumer lag
  // and process gauges. Runs on any shard.
  // `here` is the shard the caller runs on (its metadata image is read).
  asio::awaitable<observe::Snapshot> scrape(Shard& here);
  // Whether per-partition series are exposed: the partition count is within
  // metrics.partition.series.limit. On `here`'s thread.
  bool per_partition_series(const Shard& here) const;

 private:
  net::HttpHandler make_handler(Shard& shard);

  Broker& broker_;
  std::vector<std::unique_ptr<observe::Registry>> registries_;
  std::vector<std::unique_ptr<LagTracker>> trackers_;
  std::vector<std::unique_ptr<net::HttpServer>> servers_;  // shard i % shards
  std::string http_address_;
  std::shared_ptr<const net::SaslConfig> console_login_;
};

// The routes of the HTTP server (http_api.cc).
// Runs on `here`, the shard whose HTTP server accepted the connection.
asio::awaitable<net::HttpResponse> serve_http(Broker& broker, Shard& here, const net::HttpRequest& req);

}  // namespace samsa::server
