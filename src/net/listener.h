// Accepts TCP connections for one shard. Every shard binds the same address
// with SO_REUSEPORT, so the kernel spreads new connections across cores.
// New connections are counted against the process-wide ConnectionQuotas: at
// max.connections the listener holds the socket it accepted and accepts
// nothing more until a slot frees (Kafka's acceptor blocks likewise); a
// connection over its address's limit is closed at once. Accept errors (out
// of descriptors above all) back off from 100 ms to 1 s instead of spinning.
//
// Ownership: a Listener lives on its shard's io_context thread.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "net/connection.h"
#include "net/connection_quotas.h"

namespace samsa::net {

class Listener {
 public:
  Listener(asio::io_context& io, int shard, ConnectionLimits limits, RequestHandler handler,
           std::shared_ptr<ConnectionQuotas> quotas, std::shared_ptr<const ListenerContext> context = nullptr);
  // Binds and listens; returns an error message on failure.
  std::string bind(const std::string& host, int port);
  void start();
  void stop_accepting();
  size_t in_flight() const;  // requests still being handled on this shard's connections
  void stop();               // stop accepting and close every connection of this shard
  int port() const;
  // The listener's name (PLAINTEXT, ...) in its connections' metrics.
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> back_off(const asio::error_code& ec);
  asio::awaitable<bool> wait_for_slot(const std::string& ip);  // false: stopped, or refused for the ip
  asio::awaitable<void> sleep(std::chrono::milliseconds d);

  asio::io_context& io_;
  int shard_;
  ConnectionLimits limits_;
  RequestHandler handler_;
  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<ConnectionQuotas> quotas_;
  std::shared_ptr<const ListenerContext> context_;  // security protocol, TLS, SASL of this listener
  asio::steady_timer pause_;                // accept back-off and waits for a free slot
  std::chrono::milliseconds backoff_{0};   // 0 after a successful accept
  LogLimiter accept_errors_{std::chrono::seconds(10)};
  LogLimiter refusals_{std::chrono::seconds(10)};
  std::set<std::weak_ptr<Connection>, std::owner_less<std::weak_ptr<Connection>>> connections_;
  std::string name_ = "PLAINTEXT";
  static std::atomic<uint64_t> next_id_;
};

}  // namespace samsa::net
