#include "cli/oauth_login.h"

#include <chrono>
#include <mutex>
#include <sstream>

#include "base/clock.h"
#include "base/json_value.h"
#include "cli/common.h"
#include "net/http_fetch.h"
#include "net/oauthbearer.h"
#include "net/scram.h"

namespace samsa::cli {

namespace {

std::string get(const Properties& p, const char* key) {
  auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

// application/x-www-form-urlencoded
std::string form_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out.push_back(static_cast<char>(c));
    else if (c == ' ') out.push_back('+');
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// The login of this process (make_handle installs it; the refresh callback reads it).
std::mutex g_mu;
Properties g_login;
OAuthToken g_first;  // fetched by install_oauth_login, handed over as soon as the handle exists

void refresh_cb(rd_kafka_t* rk, const char* /*oauthbearer_config*/, void* /*opaque*/) {
  Properties login;
  {
    std::lock_guard lock(g_mu);
    login = g_login;
  }
  OAuthToken t;
  std::string err;
  char errstr[512];
  if (!fetch_token(login, t, err)) {
    rd_kafka_oauthbearer_set_token_failure(rk, err.c_str());
    return;
  }
  if (rd_kafka_oauthbearer_set_token(rk, t.value.c_str(), t.expires_at_ms, t.principal.c_str(), nullptr, 0, errstr,
                                     sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR)
    rd_kafka_oauthbearer_set_token_failure(rk, errstr);
}

}  // namespace

bool fetch_token(const Properties& props, OAuthToken& out, std::string& err) {
  const std::string url = get(props, kOAuthEndpointKey);
  net::HttpExtras req;
  req.method = "POST";
  req.body = "grant_type=client_credentials";
  if (auto scope = get(props, kOAuthScopeKey); !scope.empty()) req.body += "&scope=" + form_encode(scope);
  // RFC 6749 2.3.1: the client id and secret, form-encoded, in HTTP Basic authentication.
  req.headers.push_back("Authorization: Basic " +
                        net::base64_encode([&] {
                          std::string s = form_encode(get(props, kOAuthClientIdKey)) + ":" +
                                          form_encode(get(props, kOAuthClientSecretKey));
                          return protocol::Bytes(s.begin(), s.end());
                        }()));
  req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  auto got = net::fetch_url(url, 1 << 20, 10000, req);
  if (!got.ok) {
    err = "OAuth token endpoint " + url + ": " + got.error;
    return false;
  }
  JsonValue doc;
  std::string why;
  const JsonValue* token = nullptr;
  if (!parse_json(got.body, doc, why) || !(token = doc.get("access_token")) || token->kind != JsonValue::Kind::String) {
    err = "OAuth token endpoint " + url + ": no access_token in its answer";
    return false;
  }
  // The principal and expiry librdkafka wants: the token's own sub and exp.
  std::string_view h, payload, sig;
  JsonValue claims;
  if (!net::jws::split(token->string, h, payload, sig) || !net::jws::json_part(payload, claims, why, "payload")) {
    err = "OAuth token endpoint " + url + ": the access token is not a JWT: " + why;
    return false;
  }
  const JsonValue* sub = claims.get("sub");
  const JsonValue* exp = claims.get("exp");
  out.value = token->string;
  out.principal = sub && sub->kind == JsonValue::Kind::String ? sub->string : get(props, kOAuthClientIdKey);
  if (exp && exp->kind == JsonValue::Kind::Number) out.expires_at_ms = static_cast<int64_t>(exp->number * 1000);
  else if (const JsonValue* in = doc.get("expires_in"); in && in->kind == JsonValue::Kind::Number)
    out.expires_at_ms = SystemClock::instance().now_ms() + static_cast<int64_t>(in->number * 1000);
  else out.expires_at_ms = SystemClock::instance().now_ms() + 3600 * 1000;
  return true;
}

OAuthToken unsecured_token(const std::string& config) {
  std::string principal = "anonymous", scope;
  int64_t life_s = 3600;
  std::istringstream in(config);
  for (std::string kv; in >> kv;) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "principal") principal = v;
    else if (k == "scope") scope = v;
    else if (k == "lifeSeconds") life_s = std::max<int64_t>(std::atoll(v.c_str()), 1);
  }
  const int64_t now_s = SystemClock::instance().now_ms() / 1000;
  std::string claims = "{\"sub\":" + json_escape(principal) + ",\"iat\":" + std::to_string(now_s) +
                       ",\"exp\":" + std::to_string(now_s + life_s);
  if (!scope.empty()) {
    claims += ",\"scope\":[";
    std::string item;
    std::istringstream list(scope);
    bool first = true;
    while (std::getline(list, item, ',')) {
      claims += (first ? "" : ",") + json_escape(item);
      first = false;
    }
    claims += "]";
  }
  claims += "}";
  OAuthToken t;
  t.value = net::jws::base64url_encode("{\"alg\":\"none\"}") + "." + net::jws::base64url_encode(claims) + ".";
  t.principal = principal;
  t.expires_at_ms = (now_s + life_s) * 1000;
  return t;
}

bool install_oauth_login(Properties& props, rd_kafka_conf_t* conf, std::string& err) {
  if (props.find(kOAuthEndpointKey) == props.end()) return true;
  Properties login;
  for (const char* k : {kOAuthEndpointKey, kOAuthClientIdKey, kOAuthClientSecretKey, kOAuthScopeKey}) {
    if (auto it = props.find(k); it != props.end()) {
      login[k] = it->second;
      props.erase(it);
    }
  }
  // Fetched once here so a wrong endpoint or secret fails the tool at once, with its reason.
  OAuthToken first;
  if (!fetch_token(login, first, err)) return false;
  {
    std::lock_guard lock(g_mu);
    g_login = login;
    g_first = first;
  }
  rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, refresh_cb);
  return true;
}

void enable_oauth_background(rd_kafka_t* rk) {
  OAuthToken first;
  {
    std::lock_guard lock(g_mu);
    first = g_first;
  }
  char errstr[512];
  if (!first.value.empty())
    rd_kafka_oauthbearer_set_token(rk, first.value.c_str(), first.expires_at_ms, first.principal.c_str(), nullptr, 0,
                                   errstr, sizeof errstr);
  if (rd_kafka_error_t* e = rd_kafka_sasl_background_callbacks_enable(rk)) rd_kafka_error_destroy(e);
}

}  // namespace samsa::cli
