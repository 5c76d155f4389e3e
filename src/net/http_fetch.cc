#include "net/http_fetch.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>

namespace samsa::net {

namespace {

struct Url {
  std::string scheme, host, port, path;
};

std::optional<Url> parse_http_url(const std::string& url) {
  Url u;
  auto colon = url.find("://");
  if (colon == std::string::npos) return std::nullopt;
  u.scheme = url.substr(0, colon);
  std::string rest = url.substr(colon + 3);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
  if (authority.front() == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = authority.substr(close + 2);
  } else {
    auto c = authority.rfind(':');
    u.host = authority.substr(0, c);
    if (c != std::string::npos) u.port = authority.substr(c + 1);
  }
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  return u;
}

FetchResult failed(std::string why) {
  FetchResult r;
  r.error = std::move(why);
  return r;
}

// "HTTP/1.x 200 ...\r\n...\r\n\r\nbody" -> body, or an error.
FetchResult http_body(const std::string& response) {
  auto end = response.find("\r\n\r\n");
  if (response.compare(0, 5, "HTTP/") != 0 || end == std::string::npos) return failed("not an HTTP response");
  auto sp = response.find(' ');
  std::string status = response.substr(sp + 1, 3);
  if (status != "200") return failed("HTTP status " + response.substr(sp + 1, response.find("\r\n") - sp - 1));
  std::string headers = response.substr(0, end);
  for (auto& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (headers.find("transfer-encoding: chunked") != std::string::npos)
    return failed("chunked HTTP responses are not read");
  FetchResult r;
  r.ok = true;
  r.body = response.substr(end + 4);
  return r;
}

FetchResult fetch_http(const Url& u, size_t max_bytes, int timeout_ms, const HttpExtras& extras) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &res); rc != 0)
    return failed("cannot resolve " + u.host + ": " + gai_strerror(rc));
  int fd = -1;
  for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return failed("cannot connect to " + u.host + ":" + u.port);
  std::string request = extras.method + " " + u.path + " HTTP/1.0\r\nHost: " + u.host +
                        "\r\nAccept: application/json\r\nConnection: close\r\n";
  for (const auto& h : extras.headers) request += h + "\r\n";
  if (extras.method != "GET") request += "Content-Length: " + std::to_string(extras.body.size()) + "\r\n";
  request += "\r\n" + extras.body;
  std::string response;
  std::string error;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  if (u.scheme == "https") {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_default_verify_paths(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, u.host.c_str());
    SSL_set1_host(ssl, u.host.c_str());
    if (SSL_connect(ssl) != 1) error = "TLS handshake with " + u.host + " failed";
  }
  auto send_all = [&](const char* p, size_t n) {
    while (n > 0) {
      int w = ssl ? SSL_write(ssl, p, static_cast<int>(n)) : static_cast<int>(::send(fd, p, n, MSG_NOSIGNAL));
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  };
  if (error.empty() && !send_all(request.data(), request.size())) error = "cannot send the request";
  char buf[16384];
  // Each read is bounded by the socket timeout, the whole answer by three of them: a server that
  // drips bytes must not hold the caller (a JWKS refresh, a broker's shutdown) for long.
  const auto deadline = std::chrono::steady_clock::now() + 3 * std::chrono::milliseconds(timeout_ms);
  while (error.empty()) {
    int r = ssl ? SSL_read(ssl, buf, sizeof buf) : static_cast<int>(::recv(fd, buf, sizeof buf, 0));
    if (r <= 0) break;
    response.append(buf, static_cast<size_t>(r));
    if (response.size() > max_bytes + 16384) error = "the response is too large";
    else if (std::chrono::steady_clock::now() > deadline) error = "the response took too long";
  }
  if (ssl) SSL_free(ssl);
  if (ctx) SSL_CTX_free(ctx);
  ERR_clear_error();
  ::close(fd);
  if (!error.empty()) return failed(error);
  return http_body(response);
}

}  // namespace

FetchResult fetch_url(const std::string& url, size_t max_bytes, int timeout_ms, const HttpExtras& extras) {
  if (url.rfind("file:", 0) == 0) {
    std::string path = url.substr(5);
    if (path.rfind("//", 0) == 0) path = path.substr(2);  // file:///abs -> /abs (an empty host)
    std::ifstream in(path, std::ios::binary);
    if (!in) return failed("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (ss.str().size() > max_bytes) return failed(path + " is too large");
    FetchResult r;
    r.ok = true;
    r.body = ss.str();
    return r;
  }
  auto u = parse_http_url(url);
  if (!u || (u->scheme != "http" && u->scheme != "https"))
    return failed("unsupported URL " + url + " (file:, http: or https:)");
  return fetch_http(*u, max_bytes, timeout_ms, extras);
}

}  // namespace samsa::net
