// What a handler knows about the request it serves.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "net/connection.h"
#include "protocol/wire.h"
#include "server/quota_manager.h"

namespace samsa::server {

class Broker;
struct Shard;

struct RequestContext {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  bool flexible = false;
  const net::ConnectionInfo* conn = nullptr;
  Broker* broker = nullptr;
  Shard* shard = nullptr;                    // the connection's shard (where the handler runs)
  std::shared_ptr<protocol::FrameBytes> frame;    // keeps views into the request alive
  // The connection's next request starts once this is gone (net::ApplyToken):
  // dies with the handler unless the handler lets go once its effects are applied.
  net::ApplyToken applying;

  // request_percentage (KIP-124; server/quota_throttle.h): the client's
  // request quota, when one applies; when the handler started; the time it
  // spent waiting on others (a long poll, acks=all, a rebalance: Kafka's
  // remote time, not charged); and, once charged, the throttle it earned.
  std::optional<QuotaCharge> request_quota;
  std::chrono::steady_clock::time_point started{};
  mutable int64_t waited_ns = 0;
  mutable bool request_charged = false;
  mutable int32_t request_throttle_ms = 0;
};

// Charges the request's handler time (now - started - waited) to its request
// quota, once; returns the throttle in ms (0 without a quota or within it).
int32_t charge_request_time(const RequestContext& ctx);

// Adds the time from its construction to its destruction to the request's
// waited time (see RequestContext::waited_ns).
class WaitedTime {
 public:
  explicit WaitedTime(const RequestContext& ctx) : ctx_(ctx), start_(std::chrono::steady_clock::now()) {}
  ~WaitedTime() {
    ctx_.waited_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_)
                          .count();
  }
  WaitedTime(const WaitedTime&) = delete;
  WaitedTime& operator=(const WaitedTime&) = delete;

 private:
  const RequestContext& ctx_;
  std::chrono::steady_clock::time_point start_;
};

// Encodes `body` after the response header of `ctx` into a response frame.
template <typename Body>
net::Response make_response(const RequestContext& ctx, const Body& body) {
  net::Response out;
  auto& w = out.frame;
  w.i32(0);  // size, patched by the connection
  w.i32(ctx.correlation_id);
  // Response header v1 (tagged fields) for flexible versions, except that
  // ApiVersions always answers with header v0 so any client can parse it.
  if (ctx.flexible && ctx.api_key != 18) w.uvarint(0);
  // A client over its request quota is told in the response's throttle_time_ms
  // (the larger of it and what the handler set), as Kafka's sendResponseMaybeThrottle.
  if constexpr (requires { body.throttle_time_ms; } && std::is_copy_constructible_v<Body>) {
    if (ctx.request_quota && !ctx.request_charged) {
      const int32_t t = charge_request_time(ctx);
      if (t > body.throttle_time_ms) {
        Body throttled = body;
        throttled.throttle_time_ms = t;
        throttled.encode(w, ctx.api_version);
        return out;
      }
    }
  }
  body.encode(w, ctx.api_version);
  return out;
}


// This broker as the client should reach it: the advertised address of the
// listener the request came in on (Kafka answers each listener with its own
// endpoints). Leaves host and port alone when the connection has no listener.
inline void advertised_for(const RequestContext& ctx, std::string& host, int32_t& port) {
  if (ctx.conn == nullptr || !ctx.conn->listener || ctx.conn->listener->advertised_host.empty()) return;
  host = ctx.conn->listener->advertised_host;
  port = ctx.conn->listener->advertised_port;
}

}  // namespace samsa::server
