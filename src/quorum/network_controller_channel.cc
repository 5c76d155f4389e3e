#include "quorum/network_controller_channel.h"

#include <spdlog/spdlog.h>

#include "protocol/messages/alter_configs.h"
#include "protocol/messages/alter_user_scram_credentials.h"
#include "protocol/messages/create_acls.h"
#include "protocol/messages/create_partitions.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_acls.h"
#include "protocol/messages/delete_topics.h"
#include "protocol/messages/incremental_alter_configs.h"

namespace samsa::quorum {

namespace {

// NOT_CONTROLLER on any entry of the response's list `entries`; false when
// the body does not parse (the caller takes the answer as it is).
template <typename Resp, typename Entries>
bool any_not_controller(std::span<const uint8_t> body, int16_t version, Entries Resp::*entries) {
  if (version < Resp::min_version || version > Resp::max_version) return false;
  protocol::Reader r(body.data(), body.size());
  Resp resp;
  resp.decode(r, version);
  if (!r.ok()) return false;
  for (auto& e : resp.*entries)
    if (e.error_code == to_int(ErrorCode::NOT_CONTROLLER)) return true;
  return false;
}

}  // namespace

std::optional<ErrorCode> controller_response_error(int16_t api_key, std::span<const uint8_t> body) {
  if (api_key != 43 && api_key != 45 && api_key != 46 && api_key != 56 && api_key != 62 && api_key != 63 && api_key != 64 &&
      api_key != 67)
    return std::nullopt;
  if (body.size() < 6) return std::nullopt;
  int16_t code = static_cast<int16_t>((body[4] << 8) | body[5]);
  return static_cast<ErrorCode>(code);
}

bool answers_not_controller(int16_t api_key, int16_t api_version, std::span<const uint8_t> body) {
  using namespace protocol;
  switch (api_key) {
    case CreateTopicsResponse::api_key:
      return any_not_controller(body, api_version, &CreateTopicsResponse::topics);
    case DeleteTopicsResponse::api_key:
      return any_not_controller(body, api_version, &DeleteTopicsResponse::responses);
    case CreatePartitionsResponse::api_key:
      return any_not_controller(body, api_version, &CreatePartitionsResponse::results);
    case AlterConfigsResponse::api_key:
      return any_not_controller(body, api_version, &AlterConfigsResponse::responses);
    case IncrementalAlterConfigsResponse::api_key:
      return any_not_controller(body, api_version, &IncrementalAlterConfigsResponse::responses);
    case CreateAclsResponse::api_key:
      return any_not_controller(body, api_version, &CreateAclsResponse::results);
    case DeleteAclsResponse::api_key:
      return any_not_controller(body, api_version, &DeleteAclsResponse::filter_results);
    case AlterUserScramCredentialsResponse::api_key:
      return any_not_controller(body, api_version, &AlterUserScramCredentialsResponse::results);
    default: {
      auto err = controller_response_error(api_key, body);
      return err && *err == ErrorCode::NOT_CONTROLLER;
    }
  }
}

NetworkControllerChannel::NetworkControllerChannel(asio::any_io_executor ex, net::Transport& transport, Clock& clock,
                                                   uint64_t seed, VoterAddresses voters, const QuorumMetadataLog& log,
                                                   int64_t retry_backoff_ms)
    : clients_(std::move(ex), transport, clock, seed, std::move(voters),
               "controller-channel-" + std::to_string(log.local_id().value), 64),
      log_(log),
      retry_backoff_ms_(std::max<int64_t>(retry_backoff_ms, 1)) {}

std::optional<NodeId> NetworkControllerChannel::active_controller() const { return log_.raft_leader().leader; }

asio::awaitable<cluster::ChannelResponse> NetworkControllerChannel::call(int16_t api_key, int16_t api_version,
                                                                         std::span<const uint8_t> body,
                                                                         std::chrono::milliseconds timeout) {
  std::vector<uint8_t> request(body.begin(), body.end());  // the caller's span may not outlive a suspension
  auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer backoff(clients_.executor());
  std::optional<NodeId> skip;  // the node that just answered NOT_CONTROLLER or failed
  // Bounded: every round either returns or waits the backoff, until the deadline.
  while (!clients_.closed() && std::chrono::steady_clock::now() < deadline) {
    std::optional<NodeId> target = active_controller();
    if (!target || target == skip) {
      auto& voters = clients_.voters();
      if (voters.empty()) {
        // An observer of a dynamic quorum that has not learned the voters yet.
        backoff.expires_after(std::chrono::milliseconds(retry_backoff_ms_));
        asio::error_code ec;
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      auto it = voters.begin();
      std::advance(it, static_cast<long>(next_voter_++ % voters.size()));
      target = it->first;
    }
    cluster::ChannelResponse out;
    out.controller = target;
    bool answered = false;
    if (*target == log_.local_id() && local_) {
      auto r = co_await local_(api_key, api_version, request);
      if (r) {
        out.body = std::move(*r);
        answered = true;
      }
    } else if (auto client = clients_.client_for(*target)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      auto r = co_await client->send(api_key, api_version, request, left);
      if (r.ok()) {
        auto b = r.body();
        out.body.assign(b.begin(), b.end());
        answered = true;
      } else {
        spdlog::debug("controller channel: API {} to node {} failed: {}", api_key, target->value,
                      net::to_string(r.error));
      }
    }
    if (answered) {
      if (!answers_not_controller(api_key, api_version, out.body)) {
        out.ok = true;
        co_return out;
      }
      spdlog::debug("controller channel: node {} is not the controller (API {}), looking again", target->value,
                    api_key);
    }
    skip = target;
    backoff.expires_after(std::chrono::milliseconds(retry_backoff_ms_));
    asio::error_code ec;
    co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return cluster::ChannelResponse{};
}

}  // namespace samsa::quorum
