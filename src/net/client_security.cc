#include "net/client_security.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <asio/ssl.hpp>
#include <functional>

#include "base/error_code.h"
#include "protocol/api_registry.h"
#include "protocol/batch_header.h"
#include "protocol/messages/sasl_authenticate.h"
#include "protocol/messages/sasl_handshake.h"
#include "net/scram.h"

namespace samsa::net {

namespace {

class SecurityCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "samsa.client_security"; }
  std::string message(int c) const override {
    switch (static_cast<ClientSecurityError>(c)) {
      case ClientSecurityError::kTlsHandshakeFailed: return "TLS handshake failed";
      case ClientSecurityError::kMechanismNotEnabled: return "SASL mechanism not enabled by the peer";
      case ClientSecurityError::kAuthenticationFailed: return "SASL authentication failed";
      case ClientSecurityError::kBadResponse: return "malformed response during authentication";
      case ClientSecurityError::kTimedOut: return "authentication timed out";
    }
    return "client security error";
  }
};

constexpr int16_t kHandshakeVersion = 1;     // KIP-152: tokens travel in SaslAuthenticate
constexpr int16_t kAuthenticateVersion = 2;  // flexible; session_lifetime_ms
constexpr int32_t kMaxSaslResponseBytes = 1 << 20;

class TlsStream final : public Stream {
 public:
  explicit TlsStream(std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> s) : s_(std::move(s)) {}
  ~TlsStream() override { close(); }
  asio::awaitable<asio::error_code> write_all(std::span<const uint8_t> bytes) override {
    asio::error_code ec;
    co_await asio::async_write(*s_, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }
  asio::awaitable<asio::error_code> read_exact(std::span<uint8_t> bytes) override {
    asio::error_code ec;
    co_await asio::async_read(*s_, asio::buffer(bytes.data(), bytes.size()),
                              asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }
  void close() override {
    asio::error_code ignored;
    s_->lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    s_->lowest_layer().close(ignored);
  }

 private:
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> s_;
};

// Closes whatever `close` closes when the deadline passes first; shared with
// the timer's handler, which may run after the coroutine has moved on.
struct Deadline {
  std::function<void()> close;
  bool done = false;
  bool fired = false;
};

std::shared_ptr<Deadline> arm(asio::steady_timer& timer, std::function<void()> close) {
  auto d = std::make_shared<Deadline>();
  d->close = std::move(close);
  timer.async_wait([d](const asio::error_code& e) {
    if (e || d->done) return;
    d->fired = true;
    d->close();
  });
  return d;
}

std::string tls_failure(SSL* ssl, const asio::error_code& ec) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    return std::string("the peer's certificate is not trusted: ") + X509_verify_cert_error_string(verify);
  return ec.message();
}

// One request/response over the stream: header v1 (v2 for flexible versions),
// the response read whole (bounded) and its header skipped.
asio::awaitable<std::string> round_trip(Stream& s, const std::string& client_id, int16_t api_key, int16_t version,
                                        int32_t correlation, const protocol::Bytes& body, protocol::Bytes& frame,
                                        size_t& body_at) {
  auto* info = protocol::find_api(api_key);
  const bool flexible = info && info->is_flexible(version);
  protocol::Writer w;
  w.i32(0);
  w.i16(api_key);
  w.i16(version);
  w.i32(correlation);
  w.string(false, client_id);
  if (flexible) w.uvarint(0);
  w.raw(body);
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
  if (auto ec = co_await s.write_all(w.buffer())) co_return "connection lost while authenticating (" + ec.message() + ")";
  uint8_t head[4];
  if (auto ec = co_await s.read_exact(std::span<uint8_t>(head, 4)))
    co_return "connection closed by the peer while authenticating (" + ec.message() + ")";
  auto size = static_cast<int32_t>(protocol::load_be32(head));
  if (size < 4 || size > kMaxSaslResponseBytes) co_return "response of " + std::to_string(size) + " bytes refused";
  frame.assign(static_cast<size_t>(size), 0);
  if (auto ec = co_await s.read_exact(frame)) co_return "connection closed by the peer while authenticating";
  protocol::Reader r(frame);
  if (r.i32() != correlation) co_return "response out of step (correlation id)";
  if (flexible) {
    uint32_t n = r.uvarint();
    if (n > r.remaining()) r.fail();
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.uvarint();
      r.skip(r.uvarint());
    }
  }
  if (!r.ok()) co_return "malformed response header";
  body_at = frame.size() - r.remaining();
  co_return std::string();
}

