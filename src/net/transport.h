// Outbound connections for broker-to-broker traffic behind one interface, so
// the client above (net/kafka_client.h) does not know whether bytes go over
// TCP, later TLS, or an in-memory simulated network in tests.
//
// A Stream is a connected, ordered byte stream. Its operations are Asio
// coroutines on the executor the transport was built with; at most one read and
// one write may be outstanding at a time (the caller serialises them). close()
// makes outstanding and later operations fail.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

namespace samsa::net {

class Stream {
 public:
  virtual ~Stream() = default;
  // Writes every byte, or fails.
  virtual asio::awaitable<asio::error_code> write_all(std::span<const uint8_t> bytes) = 0;
  // Reads exactly bytes.size() bytes, or fails (asio::error::eof on a clean close).
  virtual asio::awaitable<asio::error_code> read_exact(std::span<uint8_t> bytes) = 0;
  virtual void close() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // A stream to host:port, or the error that prevented it (never both).
  virtual asio::awaitable<std::pair<asio::error_code, std::unique_ptr<Stream>>> connect(std::string host,
                                                                                      uint16_t port) = 0;
};

struct ClientSecurity;

// A Stream over a connected TCP socket.
std::unique_ptr<Stream> make_tcp_stream(asio::ip::tcp::socket socket);

// TCP with TCP_NODELAY (requests are small and latency-bound). A connect
// that takes longer than `connect_timeout_ms` fails with asio::error::timed_out.
// With a ClientSecurity (net/client_security.h) each connection then runs the
// listener's TLS and SASL login within the same timeout; a failed login is
// logged (a changed reason at once, the same one at most every 30 s) and
// fails the connect, so the client retries after its backoff.
class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(asio::any_io_executor ex, int64_t connect_timeout_ms = 10000,
                        std::shared_ptr<const ClientSecurity> security = nullptr)
      : ex_(std::move(ex)), connect_timeout_ms_(connect_timeout_ms), security_(std::move(security)) {}
  asio::awaitable<std::pair<asio::error_code, std::unique_ptr<Stream>>> connect(std::string host,
                                                                              uint16_t port) override;
  uint64_t security_failures() const { return security_failures_; }

 private:
  void log_security_failure(const std::string& peer, const std::string& why);
  asio::any_io_executor ex_;
  int64_t connect_timeout_ms_;
  std::shared_ptr<const ClientSecurity> security_;
  uint64_t security_failures_ = 0;  // logins failed in a row
  std::string last_failure_;
  std::chrono::steady_clock::time_point last_logged_{};
};

}  // namespace samsa::net
