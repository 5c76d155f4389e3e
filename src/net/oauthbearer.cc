#include "net/oauthbearer.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <optional>
#include <sstream>

#include "base/clock.h"
#include "base/json_value.h"
#include "net/jwt_validator.h"
#include "net/scram.h"

namespace samsa::net {

namespace {

constexpr char kSep = '\x01';
constexpr size_t kMaxMessageBytes = 64 * 1024;  // a client's first message, token included
constexpr const char* kInvalidTokenChallenge = "{\"status\":\"invalid_token\"}";
// Kafka's message once the client acknowledged the error challenge.
constexpr const char* kFailedMessage =
    "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER";

// A NumericDate claim in ms, or nullopt when absent; `bad` when present but not a number.
std::optional<int64_t> date_claim(const JsonValue& payload, const char* name, bool& bad) {
  const JsonValue* v = payload.get(name);
  if (!v) return std::nullopt;
  if (v->kind != JsonValue::Kind::Number || !std::isfinite(v->number) || std::fabs(v->number) > 1e15) {
    bad = true;
    return std::nullopt;
  }
  return static_cast<int64_t>(v->number * 1000.0);
}

std::vector<std::string> scopes_of(const JsonValue* claim) {
  std::vector<std::string> out;
  if (!claim) return out;
  if (claim->kind == JsonValue::Kind::String) {
    std::istringstream in(claim->string);
    for (std::string s; in >> s;) out.push_back(s);
  } else if (claim->kind == JsonValue::Kind::Array) {
    for (auto& v : claim->array)
      if (v.kind == JsonValue::Kind::String) out.push_back(v.string);
  }
  return out;
}

}  // namespace

namespace jws {

bool split(std::string_view token, std::string_view& header, std::string_view& payload, std::string_view& signature) {
  auto first = token.find('.');
  auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return false;
  header = token.substr(0, first);
  payload = token.substr(first + 1, second - first - 1);
  signature = token.substr(second + 1);
  return true;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string s(in);
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return std::nullopt;  // not base64url
  }
  while (s.size() % 4 != 0) s.push_back('=');
  auto bytes = base64_decode(s);
  if (!bytes) return std::nullopt;
  return std::string(bytes->begin(), bytes->end());
}

std::string base64url_encode(std::string_view bytes) {
  std::string s = base64_encode(protocol::Bytes(bytes.begin(), bytes.end()));
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

bool json_part(std::string_view base64url, JsonValue& out, std::string& err, const char* what) {
  auto text = base64url_decode(base64url);
  if (!text) {
    err = std::string("the token's ") + what + " is not base64url";
    return false;
  }
  std::string why;
  if (!parse_json(*text, out, why) || out.kind != JsonValue::Kind::Object) {
    err = std::string("the token's ") + what + " is not a JSON object";
    return false;
  }
  return true;
}

bool check_time_and_principal(const JsonValue& payload, const std::string& principal_claim, int64_t skew_ms,
                              int64_t now_ms, OAuthBearerToken& out) {
  const JsonValue* principal = payload.get(principal_claim);
  if (!principal || principal->kind != JsonValue::Kind::String || principal->string.empty()) {
    out.error = "the token has no string claim '" + principal_claim + "' naming the principal";
    return false;
  }
  bool bad = false;
  auto exp = date_claim(payload, "exp", bad);
  auto iat = date_claim(payload, "iat", bad);
  auto nbf = date_claim(payload, "nbf", bad);
  if (bad || !exp) {
    out.error = "the token needs a numeric 'exp' claim (and numeric 'iat' and 'nbf', if any)";
    return false;
  }
  if (now_ms - skew_ms >= *exp) {
    out.error = "the token has expired";
    return false;
  }
  if (iat && *iat > now_ms + skew_ms) {
    out.error = "the token was issued in the future ('iat')";
    return false;
  }
  if (nbf && *nbf > now_ms + skew_ms) {
    out.error = "the token is not valid yet ('nbf')";
    return false;
  }
  out.principal = principal->string;
  out.expires_at_ms = *exp;
  return true;
}

}  // namespace jws

OAuthBearerToken validate_unsecured_token(std::string_view token, const OAuthBearerOptions& options, int64_t now_ms) {
  OAuthBearerToken out;
  std::string_view header_part, payload_part, signature;
  if (!jws::split(token, header_part, payload_part, signature)) {
    out.error = "an unsecured JWS has three parts separated by '.'";
    return out;
  }
  if (!signature.empty()) {
    out.error = "an unsecured JWS has an empty signature (this listener validates unsecured tokens only)";
    return out;
  }
  JsonValue header, payload;
  if (!jws::json_part(header_part, header, out.error, "header") ||
      !jws::json_part(payload_part, payload, out.error, "payload"))
    return out;
  const JsonValue* alg = header.get("alg");
  if (!alg || alg->kind != JsonValue::Kind::String || alg->string != "none") {
    out.error = "the token's header must say \"alg\":\"none\" (an unsecured JWS)";
    return out;
  }
  if (!jws::check_time_and_principal(payload, options.principal_claim, options.clock_skew_ms, now_ms, out)) return out;
  auto scopes = scopes_of(payload.get(options.scope_claim));
  for (auto& want : options.required_scope) {
    if (std::find(scopes.begin(), scopes.end(), want) == scopes.end()) {
      out.error = "the token's scope lacks the required '" + want + "'";
      out.principal.clear();
      return out;
    }
  }
  out.ok = true;
  return out;
}

OAuthBearerServer::OAuthBearerServer(std::shared_ptr<const OAuthBearerOptions> options,
                                     std::function<int64_t()> now_ms)
    : options_(std::move(options)), now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>([] { return SystemClock::instance().now_ms(); })) {}