using LoginResult = std::pair<asio::error_code, std::string>;

// One SaslAuthenticate round: the server's token in `reply`, or a failure.
asio::awaitable<LoginResult> authenticate_step(Stream& s, const ClientSecurity& sec, int32_t& corr, std::string token,
                                               std::string& reply) {
  protocol::SaslAuthenticateRequest req;
  req.auth_bytes.assign(token.begin(), token.end());
  protocol::Writer w;
  req.encode(w, kAuthenticateVersion);
  protocol::Bytes frame;
  size_t at = 0;
  auto err = co_await round_trip(s, sec.client_id, protocol::SaslAuthenticateRequest::api_key, kAuthenticateVersion,
                                 corr++, w.buffer(), frame, at);
  if (!err.empty()) co_return LoginResult{ClientSecurityError::kBadResponse, err};
  protocol::Reader r(std::span<const uint8_t>(frame).subspan(at));
  protocol::SaslAuthenticateResponse resp;
  resp.decode(r, kAuthenticateVersion);
  if (!r.ok()) co_return LoginResult{ClientSecurityError::kBadResponse, "malformed SaslAuthenticate response"};
  if (resp.error_code != 0)
    co_return LoginResult{ClientSecurityError::kAuthenticationFailed,
                          resp.error_message.value_or("error " + std::to_string(resp.error_code))};
  reply.assign(resp.auth_bytes.begin(), resp.auth_bytes.end());
  co_return LoginResult{};
}

// SaslHandshake v1 for the configured mechanism (PLAIN or SCRAM-*).
asio::awaitable<LoginResult> handshake_step(Stream& s, const ClientSecurity& sec, int32_t& corr) {
  if (sec.sasl_mechanism != "PLAIN" && !scram_hash_of(sec.sasl_mechanism))
    co_return LoginResult{ClientSecurityError::kMechanismNotEnabled, "unsupported mechanism " + sec.sasl_mechanism};
  protocol::SaslHandshakeRequest req;
  req.mechanism = sec.sasl_mechanism;
  protocol::Writer w;
  req.encode(w, kHandshakeVersion);
  protocol::Bytes frame;
  size_t at = 0;
  auto err = co_await round_trip(s, sec.client_id, protocol::SaslHandshakeRequest::api_key, kHandshakeVersion, corr++,
                                 w.buffer(), frame, at);
  if (!err.empty()) co_return LoginResult{ClientSecurityError::kBadResponse, err};
  protocol::Reader r(std::span<const uint8_t>(frame).subspan(at));
  protocol::SaslHandshakeResponse resp;
  resp.decode(r, kHandshakeVersion);
  if (!r.ok()) co_return LoginResult{ClientSecurityError::kBadResponse, "malformed SaslHandshake response"};
  if (resp.error_code == 0) co_return LoginResult{};
  std::string enabled;
  for (auto& m : resp.mechanisms) enabled += (enabled.empty() ? "" : ", ") + m;
  co_return LoginResult{ClientSecurityError::kMechanismNotEnabled,
                        "the peer does not enable SASL mechanism " + sec.sasl_mechanism + " (it enables: " +
                            (enabled.empty() ? "none" : enabled) + "; error " + std::to_string(resp.error_code) + ")"};
}

}  // namespace

