// A small blocking URL reader for what a broker or a tool fetches now and then
// (an identity provider's JWKS, an OAuth token): file: URLs, and http: and
// https: with HTTP/1.0 (no chunked responses, no proxies). HTTPS checks the
// server's certificate and name against the system's trust store.
//
// Threads: blocking; call it off the event loops (a JWKS refresh thread, a
// command-line tool).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace samsa::net {

struct FetchResult {
  bool ok = false;
  std::string body;
  std::string error;
};

// The request beyond a plain GET: another method, its body and headers ("Name: value").
struct HttpExtras {
  std::string method = "GET";
  std::string body;
  std::vector<std::string> headers;
};

// The body of a 200 answer (at most `max_bytes`), each socket step bounded by `timeout_ms` and
// the whole answer by three times that.
FetchResult fetch_url(const std::string& url, size_t max_bytes, int timeout_ms, const HttpExtras& extras = {});

}  // namespace samsa::net
