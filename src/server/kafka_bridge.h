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
#include <functional>
#include <optional>
#include <string>

#include "base/types.h"

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

// The same request sent to broker `node` over this shard's inter-broker
// connection (Broker::call_broker), as this broker; nullopt when it did not answer.
asio::awaitable<std::optional<protocol::Bytes>> call_kafka_raw_at(Broker& broker, Shard& here, NodeId node,
                                                                  int16_t api_key, int16_t version,
                                                                  protocol::Bytes body);

template <typename Resp>
std::optional<Resp> decode_answer(const std::optional<protocol::Bytes>& body, int16_t version) {
  if (!body) return std::nullopt;
  protocol::Reader r(body->data(), body->size());
  Resp resp;
  resp.decode(r, version);
  if (!r.ok()) return std::nullopt;
  own_records(resp);
  return resp;
}

// Encodes `req` at `version`, calls the broker and decodes its answer.
template <typename Resp, typename Req>
asio::awaitable<std::optional<Resp>> call_kafka(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                int16_t version, const Req& req) {
  protocol::Writer w;
  req.encode(w, version);
  auto op = call_kafka_raw(broker, here, caller, Req::api_key, version, std::move(w.buffer()));
  auto body = co_await std::move(op);
  co_return decode_answer<Resp>(body, version);
}

// A request about data this broker may not hold — a partition's records, a
// group's state: answered here, unless the local answer says it is elsewhere
// (`elsewhere` names the broker: the partition's leader on
// NOT_LEADER_OR_FOLLOWER, the group's coordinator on NOT_COORDINATOR). Then
// the same request goes to that broker and its answer is returned (the local
// one when it does not answer). The console's user was authorized here — the
// ACL checks come before those errors, and every broker holds the same ACLs —
// and, as in Kafka's forwarding, the other broker authorizes this one.
template <typename Resp, typename Req>
asio::awaitable<std::optional<Resp>> call_kafka_routed(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                       int16_t version, const Req& req,
                                                       std::function<std::optional<NodeId>(const Resp&)> elsewhere) {
  auto local_op = call_kafka<Resp>(broker, here, caller, version, req);
  auto local = co_await std::move(local_op);
  if (!local) co_return local;
  const std::optional<NodeId> node = elsewhere(*local);
  if (!node) co_return local;
  protocol::Writer w;
  req.encode(w, version);
  auto op = call_kafka_raw_at(broker, here, *node, Req::api_key, version, std::move(w.buffer()));
  auto body = co_await std::move(op);
  auto remote = decode_answer<Resp>(body, version);
  co_return remote ? remote : local;
}

}  // namespace samsa::server
