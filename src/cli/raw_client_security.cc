#include "cli/raw_client_security.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <vector>

#include "cli/client_security.h"
#include "cli/common.h"
#include "cli/oauth_login.h"
#include "net/scram.h"
#include "protocol/messages/sasl_authenticate.h"
#include "protocol/messages/sasl_handshake.h"

namespace samsa::cli {

namespace {

std::string ssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

bool wait_fd(int fd, bool for_write, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  pollfd pf{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  return left > 0 && ::poll(&pf, 1, static_cast<int>(left)) > 0;
}

// Runs an OpenSSL call until it stops asking to wait; <= 0 and err on failure.
template <typename F>
int with_retries(ssl_st* ssl, int fd, std::chrono::steady_clock::time_point deadline, const std::string& peer,
                 std::string& err, F call) {
  for (;;) {
    int r = call();
    if (r > 0) return r;
    int e = SSL_get_error(ssl, r);
    if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && wait_fd(fd, e == SSL_ERROR_WANT_WRITE, deadline))
      continue;
    err = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? "timed out waiting for " + peer
          : e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? "connection closed by " + peer
                                                                 : "TLS error with " + peer + ": " + ssl_error();
    return r;
  }
}

std::string get(const Properties& p, const std::string& k) {
  auto it = p.find(k);
  return it == p.end() ? std::string() : it->second;
}

}  // namespace

bool tls_io(ssl_st* ssl, int fd, bool writing, uint8_t* p, size_t n, std::chrono::steady_clock::time_point deadline,
            const std::string& peer, std::string& err) {
  while (n > 0) {
    int chunk = static_cast<int>(std::min<size_t>(n, 1 << 30));
    int r = with_retries(ssl, fd, deadline, peer, err,
                         [&] { return writing ? SSL_write(ssl, p, chunk) : SSL_read(ssl, p, chunk); });
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void free_tls(ssl_st* ssl, ssl_ctx_st* ctx) {
  if (ssl) SSL_free(ssl);
  if (ctx) SSL_CTX_free(ctx);
}

bool RawClient::secure(const Properties& java_props, std::string& err) {
  Properties props = java_props;
  if (!translate_java_security(props, err)) return false;
  std::string protocol = get(props, "security.protocol");
  if (protocol.empty() || protocol == "PLAINTEXT") return true;
  if (protocol != "SSL" && protocol != "SASL_SSL" && protocol != "SASL_PLAINTEXT") {
    err = "unknown security.protocol " + protocol;
    return false;
  }
  if ((protocol == "SSL" || protocol == "SASL_SSL") && !start_tls(props, err)) return false;
  return protocol == "SSL" || sasl_login(props, err);
}

bool RawClient::start_tls(const Properties& props, std::string& err) {
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER, nullptr);
  std::string ca = get(props, "ssl.ca.location");
  if (ca.empty() ? SSL_CTX_set_default_verify_paths(ssl_ctx_) != 1
                 : SSL_CTX_load_verify_locations(ssl_ctx_, ca.c_str(), nullptr) != 1) {
    err = "cannot load the trust store " + ca + ": " + ssl_error();
    return false;
  }
  if (!get(props, "ssl.keystore.location").empty()) {
    err = "a PKCS12 key store is not supported by this command: use ssl.keystore.type=PEM";
    return false;
  }
  std::string cert = get(props, "ssl.certificate.location"), key = get(props, "ssl.key.location");
  if (!cert.empty() && (SSL_CTX_use_certificate_chain_file(ssl_ctx_, cert.c_str()) != 1 ||
                        SSL_CTX_use_PrivateKey_file(ssl_ctx_, (key.empty() ? cert : key).c_str(), SSL_FILETYPE_PEM) != 1)) {
    err = "cannot load the key store " + cert + ": " + ssl_error();
    return false;
  }
  ssl_ = SSL_new(ssl_ctx_);
  SSL_set_fd(ssl_, fd_);
  std::string host = peer_.substr(0, peer_.rfind(':'));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  SSL_set_tlsext_host_name(ssl_, host.c_str());
  if (get(props, "ssl.endpoint.identification.algorithm") != "none") SSL_set1_host(ssl_, host.c_str());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  return with_retries(ssl_, fd_, deadline, peer_, err, [&] { return SSL_connect(ssl_); }) > 0;
}

bool RawClient::sasl_step(const std::string& token, std::string& reply, std::string& err) {
  protocol::SaslAuthenticateRequest req;
  req.auth_bytes.assign(token.begin(), token.end());
  protocol::SaslAuthenticateResponse resp;
  if (!call(req, 1, resp, err)) return false;
  if (resp.error_code != 0) {
    err = "SASL authentication failed: " + resp.error_message.value_or("error " + std::to_string(resp.error_code));
    return false;
  }
  reply.assign(resp.auth_bytes.begin(), resp.auth_bytes.end());
  return true;
}

bool RawClient::sasl_login(const Properties& props, std::string& err) {
  std::string mechanism = get(props, "sasl.mechanisms");
  if (mechanism.empty()) mechanism = "GSSAPI";
  if (mechanism != "PLAIN" && mechanism != "SCRAM-SHA-256" && mechanism != "SCRAM-SHA-512" &&
      mechanism != "OAUTHBEARER") {
    err = "SASL mechanism " + mechanism + " is not supported by this command (PLAIN, SCRAM and OAUTHBEARER are)";
    return false;
  }
  protocol::SaslHandshakeRequest hs;
  hs.mechanism = mechanism;
  protocol::SaslHandshakeResponse hs_resp;
  if (!call(hs, 1, hs_resp, err)) return false;
  if (hs_resp.error_code != 0) {
    err = "the broker refused SASL mechanism " + mechanism + " (error " + std::to_string(hs_resp.error_code) + ")";
    return false;
  }
  std::string reply;
  if (mechanism == "OAUTHBEARER") {
    OAuthToken token;
    if (!get(props, kOAuthEndpointKey).empty()) {
      if (!fetch_token(props, token, err)) return false;
    } else {
      token = unsecured_token(get(props, "sasl.oauthbearer.config"));
    }
    // RFC 7628: a refusal is an error challenge, acknowledged with 0x01 before the failure.
    if (!sasl_step(std::string("n,,\x01") + "auth=Bearer " + token.value + "\x01\x01", reply, err)) return false;
    if (reply.empty()) return true;
    std::string ignored;
    if (sasl_step("\x01", ignored, err)) err = "OAUTHBEARER login to " + peer_ + " refused: " + reply;
    return false;
  }
  const std::string user = get(props, "sasl.username"), password = get(props, "sasl.password");
  if (mechanism == "PLAIN") return sasl_step(std::string(1, '\0') + user + '\0' + password, reply, err);
  net::ScramClient scram(*net::scram_hash_of(mechanism), user, password);
  std::string server_first, server_final;
  if (!sasl_step(scram.first_message(), server_first, err)) return false;
  auto final_msg = scram.final_message(server_first, err);
  if (!final_msg) {
    err = "SCRAM login to " + peer_ + " failed: " + err;
    return false;
  }
  if (!sasl_step(*final_msg, server_final, err)) return false;
  if (!scram.verify_server_final(server_final, err)) {
    err = "SCRAM login to " + peer_ + ": " + err;
    return false;
  }
  return true;
}

}  // namespace samsa::cli
