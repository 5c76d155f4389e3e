// A small HTTP/1.1 server for metrics, health and the admin API, served on a
// shard's event loop next to the Kafka listener. Every shard binds the same
// address with SO_REUSEPORT; a connection lives on the shard that accepted it.
//
// Bounded in every direction (HttpLimits): head size and header count, body
// size, connections per shard, the time to receive a request (slow senders
// are cut off) and the keep-alive idle time. A malformed request is answered
// with its 4xx/5xx status and the connection closed. The handler is a
// coroutine: it may gather data from other shards without blocking the loop.
//
// Ownership: an HttpServer and its connections live on their shard's
// io_context thread and are touched only there.
#pragma once
#include <asio.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "net/http_parser.h"

namespace samsa::net {

using HttpHandler = std::function<asio::awaitable<HttpResponse>(const HttpRequest&)>;

class HttpConnection;

class HttpServer {
 public:
  HttpServer(asio::io_context& io, HttpLimits limits, HttpHandler handler);
  ~HttpServer();
  // Binds and listens; returns an error message on failure ("cannot bind ...").
  // `first`: the first shard's bind, which also checks that no other process
  // holds the port (SO_REUSEPORT would otherwise let a second broker share it).
  std::string bind(const std::string& host, int port, bool first = true);
  int port() const;
  void start();
  void stop();  // stop accepting and close every connection of this server
  size_t connections() const;

 private:
  asio::awaitable<void> accept_loop();

  asio::io_context& io_;
  HttpLimits limits_;
  std::shared_ptr<const HttpHandler> handler_;
  asio::ip::tcp::acceptor acceptor_;
  std::set<std::weak_ptr<HttpConnection>, std::owner_less<std::weak_ptr<HttpConnection>>> connections_;
};

}  // namespace samsa::net
