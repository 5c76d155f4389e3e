// One client connection: reads size-prefixed request frames, hands each to the
// server's handler (several may be in flight, bounded), and writes responses
// strictly in request order, as the Kafka protocol requires. Responses may carry
// file ranges, which are sent with sendfile() — zero copy.
//
// Ownership: a Connection lives on the shard (io_context thread) that accepted
// it; every member is touched only from that thread.
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "protocol/batch_header.h"
#include "protocol/wire.h"

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
};

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer_host;
  int peer_port = 0;
  int shard = 0;
};

struct ConnectionLimits {
  int32_t max_request_bytes = 100 * 1024 * 1024;  // socket.request.max.bytes
  size_t max_in_flight = 64;                       // per-connection pipelining bound
};

// The server's entry point. `frame` is the request without its size prefix.
using RequestHandler =
    std::function<asio::awaitable<Response>(const ConnectionInfo&, std::shared_ptr<protocol::FrameBytes> frame)>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, ConnectionInfo info, ConnectionLimits limits, RequestHandler handler);
  void start();
  void close();
  const ConnectionInfo& info() const { return info_; }
  // Requests read but not yet answered (shutdown waits for them).
  size_t in_flight() const { return pending_.size(); }

 private:
  struct Slot {
    std::optional<Response> response;
  };
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> handle(std::shared_ptr<Slot> slot, std::shared_ptr<protocol::FrameBytes> frame);
  asio::awaitable<bool> send_response(Response& r);
  asio::awaitable<bool> send_chunk(const protocol::FileChunk& c);
  // The same bytes through a buffer (pread + write): only for `make bench`, to
  // measure what sendfile saves (SAMSA_BENCH_NO_SENDFILE=1 in the environment).
  asio::awaitable<bool> copy_chunk(const protocol::FileChunk& c);
  asio::awaitable<void> wait(asio::steady_timer& t);

  asio::ip::tcp::socket socket_;
  ConnectionInfo info_;
  ConnectionLimits limits_;
  RequestHandler handler_;
  std::deque<std::shared_ptr<Slot>> pending_;  // in request order
  asio::steady_timer writer_wake_;
  asio::steady_timer reader_wake_;
  bool closed_ = false;
};

}  // namespace samsa::net
