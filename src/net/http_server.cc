#include "net/http_server.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace samsa::net {

using asio::awaitable;
using asio::use_awaitable;

// One HTTP client connection: reads a request head (and a bounded body),
// awaits the handler, writes the response, and loops while keep-alive holds.
// A watchdog closes the socket at the current deadline: idle_timeout_ms while
// waiting for a request, head_timeout_ms from its first byte until it is read
// and again for writing the response.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(asio::ip::tcp::socket s, const HttpLimits& limits, std::shared_ptr<const HttpHandler> handler)
      : socket_(std::move(s)), timer_(socket_.get_executor()), limits_(limits), handler_(std::move(handler)) {}

  void start() {
    set_deadline(limits_.idle_timeout_ms);
    asio::co_spawn(socket_.get_executor(), serve(), asio::detached);
    asio::co_spawn(socket_.get_executor(), watchdog(), asio::detached);
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    timer_.cancel();
  }

 private:
  using Clock = std::chrono::steady_clock;

  void set_deadline(int64_t ms) {
    deadline_ = ms < 0 ? Clock::time_point::max() : Clock::now() + std::chrono::milliseconds(ms);
    timer_.cancel();  // the watchdog re-arms at the new deadline
  }

  awaitable<void> watchdog() {
    auto self = shared_from_this();
    while (!closed_) {
      timer_.expires_at(deadline_);
      asio::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (!closed_ && Clock::now() >= deadline_) close();
    }
  }

  // Reads more bytes into buf_; false on EOF, error or close.
  awaitable<bool> read_more() {
    char tmp[4096];
    asio::error_code ec;
    size_t n = co_await socket_.async_read_some(asio::buffer(tmp), asio::redirect_error(use_awaitable, ec));
    if (ec || closed_) co_return false;
    buf_.append(tmp, n);
    co_return true;
  }

  awaitable<bool> write(const std::string& bytes) {
    set_deadline(limits_.head_timeout_ms);  // a client that does not read is cut off too
    asio::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(bytes), asio::redirect_error(use_awaitable, ec));
    co_return !ec && !closed_;
  }

  // After an error response with request bytes still unread: closing at once
  // would send a reset that can destroy the response before the client reads
  // it. Half-close, then discard what the client still sends (bounded in bytes
  // and by the head timeout), then close.
  awaitable<void> lingering_close() {
    asio::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    set_deadline(limits_.head_timeout_ms);
    size_t discarded = 0;
    while (!closed_ && discarded < limits_.max_head_bytes + limits_.max_body_bytes) {
      buf_.clear();
      if (!co_await read_more()) break;
      discarded += buf_.size();
    }
  }

  awaitable<void> serve() {
    auto self = shared_from_this();
    while (!closed_) {
      HttpParseResult parsed;
      for (;;) {
        parsed = parse_http_head(buf_, limits_);
        if (parsed.status != HttpParse::kIncomplete) break;
        bool was_empty = buf_.empty();
        if (!co_await read_more()) { close(); co_return; }
        if (was_empty) set_deadline(limits_.head_timeout_ms);  // the request's clock starts at its first byte
      }
      if (parsed.status != HttpParse::kDone) {
        HttpResponse err;
        err.status = http_status_for(parsed.status);
        err.content_type = "text/plain; charset=utf-8";
        err.body = std::string(http_reason(err.status)) + "\n";
        if (co_await write(serialize_http_response(err, false, false))) co_await lingering_close();
        { close(); co_return; }
      }
      auto& req = parsed.request;
      size_t total = parsed.head_bytes + req.content_length;  // both bounded by the limits
      while (buf_.size() < total)
        if (!co_await read_more()) { close(); co_return; }
      req.body = buf_.substr(parsed.head_bytes, req.content_length);
      buf_.erase(0, total);
      set_deadline(-1);  // the handler's time is its own
      HttpResponse resp;
      try {
        auto op = (*handler_)(req);  // not inside co_await: GCC 12 temporaries bug
        resp = co_await std::move(op);
      } catch (const std::exception& e) {
        spdlog::error("http: handler for {} failed: {}", req.path, e.what());
        resp = HttpResponse{500, "text/plain; charset=utf-8", "Internal Server Error\n", {}};
      }
      if (closed_) co_return;
      bool keep = req.keep_alive;
      if (!co_await write(serialize_http_response(resp, keep, req.method == "HEAD"))) { close(); co_return; }
      if (!keep) { close(); co_return; }
      set_deadline(buf_.empty() ? limits_.idle_timeout_ms : limits_.head_timeout_ms);
    }
  }

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  const HttpLimits limits_;
  std::shared_ptr<const HttpHandler> handler_;  // shared: a connection may outlive its server by a moment
  Clock::time_point deadline_ = Clock::time_point::max();
  std::string buf_;  // received, not yet consumed (bounded: head + body limits, plus one read)
  bool closed_ = false;
};

HttpServer::HttpServer(asio::io_context& io, HttpLimits limits, HttpHandler handler)
    : io_(io), limits_(limits), handler_(std::make_shared<const HttpHandler>(std::move(handler))), acceptor_(io) {}

HttpServer::~HttpServer() = default;

std::string HttpServer::bind(const std::string& host, int port, bool first) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    asio::ip::tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) return "cannot resolve host '" + host + "'";
    addr = results.begin()->endpoint().address();
    for (auto& r : results)  // prefer IPv4, as the Kafka listener does
      if (r.endpoint().address().is_v4()) {
        addr = r.endpoint().address();
        break;
      }
  }
  asio::ip::tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  if (first && port != 0) {
    // A probe without SO_REUSEPORT fails while anyone listens there, even a
    // process whose sockets have SO_REUSEPORT set.
    asio::ip::tcp::acceptor probe(io_);
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (ec) return "cannot bind " + host + ":" + std::to_string(port) + ": " + ec.message();
    probe.close(ec);
  }
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

int HttpServer::port() const {
  asio::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void HttpServer::start() { asio::co_spawn(io_, accept_loop(), asio::detached); }

void HttpServer::stop() {
  asio::error_code ec;
  acceptor_.close(ec);
  for (auto& w : connections_)
    if (auto c = w.lock()) c->close();
  connections_.clear();
}

size_t HttpServer::connections() const {
  size_t n = 0;
  for (auto& w : connections_) n += !w.expired();
  return n;
}

awaitable<void> HttpServer::accept_loop() {
  while (acceptor_.is_open()) {
    asio::error_code ec;
    auto sock = co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (!acceptor_.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: wait a little instead of spinning.
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    std::erase_if(connections_, [](const auto& w) { return w.expired(); });
    if (connections_.size() >= limits_.max_connections) continue;  // the socket closes here
    auto c = std::make_shared<HttpConnection>(std::move(sock), limits_, handler_);
    connections_.insert(c);
    c->start();
  }
}

}  // namespace samsa::net