SaslStep OAuthBearerServer::step(std::string_view message) {
  SaslStep out;
  if (state_ == State::kErrorSent) {
    // The client's acknowledgement of the error challenge: the exchange fails now.
    state_ = State::kDone;
    out.error = kFailedMessage;
    return out;
  }
  if (state_ == State::kDone) {
    out.error = "Authentication failed: SASL/OAUTHBEARER exchange already completed";
    return out;
  }
  state_ = State::kDone;
  if (message.size() > kMaxMessageBytes) {
    out.error = "Invalid OAUTHBEARER client first message: too long";
    return out;
  }
  // gs2-header: "n," or "y," then an optional "a=<authzid>" and ",".
  if (message.size() < 3 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',') {
    out.error = "Invalid OAUTHBEARER client first message: bad GS2 header";
    return out;
  }
  size_t comma = message.find(',', 2);
  if (comma == std::string_view::npos) {
    out.error = "Invalid OAUTHBEARER client first message: bad GS2 header";
    return out;
  }
  std::string_view authzid = message.substr(2, comma - 2);
  if (!authzid.empty()) {
    if (authzid.substr(0, 2) != "a=") {
      out.error = "Invalid OAUTHBEARER client first message: bad GS2 header";
      return out;
    }
    authzid.remove_prefix(2);
  }
  std::string_view rest = message.substr(comma + 1);
  if (rest.size() < 2 || rest.front() != kSep || rest.substr(rest.size() - 2) != std::string_view("\x01\x01", 2)) {
    out.error = "Invalid OAUTHBEARER client first message: bad key/value framing";
    return out;
  }
  rest = rest.substr(1, rest.size() - 2);  // "k=v\x01k=v\x01...": each pair ends with the separator
  std::string_view auth;
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t end = rest.find(kSep, pos);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view kv = rest.substr(pos, end - pos);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      out.error = "Invalid OAUTHBEARER client first message: bad key/value pair";
      return out;
    }
    if (kv.substr(0, eq) == "auth") auth = kv.substr(eq + 1);
    pos = end + 1;
  }
  constexpr std::string_view kBearer = "bearer ";
  bool bearer = auth.size() > kBearer.size() &&
                std::equal(kBearer.begin(), kBearer.end(), auth.begin(),
                           [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
  if (!bearer) {
    out.error = "Invalid OAUTHBEARER client first message: no 'auth=Bearer <token>'";
    return out;
  }
  const std::string_view jwt = auth.substr(kBearer.size());
  OAuthBearerToken token;
  if (options_->jwks) {
    bool unknown_kid = false;
    token = validate_signed_token(jwt, *options_->jwks->keys(), *options_->jwt, now_ms_(), &unknown_kid);
    if (unknown_kid) options_->jwks->request_refresh();  // the provider may have rotated its keys
  } else {
    token = validate_unsecured_token(jwt, *options_, now_ms_());
  }
  if (!token.ok) {
    // RFC 7628: an error challenge, acknowledged by the client before the failure.
    state_ = State::kErrorSent;
    out.kind = SaslStep::Kind::kContinue;
    out.response = kInvalidTokenChallenge;
    out.error = token.error;
    return out;
  }
  if (!authzid.empty() && authzid != token.principal) {
    out.error = "Authentication failed: Client requested an authorization id that is different from username";
    return out;
  }
  out.kind = SaslStep::Kind::kDone;
  out.user = token.principal;
  out.credential_expires_ms = token.expires_at_ms;
  return out;
}

}  // namespace samsa::net
