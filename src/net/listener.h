// Accepts TCP connections for one shard. Every shard binds the same address
// with SO_REUSEPORT, so the kernel spreads new connections across cores.
//
// Ownership: a Listener lives on its shard's io_context thread.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "net/connection.h"

namespace samsa::net {

class Listener {
 public:
  Listener(asio::io_context& io, int shard, ConnectionLimits limits, RequestHandler handler);
  // Binds and listens; returns an error message on failure.
  std::string bind(const std::string& host, int port);
  void start();
  void stop_accepting();
  size_t in_flight() const;  // requests still being handled on this shard's connections
  void stop();               // stop accepting and close every connection of this shard
  int port() const;

 private:
  asio::awaitable<void> accept_loop();

  asio::io_context& io_;
  int shard_;
  ConnectionLimits limits_;
  RequestHandler handler_;
  asio::ip::tcp::acceptor acceptor_;
  std::set<std::weak_ptr<Connection>, std::owner_less<std::weak_ptr<Connection>>> connections_;
  static std::atomic<uint64_t> next_id_;
};

}  // namespace samsa::net
