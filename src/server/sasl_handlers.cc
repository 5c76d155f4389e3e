// SaslHandshake (17) and SaslAuthenticate (36), the authentication gate, and
// the bare-token framing of SaslHandshake v0. The mechanisms themselves are in
// net/ (PlainServer, ScramServer, OAuthBearerServer); the state of the exchange lives in the
// connection's net::Session, on the connection's shard.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "base/error_code.h"
#include "protocol/api_registry.h"
#include "protocol/messages/sasl_authenticate.h"
#include "protocol/messages/sasl_handshake.h"
#include "server/handlers.h"

namespace samsa::server {

namespace {

// A connection without a session (one made outside a Listener) counts as a non-SASL one.
const net::SaslConfig* sasl_of(const net::ConnectionInfo& c) {
  return c.listener && c.session ? c.listener->sasl.get() : nullptr;
}

// The response, then the connection closed when `close` (a refused or failed exchange).
template <typename Resp>
net::Response answer(const RequestContext& ctx, const Resp& resp, bool close) {
  auto out = make_response(ctx, resp);
  out.close_after = close;
  return out;
}

int64_t monotonic_ms() { return SystemClock::instance().monotonic_ms(); }
int64_t wall_ms() { return SystemClock::instance().now_ms(); }

// A successful exchange: the principal, and the session's end when
// connections.max.reauth.ms is set (KIP-368). A re-authentication must keep
// the principal (Kafka refuses a change of principal on re-authentication).
std::optional<std::string> complete(net::Session& s, const net::SaslConfig& cfg, const net::SaslStep& step,
                                    int64_t& lifetime_ms) {
  const std::string principal = "User:" + step.user;
  if (s.authenticated && s.principal != principal)
    return "Cannot change principals during re-authentication from " + s.principal + ": " + principal;
  s.principal = principal;
  s.authenticated = true;
  s.sasl.reset();
  s.raw_tokens = false;
  lifetime_ms = cfg.max_reauth_ms > 0 ? cfg.max_reauth_ms : 0;
  // KIP-368: with re-authentication on, a credential that expires sooner (an OAUTHBEARER token) ends
  // the session then, as Kafka bounds it by the token's lifetime.
  if (lifetime_ms > 0 && step.credential_expires_ms > 0) {
    int64_t left = step.credential_expires_ms - wall_ms();
    lifetime_ms = std::max<int64_t>(1, std::min(lifetime_ms, left));
  }
  s.expires_at_ms = lifetime_ms > 0 ? monotonic_ms() + lifetime_ms : 0;
  return std::nullopt;
}

}  // namespace

std::optional<net::Response> sasl_gate(const RequestContext& ctx) {
  auto& conn = *ctx.conn;
  if (!conn.session || !sasl_of(conn)) return std::nullopt;
  const int16_t key = ctx.api_key;
  if (key == protocol::api_key::ApiVersions || key == 17 || key == 36) return std::nullopt;
  auto& s = *conn.session;
  if (!s.authenticated) {
    spdlog::info("connection {} from {}: request of API key {} before SASL authentication, closing", conn.id,
                 conn.peer_host, key);
    return close_connection();
  }
  if (s.expires_at_ms > 0 && monotonic_ms() >= s.expires_at_ms) {
    spdlog::info("connection {} from {}: SASL session of {} expired (connections.max.reauth.ms), closing", conn.id,
                 conn.peer_host, s.principal);
    return close_connection();
  }
  return std::nullopt;
}

asio::awaitable<net::Response> handle_sasl_handshake(RequestContext& ctx, protocol::Reader& r) {
  protocol::SaslHandshakeRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  protocol::SaslHandshakeResponse resp;
  auto* cfg = sasl_of(*ctx.conn);
  net::Session none;
  auto& s = cfg ? *ctx.conn->session : none;
  // Not a SASL listener, an exchange already under way, or authenticated
  // without re-authentication enabled: Kafka answers ILLEGAL_SASL_STATE.
  if (!cfg || s.sasl || (s.authenticated && cfg->max_reauth_ms <= 0)) {
    resp.error_code = to_int(ErrorCode::ILLEGAL_SASL_STATE);
    co_return answer(ctx, resp, cfg != nullptr && !s.authenticated);
  }
  resp.mechanisms = cfg->mechanisms;
  s.sasl = cfg->make_server(req.mechanism);
  if (!s.sasl) {
    spdlog::info("connection {} from {}: unsupported SASL mechanism '{}', closing", ctx.conn->id,
                 ctx.conn->peer_host, req.mechanism);
    resp.error_code = to_int(ErrorCode::UNSUPPORTED_SASL_MECHANISM);
    co_return answer(ctx, resp, true);
  }
  s.raw_tokens = ctx.api_version == 0;
  co_return make_response(ctx, resp);
}

asio::awaitable<net::Response> handle_sasl_authenticate(RequestContext& ctx, protocol::Reader& r) {
  protocol::SaslAuthenticateRequest req;
  req.decode(r, ctx.api_version);
  if (!r.ok()) co_return close_connection();
  protocol::SaslAuthenticateResponse resp;
  auto* cfg = sasl_of(*ctx.conn);
  net::Session none;
  auto& s = cfg ? *ctx.conn->session : none;
  if (!cfg || !s.sasl) {
    resp.error_code = to_int(ErrorCode::ILLEGAL_SASL_STATE);
    resp.error_message = "SaslAuthenticate request received without a preceding SaslHandshake";
    co_return answer(ctx, resp, cfg != nullptr);
  }
  const std::string mechanism(s.sasl->mechanism());
  auto step = s.sasl->step(std::string_view(reinterpret_cast<const char*>(req.auth_bytes.data()),
                                            req.auth_bytes.size()));
  if (step.kind == net::SaslStep::Kind::kDone) {
    int64_t lifetime = 0;
    if (auto err = complete(s, *cfg, step, lifetime)) {
      step.kind = net::SaslStep::Kind::kFailed;
      step.error = *err;
    } else {
      resp.session_lifetime_ms = lifetime;
      spdlog::info("connection {} from {}: authenticated as {} with {}", ctx.conn->id, ctx.conn->peer_host,
                   s.principal, mechanism);
    }
  }
  if (step.kind == net::SaslStep::Kind::kContinue && !step.error.empty())
    spdlog::info("connection {} from {}: SASL {} credential refused: {}", ctx.conn->id, ctx.conn->peer_host,
                 mechanism, step.error);
  if (step.kind == net::SaslStep::Kind::kFailed) {
    spdlog::info("connection {} from {}: SASL {} authentication failed: {}", ctx.conn->id, ctx.conn->peer_host,
                 mechanism, step.error);
    s.sasl.reset();
    resp.error_code = to_int(ErrorCode::SASL_AUTHENTICATION_FAILED);
    resp.error_message = step.error;
    co_return answer(ctx, resp, true);
  }
  resp.auth_bytes.assign(step.response.begin(), step.response.end());
  co_return make_response(ctx, resp);
}

// SaslHandshake v0 framing: each token is a size-prefixed frame of its own,
// and so is the answer. A failure closes the connection without an answer,
// which is how such clients learn of it.
net::Response handle_raw_sasl_token(const net::ConnectionInfo& conn, const protocol::FrameBytes& token) {
  auto* cfg = sasl_of(conn);
  if (!cfg || !conn.session->sasl) return close_connection();
  auto& s = *conn.session;
  const std::string mechanism(s.sasl->mechanism());
  auto step = s.sasl->step(std::string_view(reinterpret_cast<const char*>(token.data()), token.size()));
  int64_t lifetime = 0;
  if (step.kind == net::SaslStep::Kind::kDone) {
    if (auto err = complete(s, *cfg, step, lifetime)) {
      step.kind = net::SaslStep::Kind::kFailed;
      step.error = *err;
    }
  }
  if (step.kind == net::SaslStep::Kind::kContinue && !step.error.empty())
    spdlog::info("connection {} from {}: SASL {} credential refused: {}", conn.id, conn.peer_host, mechanism,
                 step.error);
  if (step.kind == net::SaslStep::Kind::kFailed) {
    spdlog::info("connection {} from {}: SASL {} authentication failed: {}", conn.id, conn.peer_host, mechanism,
                 step.error);
    return close_connection();
  }
  net::Response out;
  out.frame.i32(0);  // size, patched by the connection
  out.frame.raw(reinterpret_cast<const uint8_t*>(step.response.data()), step.response.size());
  return out;
}

}  // namespace samsa::server
