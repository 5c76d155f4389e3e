// The console's way to change or read the cluster: a Kafka request, encoded
// with the generated codecs, handed to Broker::handle as if it had come from a
// client connection of the console's principal. Writes made from the web
// console (create/delete topics, configs, partitions, produce, offset resets)
// therefore take exactly the Kafka API's path: the same validation, the same
// error codes, the same ACL checks.
//
// Threads: runs on `here` (the shard whose HTTP server took the request) and
// resumes there; file ranges of a Fetch answer are read on the worker pool.
#pragma once
#include <asio.hpp>
#include <optional>
#include <string>

#include "protocol/messages/fetch.h"
#include "protocol/wire.h"

namespace samsa::server {

class Broker;
struct Shard;

// Who the console acts as: "User:ANONYMOUS" without a login, "User:<name>"
// after HTTP Basic authentication.
struct ConsoleCaller {
  std::string principal = "User:ANONYMOUS";
  std::string peer_host;  // the browser's address, for host-based ACLs
};

// Bounds the bytes of one bridged answer (a Fetch asks for at most this).
inline constexpr size_t kMaxBridgedResponseBytes = size_t{8} << 20;

// The response body (after the response header) of one request, or nullopt
// when the broker closed the "connection" (malformed request, unsupported version).
asio::awaitable<std::optional<protocol::Bytes>> call_kafka_raw(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                               int16_t api_key, int16_t version,
                                                               protocol::Bytes body);

// A decoded `records` field is a view into the answer's bytes, which die with
// call_kafka: a Fetch answer takes a copy of its records.
inline void own_records(protocol::FetchResponse& resp) {
  for (auto& t : resp.responses)
    for (auto& p : t.partitions) {
      p.records.owned.assign(p.records.view.begin(), p.records.view.end());
      p.records.view = {};
    }
}
template <typename Resp>
void own_records(Resp&) {}  // no Records field

// Encodes `req` at `version`, calls the broker and decodes its answer.
template <typename Resp, typename Req>
asio::awaitable<std::optional<Resp>> call_kafka(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                int16_t version, const Req& req) {
  protocol::Writer w;
  req.encode(w, version);
  auto op = call_kafka_raw(broker, here, caller, Req::api_key, version, std::move(w.buffer()));
  auto body = co_await std::move(op);
  if (!body) co_return std::nullopt;
  protocol::Reader r(body->data(), body->size());
  Resp resp;
  resp.decode(r, version);
  if (!r.ok()) co_return std::nullopt;
  own_records(resp);
  co_return resp;
}

}  // namespace samsa::server
