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

// Plain TCP with TCP_NODELAY (requests are small and latency-bound). A connect
// that takes longer than `connect_timeout_ms` fails with asio::error::timed_out.
class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(asio::any_io_executor ex, int64_t connect_timeout_ms = 10000)
      : ex_(std::move(ex)), connect_timeout_ms_(connect_timeout_ms) {}
  asio::awaitable<std::pair<asio::error_code, std::unique_ptr<Stream>>> connect(std::string host,
                                                                              uint16_t port) override;

 private:
  asio::any_io_executor ex_;
  int64_t connect_timeout_ms_;
};

}  // namespace samsa::net
