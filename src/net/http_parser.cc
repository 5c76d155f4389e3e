#include "net/http_parser.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "base/text.h"

namespace samsa::net {

namespace {

bool is_token_char(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}


bool has_token(std::string_view list, std::string_view token) {
  // Comma-separated, case-insensitive (Connection: keep-alive, Upgrade).
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    if (lower(trim_blanks(list.substr(pos, comma - pos))) == token) return true;
    pos = comma + 1;
  }
  return false;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

HttpParseResult fail(HttpParse p) {
  HttpParseResult r;
  r.status = p;
  return r;
}

// "METHOD SP target SP HTTP/1.x"
bool parse_request_line(std::string_view line, HttpRequest& req, HttpParse& err) {
  err = HttpParse::kBadRequest;
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return false;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), is_token_char)) return false;
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return false;
  if (version[5] != '1') {
    err = HttpParse::kBadVersion;
    return false;
  }
  req.method = std::string(method);
  req.target = std::string(target);
  req.minor_version = version[7] - '0';
  // Origin form only ("/path?query"); an absolute URI or "*" is not served here.
  if (target.empty() || target.front() != '/') return false;
  size_t q = target.find('?');
  req.path = percent_decode(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  return true;
}

}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}

std::optional<std::string> HttpRequest::param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    auto pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    auto k = pair.substr(0, eq);
    if (percent_decode(k) == name) return percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

HttpParseResult parse_http_head(std::string_view buf, const HttpLimits& limits) {
  // Leading empty lines before a request line are ignored (RFC 9112 2.2).
  size_t start = 0;
  while (start + 1 < buf.size() && buf[start] == '\r' && buf[start + 1] == '\n') start += 2;
  size_t end = buf.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    if (buf.size() > limits.max_head_bytes) return fail(HttpParse::kHeadTooLarge);
    return fail(HttpParse::kIncomplete);
  }
  if (end + 4 > limits.max_head_bytes) return fail(HttpParse::kHeadTooLarge);
  HttpParseResult r;
  auto& req = r.request;
  std::string_view head = buf.substr(start, end - start);
  size_t eol = head.find("\r\n");
  auto line = head.substr(0, eol);
  HttpParse err;
  if (!parse_request_line(line, req, err)) return fail(err);
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  bool saw_length = false;
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    auto h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    if (req.headers.size() >= limits.max_headers) return fail(HttpParse::kHeadTooLarge);
    size_t colon = h.find(':');
    // No obsolete line folding, no whitespace before the colon (RFC 9112 5.1).
    if (colon == std::string_view::npos || colon == 0) return fail(HttpParse::kBadRequest);
    auto name = h.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) return fail(HttpParse::kBadRequest);
    auto value = trim_blanks(h.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return fail(HttpParse::kBadRequest);
    req.headers.emplace_back(lower(name), std::string(value));
    auto& [k, v] = req.headers.back();
    if (k == "content-length") {
      size_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return fail(HttpParse::kBadRequest);
      if (saw_length && n != req.content_length) return fail(HttpParse::kBadRequest);
      saw_length = true;
      req.content_length = n;
    } else if (k == "transfer-encoding") {
      return fail(HttpParse::kNotImplemented);
    }
  }
  if (req.content_length > limits.max_body_bytes) return fail(HttpParse::kBodyTooLarge);
  if (req.minor_version >= 1 && !req.header("host")) return fail(HttpParse::kBadRequest);  // RFC 9112 3.2
  auto conn = req.header("connection");
  if (req.minor_version == 0) req.keep_alive = conn && has_token(*conn, "keep-alive");
  else req.keep_alive = !(conn && has_token(*conn, "close"));
  r.status = HttpParse::kDone;
  r.head_bytes = end + 4;
  return r;
}

int http_status_for(HttpParse p) {
  switch (p) {
    case HttpParse::kHeadTooLarge:
      return 431;
    case HttpParse::kBodyTooLarge:
      return 413;
    case HttpParse::kNotImplemented:
      return 501;
    case HttpParse::kBadVersion:
      return 505;
    case HttpParse::kDone:
      return 200;
    case HttpParse::kBadRequest:
    case HttpParse::kIncomplete:
      break;
  }
  return 400;
}

std::string_view http_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
  }
  return "Unknown";
}

std::string serialize_http_response(const HttpResponse& r, bool keep_alive, bool head_only) {
  std::string out;
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\n", r.status, http_reason(r.status));
  if (!r.content_type.empty()) fmt::format_to(std::back_inserter(out), "Content-Type: {}\r\n", r.content_type);
  fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", r.body.size());
  for (auto& [k, v] : r.headers) fmt::format_to(std::back_inserter(out), "{}: {}\r\n", k, v);
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "Cache-Control: no-store\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
}

}  // namespace samsa::net
