// What a handler knows about the request it serves.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "net/connection.h"
#include "protocol/wire.h"

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
