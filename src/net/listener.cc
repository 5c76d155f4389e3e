#include "net/listener.h"

#include <spdlog/spdlog.h>

namespace samsa::net {

std::atomic<uint64_t> Listener::next_id_{1};

Listener::Listener(asio::io_context& io, int shard, ConnectionLimits limits, RequestHandler handler,
                   std::shared_ptr<ConnectionQuotas> quotas, std::shared_ptr<const ListenerContext> context)
    : io_(io),
      shard_(shard),
      limits_(limits),
      handler_(std::move(handler)),
      acceptor_(io),
      quotas_(quotas ? std::move(quotas) : std::make_shared<ConnectionQuotas>(QuotaConfig{})),
      context_(context ? std::move(context) : std::make_shared<const ListenerContext>()),
      pause_(io) {}

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
  pause_.cancel();
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
  pause_.cancel();
  for (auto& w : connections_)
    if (auto c = w.lock()) c->close();
  connections_.clear();
}

asio::awaitable<void> Listener::sleep(std::chrono::milliseconds d) {
  pause_.expires_after(d);
  asio::error_code ec;
  co_await pause_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// After a failed accept. An aborted handshake is that one peer's problem: the
// next accept may succeed at once. Anything else (EMFILE, ENFILE, ENOBUFS,
// ENOMEM) would fail again right away, so wait 100 ms, doubling up to 1 s,
// and log once per 10 s with the count of repeats.
asio::awaitable<void> Listener::back_off(const asio::error_code& ec) {
  if (ec == asio::error::connection_aborted || ec == asio::error::interrupted || ec == asio::error::try_again ||
      ec == asio::error::would_block)
    co_return;
  backoff_ = backoff_.count() == 0 ? std::chrono::milliseconds(100)
                                   : std::min(backoff_ * 2, std::chrono::milliseconds(std::chrono::seconds(1)));
  uint64_t suppressed = 0;
  if (accept_errors_.allow(suppressed))
    spdlog::warn("shard {}: accepting a connection failed: {}; retrying with back-off up to 1 s ({} similar "
                 "errors in the last interval not logged)",
                 shard_, ec.message(), suppressed);
  co_await sleep(backoff_);
}

// Counts the new connection against max.connections and the per-address
// limit. At max.connections this listener keeps the socket and accepts nothing
// more until another connection closes anywhere in the process (checked every
// 20 ms), as Kafka's acceptor waits for a slot.
asio::awaitable<bool> Listener::wait_for_slot(const std::string& ip) {
  for (;;) {
    switch (quotas_->admit(ip)) {
      case ConnectionQuotas::Admission::kAdmitted:
        co_return true;
      case ConnectionQuotas::Admission::kIpFull: {
        uint64_t suppressed = 0;
        if (refusals_.allow(suppressed))
          spdlog::info("refused a connection from {}: it already has the maximum of {} connections "
                       "(max.connections.per.ip; {} similar refusals in the last interval not logged)",
                       ip, quotas_->limit_for(ip), suppressed);
        co_return false;
      }
      case ConnectionQuotas::Admission::kBrokerFull:
        break;
    }
    uint64_t suppressed = 0;
    if (refusals_.allow(suppressed))
      spdlog::info("max.connections ({} connections) reached: new connections wait for a free slot", quotas_->total());
    co_await sleep(std::chrono::milliseconds(20));
    if (!acceptor_.is_open()) co_return false;
  }
}

asio::awaitable<void> Listener::accept_loop() {
  for (;;) {
    asio::error_code ec;
    auto sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!acceptor_.is_open()) co_return;
    if (ec) {
      co_await back_off(ec);
      continue;
    }
    backoff_ = std::chrono::milliseconds(0);
    ConnectionInfo info;
    info.id = next_id_++;
    info.shard = shard_;
    info.listener = context_;
    info.session = std::make_shared<Session>();
    info.session->authenticated = context_->sasl == nullptr;
    auto remote = sock.remote_endpoint(ec);
    if (ec) continue;  // already reset by the peer: the socket closes here
    auto addr = remote.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())  // a v4 client on a v6 listener counts as its v4 address
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    info.peer_host = addr.to_string();
    info.peer_port = remote.port();
    if (!co_await wait_for_slot(info.peer_host)) continue;  // closes the socket
    auto conn = std::make_shared<Connection>(std::move(sock), info, limits_, handler_);
    conn->on_close([quotas = quotas_, ip = info.peer_host] { quotas->release(ip); });
    // Forget connections that are gone so the set stays bounded.
    std::erase_if(connections_, [](const auto& w) { return w.expired(); });
    connections_.insert(conn);
    conn->start();
  }
}

}  // namespace samsa::net
