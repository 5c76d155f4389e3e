// HTTP/1.x request heads: parsing with bounds, and response serialisation.
//
// Only what a metrics/admin endpoint needs: a request line, headers, and a
// body announced by Content-Length (read and bounded; chunked bodies are
// refused with 501). Everything is bounded before it is stored: the head's
// size, the number of headers, the body's size. A malformed head is an error
// value, never an exception.
//
// Threads: pure functions over their arguments.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace samsa::net {

struct HttpLimits {
  size_t max_head_bytes = 16 * 1024;  // request line + headers
  size_t max_headers = 64;
  size_t max_body_bytes = 64 * 1024;
  int64_t head_timeout_ms = 10000;    // from a request's first byte to the end of its body
  int64_t idle_timeout_ms = 60000;    // keep-alive: between requests
  size_t max_connections = 256;       // per shard; more are closed at once
};

struct HttpRequest {
  std::string method;  // as sent (case sensitive: "GET")
  std::string target;  // as sent: path and query
  std::string path;    // target up to '?', percent-decoded
  std::string query;   // after '?', raw
  int minor_version = 1;  // HTTP/1.minor
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  size_t content_length = 0;
  bool keep_alive = true;
  std::string body;

  // The first header of that (lower-case) name.
  std::optional<std::string_view> header(std::string_view name) const;
  // A query parameter (raw value, percent-decoded), or nullopt.
  std::optional<std::string> param(std::string_view name) const;
};

enum class HttpParse {
  kIncomplete,       // need more bytes (the head is not complete yet)
  kDone,             // the head is parsed; `head_bytes` were consumed
  kBadRequest,       // 400
  kHeadTooLarge,     // 431
  kBodyTooLarge,     // 413
  kNotImplemented,   // 501 (Transfer-Encoding)
  kBadVersion,       // 505
};

struct HttpParseResult {
  HttpParse status = HttpParse::kIncomplete;
  size_t head_bytes = 0;
  HttpRequest request;
};

// Parses the head at the start of `buf` (bytes received so far).
HttpParseResult parse_http_head(std::string_view buf, const HttpLimits& limits);

// The HTTP status code for a failed parse.
int http_status_for(HttpParse p);

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Allow, ...)
};

std::string_view http_reason(int status);
// Status line, headers (Content-Length, Content-Type, Connection) and, unless
// `head_only`, the body.
std::string serialize_http_response(const HttpResponse& r, bool keep_alive, bool head_only);

std::string percent_decode(std::string_view s);

}  // namespace samsa::net