const std::error_category& client_security_category() {
  static const SecurityCategory c;
  return c;
}
std::error_code make_error_code(ClientSecurityError e) { return {static_cast<int>(e), client_security_category()}; }

std::string ClientSecurity::describe() const {
  std::string out = protocol;
  if (uses_sasl()) out += "/" + sasl_mechanism + " as " + username;
  return out + " (listener " + listener + ")";
}

asio::awaitable<std::pair<asio::error_code, std::string>> sasl_login(Stream& s, const ClientSecurity& sec) {
  int32_t corr = 0;
  LoginResult r = co_await handshake_step(s, sec, corr);
  std::string reply;
  if (!r.first && sec.sasl_mechanism == "PLAIN") {
    r = co_await authenticate_step(s, sec, corr, std::string(1, '\0') + sec.username + '\0' + sec.password, reply);
  } else if (!r.first) {
    ScramClient scram(*scram_hash_of(sec.sasl_mechanism), sec.username, sec.password);
    r = co_await authenticate_step(s, sec, corr, scram.first_message(), reply);
    std::string why;
    std::optional<std::string> final_msg;
    if (!r.first) final_msg = scram.final_message(reply, why);
    if (!r.first && !final_msg) r = LoginResult{ClientSecurityError::kAuthenticationFailed, why};
    if (!r.first) r = co_await authenticate_step(s, sec, corr, *final_msg, reply);
    if (!r.first && !scram.verify_server_final(reply, why))
      r = LoginResult{ClientSecurityError::kAuthenticationFailed, why};
  }
  co_return r;
}

asio::awaitable<SecureConnectResult> secure_connect(asio::ip::tcp::socket socket, const ClientSecurity& sec,
                                                    const std::string& host, std::chrono::milliseconds timeout) {
  SecureConnectResult out;
  auto ex = socket.get_executor();
  asio::steady_timer timer(ex, timeout);
  std::unique_ptr<Stream> stream;
  if (sec.uses_tls()) {
    if (!sec.tls) {
      out.error = ClientSecurityError::kTlsHandshakeFailed;
      out.message = "no TLS context for " + sec.protocol;
      co_return out;
    }
    auto tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket), *sec.tls);
    SSL* ssl = tls->native_handle();
    asio::error_code ec;
    in6_addr ip6;
    in_addr ip4;
    const bool is_ip = inet_pton(AF_INET, host.c_str(), &ip4) == 1 || inet_pton(AF_INET6, host.c_str(), &ip6) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl, host.c_str());
    if (sec.verify_hostname) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
      if (ok != 1) {
        out.error = ClientSecurityError::kTlsHandshakeFailed;
        out.message = "cannot verify host name " + host;
        co_return out;
      }
    }
    auto* raw = tls.get();
    auto guard = arm(timer, [raw] {
      asio::error_code ignored;
      raw->lowest_layer().close(ignored);
    });
    co_await tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    guard->done = true;
    if (ec || guard->fired) {
      out.error = guard->fired ? make_error_code(ClientSecurityError::kTimedOut)
                               : make_error_code(ClientSecurityError::kTlsHandshakeFailed);
      out.message = guard->fired ? "TLS handshake timed out" : "TLS handshake failed: " + tls_failure(ssl, ec);
      co_return out;
    }
    stream = std::make_unique<TlsStream>(std::move(tls));
  } else {
    stream = make_tcp_stream(std::move(socket));
  }
  if (sec.uses_sasl()) {
    auto* raw = stream.get();
    auto guard = arm(timer, [raw] { raw->close(); });
    auto [ec, why] = co_await sasl_login(*stream, sec);
    guard->done = true;
    if (guard->fired) {
      ec = ClientSecurityError::kTimedOut;
      why = "SASL authentication timed out";
    }
    if (ec) {
      out.error = ec;
      out.message = std::move(why);
      co_return out;
    }
  }
  timer.cancel();
  out.stream = std::move(stream);
  co_return out;
}

}  // namespace samsa::net
