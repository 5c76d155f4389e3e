// Shared pieces of the quorum RPC codec (raft_wire*.cc); not for other callers.
//
// Threads: pure functions.
#pragma once
#include <optional>
#include <span>
#include <string>

#include "protocol/wire.h"
#include "raft/raft_wire.h"

namespace samsa::raft::wire {

// Stores `text` in `*out` (when given); returns false, for `return set_error(...)`.
bool set_error(std::string* out, std::string text);
std::optional<std::string> cluster_id_of(const WireContext& ctx);
bool cluster_matches(const WireContext& ctx, const std::optional<std::string>& sent);
std::optional<NodeId> leader_of(int32_t id);  // -1 (unknown) -> nullopt
ErrorCode error_of(int16_t code);
// The errors Kafka's KRaft answers at the top level of a response, not per partition.
bool is_top_level(ErrorCode e);
// Marks `out` refused (INVALID_REQUEST unless already refused); returns nullopt.
std::optional<MessageBody> refuse(DecodedRaftRequest& out);
// Decodes any quorum request; with `ctx`, checks the cluster id and topic id.
DecodedRaftRequest decode_request(const WireContext* ctx, int16_t api_key, int16_t version,
                                  std::span<const uint8_t> body);

// Fetch (raft_wire_fetch.cc).
WireRequest encode_fetch_request(const WireContext& ctx, const FetchRequest& m, int16_t version);
std::optional<MessageBody> decode_fetch_request(const WireContext* ctx, int16_t v, std::span<const uint8_t> body,
                                                DecodedRaftRequest& out);
protocol::Bytes encode_fetch_response(const WireContext& ctx, int16_t v, const FetchResponse& m);
std::optional<MessageBody> decode_fetch_response(int16_t v, std::span<const uint8_t> body, std::string* why);

template <typename M>
protocol::Bytes encode_body(const M& m, int16_t v) {
  protocol::Writer w;
  m.encode(w, v);
  return std::move(w.buffer());
}

// A response carrying only a top-level error.
template <typename Resp>
protocol::Bytes error_only(int16_t v, ErrorCode error) {
  Resp out;
  out.error_code = to_int(error);
  return encode_body(out, v);
}

// Decodes all of `body` at `v`; false on an unknown version, a malformed body or trailing bytes.
template <typename M>
bool decode_body(M& m, int16_t v, std::span<const uint8_t> body, std::string* error) {
  if (v < M::min_version || v > M::max_version) return set_error(error, "unsupported version " + std::to_string(v));
  protocol::Reader r(body.data(), body.size());
  m.decode(r, v);
  if (!r.ok()) return set_error(error, "malformed body");
  if (r.remaining() != 0) return set_error(error, "trailing bytes after the body");
  return true;
}

}  // namespace samsa::raft::wire
