// One client connection: reads size-prefixed request frames, hands each to the
// server's handler and writes responses strictly in request order, as the Kafka
// protocol requires. Responses may carry file ranges, which are sent with
// sendfile() — zero copy — except over TLS, where they go through a buffer
// (see tls.h). On a TLS listener the handshake comes first; a peer that fails
// it (plaintext client, untrusted certificate) is closed and logged.
//
// Requests take effect in the order they were sent: the handler of a request
// starts only once the previous request's ApplyToken is gone (see below), so
// several requests may wait for their answers at once (bounded) but their
// effects never overlap. A connection with nothing in flight and no traffic
// for ConnectionLimits::idle_ms is closed, and so is one whose request is not
// completely received within idle_ms of its first byte (slow senders).
//
// Ownership: a Connection lives on the shard (io_context thread) that accepted
// it; every member is touched only from that thread.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/request_metrics.h"
#include "net/listener_context.h"
#include "net/sasl.h"
#include "protocol/batch_header.h"
#include "protocol/wire.h"

namespace asio::ssl {
template <typename Stream>
class stream;
}

namespace samsa::net {

// A response frame. `frame` starts with a 4-byte size placeholder that the
// connection fills in; its splices (file chunks) are sent with sendfile.
struct Response {
  protocol::Writer frame;
  bool send = true;          // false: the request has no response (acks=0 produce)
  bool close_after = false;  // close the connection after this response (or instead of it)
  // Held until the response has been written or dropped (e.g. a memory
  // reservation of server::ResponseBudget for an in-memory response).
  std::shared_ptr<void> keepalive{};
  // A client over its quota (server/quota_manager.h): once this response is
  // sent, the connection reads nothing more for throttle_ms (KIP-219: the
  // client is told, the broker mutes the channel). `throttle_before_send`
  // holds the response itself back that long instead, for the request
  // versions older than KIP-219 whose clients do not back off on their own.
  int32_t throttle_ms = 0;
  bool throttle_before_send = false;
};

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer_host;
  int peer_port = 0;
  int shard = 0;
  std::shared_ptr<const ListenerContext> listener;  // never null for accepted connections
  // The connection's principal and SASL state; the pointee is touched only on
  // the connection's shard (by the SASL handlers and the request gate).
  std::shared_ptr<Session> session;
};

struct ConnectionLimits {
  int32_t max_request_bytes = 100 * 1024 * 1024;  // socket.request.max.bytes
  size_t max_in_flight = 64;                       // per-connection pipelining bound
  int64_t idle_ms = 600000;                        // connections.max.idle.ms; < 0: never
};

// "This request's effects are applied": the connection starts the handler of
// its next request only when every copy of the current request's token is
// gone. A handler whose remaining work cannot be observed by later requests
// drops its copies early (Produce: once appended, before waiting for the
// fsync); otherwise the token dies with the handler. Copies may be dropped on
// any thread.
using ApplyToken = std::shared_ptr<void>;

// The server's entry point. `frame` is the request without its size prefix.
using RequestHandler = std::function<asio::awaitable<Response>(
    const ConnectionInfo&, std::shared_ptr<protocol::FrameBytes> frame, ApplyToken applying)>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, ConnectionInfo info, ConnectionLimits limits, RequestHandler handler);
  ~Connection();
  // Called once, on this connection's thread, when it closes (quota release).
  void on_close(std::function<void()> fn) { on_close_ = std::move(fn); }
  void start();
  void close();
  const ConnectionInfo& info() const { return info_; }
  // Requests read but not yet answered (shutdown waits for them).
  size_t in_flight() const { return pending_.size(); }

 private:
  // The listener's name for its metrics ("PLAINTEXT" when a test builds a connection without one).
  std::string_view listener_name() const { return info_.listener ? std::string_view(info_.listener->name) : "PLAINTEXT"; }

  struct Slot {
    std::optional<Response> response;
    int16_t api_key = -1;
    size_t bytes = 0;  // the request frame's size, counted in flight until answered
    RequestTimes times;
  };
  void finish(Slot& s, RequestTimes::TimePoint send_start);
  using Clock = std::chrono::steady_clock;
  asio::awaitable<void> tls_handshake();
  void serve();  // starts the reader and the writer
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> watchdog();
  asio::awaitable<void> handle(std::shared_ptr<Slot> slot, std::shared_ptr<protocol::FrameBytes> frame,
                               ApplyToken applying);
  ApplyToken make_apply_token();
  void touch() { last_activity_ = Clock::now(); }
  asio::awaitable<bool> send_response(Response& r);
  asio::awaitable<bool> send_chunk(const protocol::FileChunk& c);
  // The same bytes through a buffer (pread + write): only for `make bench`, to
  // measure what sendfile saves (SAMSA_BENCH_NO_SENDFILE=1 in the environment).
  asio::awaitable<bool> copy_chunk(const protocol::FileChunk& c);
  asio::awaitable<void> wait(asio::steady_timer& t);
  // Socket I/O through TLS when the listener has it.
  asio::awaitable<size_t> read_some(asio::mutable_buffer b);
  asio::awaitable<size_t> read_exact(asio::mutable_buffer b);
  asio::awaitable<size_t> write_all(const std::vector<asio::const_buffer>& bufs, asio::error_code& ec);
  asio::awaitable<size_t> write_all(asio::const_buffer b, asio::error_code& ec);
  int32_t frame_limit() const;  // smaller before SASL authentication

  asio::ip::tcp::socket socket_;
  // The listener's TLS context when this connection started (kept: a reload swaps the listener's).
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  ConnectionInfo info_;
  ConnectionLimits limits_;
  RequestHandler handler_;
  std::deque<std::shared_ptr<Slot>> pending_;  // in request order
  asio::steady_timer writer_wake_;
  asio::steady_timer reader_wake_;
  asio::steady_timer watchdog_timer_;
  bool closed_ = false;
  bool applying_ = false;             // the last request's ApplyToken is still alive
  size_t handlers_running_ = 0;       // requests read and not yet answered by their handler
  Clock::time_point last_activity_;   // last bytes read or written
  std::optional<Clock::time_point> receiving_since_;  // first byte of a request not yet fully read
  Clock::time_point muted_until_{};  // quota throttle: no reading before this
  void mute_for(int32_t ms);
  asio::awaitable<void> wait_unmuted();  // until the throttle's mute has passed (or the connection closed)
  std::function<void()> on_close_;
  size_t bytes_in_flight_ = 0;  // frames of pending_, given back to the shard's gauge at close
};

}  // namespace samsa::net
