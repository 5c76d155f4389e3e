// An asynchronous outbound Kafka-protocol client for broker-to-broker traffic
// (replica fetches, forwarded requests, later Raft RPCs) to one host:port.
//
// send() writes a request header (v1, or v2 with tagged fields for flexible
// versions of the API) and the caller's body, and resumes when the response
// with the same correlation id arrives, the timeout passes, or the connection
// fails. Several requests may be in flight (bounded); responses are matched by
// correlation id, so their order does not matter.
//
// Failures, as Kafka's NetworkClient handles them: a request that times out
// closes the connection (its response could still arrive and the stream cannot
// be trusted to stay in step), failing every other request in flight with
// kDisconnected; the next send() reconnects. A failed connect makes the next
// attempt wait an exponential backoff (reconnect_backoff_ms doubling up to
// reconnect_backoff_max_ms, jittered by the seeded Random); a successful
// connect resets it. A response frame larger than max_response_bytes is
// refused from its size prefix, before its bytes are allocated, and closes the
// connection. The request timeout starts when send() is called; a connect
// under way is bounded by the transport's own connect timeout.
//
// Threads: a KafkaClient and its connection live on the executor given to
// create(); call send() and close() only from coroutines on that executor.
// The Clock keeps the backoff bookkeeping; waiting uses Asio timers. While
// connected, the connection's reader and writer keep the client alive: call
// close() to release it.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/random.h"
#include "net/transport.h"
#include "protocol/wire.h"

namespace samsa::net {

enum class ClientError {
  kNone = 0,
  kTimeout,           // no response within the request's timeout
  kDisconnected,      // the connection failed or was reset with the request in flight
  kConnectFailed,     // connecting failed (the next attempt waits the backoff)
  kTooManyInFlight,   // max_in_flight requests already wait for responses
  kResponseTooLarge,  // the response's size prefix exceeded max_response_bytes
  kBadResponse,       // a response frame that could not be decoded
  kClosed,            // close() was called
};
const char* to_string(ClientError e);

struct KafkaClientOptions {
  std::string host;
  uint16_t port = 0;
  std::string client_id = "samsa-broker";
  size_t max_in_flight = 64;
  int32_t max_response_bytes = 100 * 1024 * 1024;
  int64_t reconnect_backoff_ms = 50;        // Kafka's reconnect.backoff.ms default
  int64_t reconnect_backoff_max_ms = 1000;  // Kafka's reconnect.backoff.max.ms default
  double backoff_jitter = 0.2;              // +/- 20%, as Kafka's clients
};

// Kafka's exponential reconnect backoff: the n-th consecutive failure waits
// min * 2^(n-1), capped at max, times a random factor in [1 - jitter, 1 + jitter],
// and never more than max.
class ReconnectBackoff {
 public:
  ReconnectBackoff(int64_t min_ms, int64_t max_ms, double jitter, Random& rng)
      : min_ms_(min_ms), max_ms_(max_ms), jitter_(jitter), rng_(rng) {}
  int64_t on_failure();  // the delay before the next attempt
  void on_success() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  int64_t min_ms_, max_ms_;
  double jitter_;
  Random& rng_;
  int failures_ = 0;
};

struct ClientResponse {
  ClientError error = ClientError::kNone;
  protocol::Bytes frame;  // the response frame without its size prefix
  size_t body_offset = 0; // where the body starts (after the response header)
  bool ok() const { return error == ClientError::kNone; }
  std::span<const uint8_t> body() const { return std::span<const uint8_t>(frame).subspan(body_offset); }
};

class KafkaClient : public std::enable_shared_from_this<KafkaClient> {
 public:
  static std::shared_ptr<KafkaClient> create(asio::any_io_executor ex, Transport& transport, Clock& clock,
                                             Random& rng, KafkaClientOptions options);
  ~KafkaClient();

  // `body` is the encoded request body for api_key at api_version; it is copied
  // when the awaited send starts, before the send waits for anything.
  asio::awaitable<ClientResponse> send(int16_t api_key, int16_t api_version, std::span<const uint8_t> body,
                                       std::chrono::milliseconds timeout);

  // Encodes `req` with the generated codec, decodes the response into `resp`.
  template <typename Req, typename Resp>
  asio::awaitable<ClientError> call(int16_t api_key, int16_t api_version, const Req& req, Resp& resp,
                                    std::chrono::milliseconds timeout) {
    protocol::Writer w;
    req.encode(w, api_version);
    auto r = co_await send(api_key, api_version, w.buffer(), timeout);
    if (!r.ok()) co_return r.error;
    protocol::Reader reader(r.body());
    resp.decode(reader, api_version);
    co_return reader.ok() ? ClientError::kNone : ClientError::kBadResponse;
  }

  // Fails everything in flight with kClosed and refuses later sends.
  void close();

  bool connected() const { return conn_ != nullptr; }
  size_t in_flight() const { return pending_.size(); }
  uint64_t connects() const { return connects_; }        // successful connects so far
  int64_t last_backoff_ms() const { return last_backoff_ms_; }
  int consecutive_failures() const { return backoff_.failures(); }

 private:
  struct Pending;
  struct Conn;
  KafkaClient(asio::any_io_executor ex, Transport& transport, Clock& clock, Random& rng, KafkaClientOptions o);
  asio::awaitable<ClientError> ensure_connected(std::chrono::steady_clock::time_point deadline);
  asio::awaitable<void> read_loop(std::shared_ptr<Conn> c);
  asio::awaitable<void> write_loop(std::shared_ptr<Conn> c);
  void reset(const std::shared_ptr<Conn>& c, ClientError why);
  void complete(const std::shared_ptr<Pending>& p, ClientError e, protocol::Bytes frame = {}, size_t body_offset = 0);
  void wake_waiters();

  asio::any_io_executor ex_;
  Transport& transport_;
  Clock& clock_;
  KafkaClientOptions opt_;
  ReconnectBackoff backoff_;
  std::shared_ptr<Conn> conn_;
  bool connecting_ = false;
  // Sends waiting for a connect attempt or a backoff: cancelled when an attempt ends and on close().
  std::vector<std::shared_ptr<asio::steady_timer>> waiters_;
  int64_t next_attempt_ms_ = 0;                      // clock_.monotonic_ms() before which no connect starts
  int64_t last_backoff_ms_ = 0;
  int32_t next_correlation_id_ = 0;
  std::map<int32_t, std::shared_ptr<Pending>> pending_;
  uint64_t connects_ = 0;
  bool closed_ = false;
};

}  // namespace samsa::net
