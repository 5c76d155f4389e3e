#include "net/listener.h"

#include <spdlog/spdlog.h>

namespace samsa::net {

std::atomic<uint64_t> Listener::next_id_{1};

Listener::Listener(asio::io_context& io, int shard, ConnectionLimits limits, RequestHandler handler)
    : io_(io), shard_(shard), limits_(limits), handler_(std::move(handler)), acceptor_(io) {}

std::string Listener::bind(const std::string& host, int port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    asio::ip::tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) return "cannot resolve listener host '" + host + "'";
    addr = results.begin()->endpoint().address();
    for (auto& r : results)  // prefer IPv4 (localhost -> 127.0.0.1), as most clients try it first
      if (r.endpoint().address().is_v4()) {
        addr = r.endpoint().address();
        break;
      }
  }
  asio::ip::tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  acceptor_.open(ep.protocol(), ec);
  if (ec) return ec.message();
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  int one = 1;
  ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  acceptor_.bind(ep, ec);
  if (ec) return "cannot bind " + host + ":" + std::to_string(port) + ": " + ec.message();
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec.message();
  return {};
}

int Listener::port() const {
  asio::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void Listener::start() { asio::co_spawn(io_, accept_loop(), asio::detached); }

void Listener::stop_accepting() {
  asio::error_code ec;
  acceptor_.close(ec);
}

size_t Listener::in_flight() const {
  size_t n = 0;
  for (auto& w : connections_)
    if (auto c = w.lock()) n += c->in_flight();
  return n;
}

void Listener::stop() {
  asio::error_code ec;
  acceptor_.close(ec);
  for (auto& w : connections_)
    if (auto c = w.lock()) c->close();
  connections_.clear();
}

asio::awaitable<void> Listener::accept_loop() {
  for (;;) {
    asio::error_code ec;
    auto sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    ConnectionInfo info;
    info.id = next_id_++;
    info.shard = shard_;
    auto remote = sock.remote_endpoint(ec);
    if (!ec) {
      info.peer_host = remote.address().to_string();
      info.peer_port = remote.port();
    }
    auto conn = std::make_shared<Connection>(std::move(sock), info, limits_, handler_);
    // Forget connections that are gone so the set stays bounded.
    std::erase_if(connections_, [](const auto& w) { return w.expired(); });
    connections_.insert(conn);
    conn->start();
  }
}

}  // namespace samsa::net
