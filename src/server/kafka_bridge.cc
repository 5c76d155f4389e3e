#include "server/kafka_bridge.h"

#include <unistd.h>

#include <atomic>

#include "net/request_metrics.h"
#include "protocol/api_registry.h"
#include "server/broker.h"
#include "server/worker_pool.h"

namespace samsa::server {

namespace {

constexpr const char* kClientId = "samsa-console";
// A request the console routes to another broker (a Fetch waits at most its max_wait_ms there).
constexpr std::chrono::milliseconds kRoutedTimeout{15000};

// Console "connections" get ids from the top of the range, far from the
// listeners' ids, so a log line names which one it is.
std::atomic<uint64_t> next_console_connection{uint64_t{1} << 62};

// The response as one buffer: memory bytes with the file ranges of a zero-copy
// Fetch read in between (on the worker pool: a disk read must not stall the
// shard). nullopt when a range cannot be read or the answer is too large.
std::optional<protocol::Bytes> flatten(net::Response& resp) {
  auto& buf = resp.frame.buffer();
  if (resp.frame.total_size() > kMaxBridgedResponseBytes) return std::nullopt;
  protocol::Bytes out;
  out.reserve(resp.frame.total_size());
  size_t written = 0;
  for (auto& sp : resp.frame.splices()) {
    out.insert(out.end(), buf.begin() + static_cast<std::ptrdiff_t>(written),
               buf.begin() + static_cast<std::ptrdiff_t>(sp.at));
    written = sp.at;
    size_t at = out.size();
    out.resize(at + sp.chunk.len);
    size_t got = 0;
    while (got < sp.chunk.len) {
      ssize_t n = ::pread(sp.chunk.fd, out.data() + at + got, sp.chunk.len - got,
                          static_cast<off_t>(sp.chunk.pos + static_cast<int64_t>(got)));
      if (n <= 0) return std::nullopt;
      got += static_cast<size_t>(n);
    }
  }
  out.insert(out.end(), buf.begin() + static_cast<std::ptrdiff_t>(written), buf.end());
  return out;
}

}  // namespace

asio::awaitable<std::optional<protocol::Bytes>> call_kafka_raw(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                               int16_t api_key, int16_t version,
                                                               protocol::Bytes body) {
  const auto* info = protocol::find_api(api_key);
  if (!info) co_return std::nullopt;
  const bool flexible = info->is_flexible(version);
  protocol::Writer w;
  w.i16(api_key);
  w.i16(version);
  w.i32(1);  // correlation id
  w.nstring(false, std::string(kClientId));
  if (flexible) w.uvarint(0);  // request header v2: no tagged fields
  w.raw(body);
  auto frame = std::make_shared<protocol::FrameBytes>(w.buffer().begin(), w.buffer().end());

  // Lives in this coroutine's frame for the whole call (handlers keep a pointer).
  net::ConnectionInfo conn;
  conn.id = next_console_connection.fetch_add(1, std::memory_order_relaxed);
  conn.peer_host = caller.peer_host;
  conn.shard = here.id;
  conn.session = std::make_shared<net::Session>();
  conn.session->principal = caller.principal;
  net::ApplyToken token = std::make_shared<int>(0);
  // In the request metrics as a client's request (no queue, no socket: the
  // "send" is reading a Fetch's file ranges into the answer).
  net::RequestTimes times;
  times.received = times.started = std::chrono::steady_clock::now();
  auto op = broker.handle(conn, frame, std::move(token));
  auto resp = co_await std::move(op);
  times.answered = times.send_start = std::chrono::steady_clock::now();
  if (!resp.send || resp.close_after) {
    times.sent = times.answered;
    net::record_request(api_key, times);
    co_return std::nullopt;
  }

  std::optional<protocol::Bytes> flat;
  if (resp.frame.splices().empty()) {
    flat = flatten(resp);
  } else {
    // `resp` stays in this frame (its keepalive is released on this shard) until the read is done.
    net::Response* r = &resp;
    auto read = WorkerPool::shared().run([r] { return flatten(*r); });
    flat = co_await std::move(read);
  }
  times.sent = std::chrono::steady_clock::now();
  net::record_request(api_key, times);
  if (!flat) co_return std::nullopt;
  // Strip the size, the correlation id and (flexible, but never ApiVersions) the header's tagged fields.
  protocol::Reader r(flat->data(), flat->size());
  r.i32();
  r.i32();
  if (flexible && api_key != protocol::api_key::ApiVersions) {
    uint32_t n = r.uvarint();
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.uvarint();
      r.skip(r.uvarint());
    }
  }
  if (!r.ok()) co_return std::nullopt;
  size_t header = flat->size() - r.remaining();
  co_return protocol::Bytes(flat->begin() + static_cast<std::ptrdiff_t>(header), flat->end());
}

asio::awaitable<std::optional<protocol::Bytes>> call_kafka_raw_at(Broker& broker, Shard& here, NodeId node,
                                                                  int16_t api_key, int16_t version,
                                                                  protocol::Bytes body) {
  auto op = broker.call_broker(here, node, api_key, version, std::move(body), kRoutedTimeout);
  co_return co_await std::move(op);
}

}  // namespace samsa::server
