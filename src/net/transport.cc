#include "net/transport.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "net/client_security.h"

namespace samsa::net {
namespace {

class TcpStream final : public Stream {
 public:
  explicit TcpStream(asio::ip::tcp::socket s) : socket_(std::move(s)) {}
  ~TcpStream() override { close(); }

  asio::awaitable<asio::error_code> write_all(std::span<const uint8_t> bytes) override {
    asio::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }
  asio::awaitable<asio::error_code> read_exact(std::span<uint8_t> bytes) override {
    asio::error_code ec;
    co_await asio::async_read(socket_, asio::buffer(bytes.data(), bytes.size()),
                              asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }
  void close() override {
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  asio::ip::tcp::socket socket_;
};

}  // namespace

std::unique_ptr<Stream> make_tcp_stream(asio::ip::tcp::socket socket) {
  return std::make_unique<TcpStream>(std::move(socket));
}

void TcpTransport::log_security_failure(const std::string& peer, const std::string& why) {
  ++security_failures_;
  auto now = std::chrono::steady_clock::now();
  if (why == last_failure_ && now - last_logged_ < std::chrono::seconds(30)) return;
  last_failure_ = why;
  last_logged_ = now;
  spdlog::error("connection to {} with {} failed ({} attempt(s) in a row; retrying with backoff): {}", peer,
                security_->describe(), security_failures_, why);
}

asio::awaitable<std::pair<asio::error_code, std::unique_ptr<Stream>>> TcpTransport::connect(std::string host,
                                                                                          uint16_t port) {
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(ex_);
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return std::pair{ec, std::unique_ptr<Stream>()};

  // The timer closes the socket, which completes the connect with
  // operation_aborted. Shared state: the timer's handler may run after this
  // coroutine has returned.
  struct Attempt {
    explicit Attempt(asio::any_io_executor ex) : socket(std::move(ex)) {}
    asio::ip::tcp::socket socket;
    bool timed_out = false;
    bool done = false;
  };
  auto attempt = std::make_shared<Attempt>(ex_);
  asio::steady_timer deadline(ex_, std::chrono::milliseconds(connect_timeout_ms_));
  deadline.async_wait([attempt](const asio::error_code& e) {
    if (e || attempt->done) return;
    attempt->timed_out = true;
    asio::error_code ignored;
    attempt->socket.close(ignored);
  });
  co_await asio::async_connect(attempt->socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  attempt->done = true;
  deadline.cancel();
  if (attempt->timed_out) ec = asio::error::timed_out;
  if (ec) co_return std::pair{ec, std::unique_ptr<Stream>()};
  attempt->socket.set_option(asio::ip::tcp::no_delay(true), ec);
  if (security_) {
    const std::string peer = host + ":" + std::to_string(port);
    auto secured = co_await secure_connect(std::move(attempt->socket), *security_, host,
                                           std::chrono::milliseconds(connect_timeout_ms_));
    if (secured.error) {
      log_security_failure(peer, secured.message);
      co_return std::pair{secured.error, std::unique_ptr<Stream>()};
    }
    if (security_failures_ > 0)
      spdlog::info("connection to {} with {} succeeded after {} failed attempt(s)", peer, security_->describe(),
                   security_failures_);
    security_failures_ = 0;
    last_failure_.clear();
    co_return std::pair{asio::error_code{}, std::move(secured.stream)};
  }
  co_return std::pair{asio::error_code{},
                      std::unique_ptr<Stream>(std::make_unique<TcpStream>(std::move(attempt->socket)))};
}

}  // namespace samsa::net
