// The console's routes: its pages, and the topic, config and quorum endpoints
// (records in console_records.cc, groups in console_groups.cc).
#include "server/console_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "base/error_code.h"
#include "console/assets.h"
#include "protocol/messages/create_partitions.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_topics.h"
#include "protocol/messages/describe_configs.h"
#include "protocol/messages/describe_quorum.h"
#include "protocol/messages/incremental_alter_configs.h"
#include "server/broker.h"

namespace samsa::server {

using net::HttpRequest;
using net::HttpResponse;
using observe::JsonWriter;

namespace console {

HttpResponse json(int status, std::string body) { return HttpResponse{status, "application/json", std::move(body), {}}; }

HttpResponse json_error(int status, std::string_view message) {
  JsonWriter w;
  w.begin_object().key("error").value(net::http_reason(status)).key("message").value(message).end_object();
  return json(status, w.take());
}

std::optional<std::string> field(const HttpRequest& req, std::string_view name) {
  if (req.method == "GET" || req.method == "HEAD" || req.body.empty()) return req.param(name);
  HttpRequest form;  // the body has the query string's syntax, with '+' for a space (a '+' is %2B)
  form.query = req.body;
  std::replace(form.query.begin(), form.query.end(), '+', ' ');
  return form.param(name);
}

std::optional<int64_t> int_field(const HttpRequest& req, std::string_view name) {
  auto v = field(req, name);
  if (!v || v->empty()) return std::nullopt;
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return out;
}

std::vector<std::pair<std::string, std::string>> pairs_field(const HttpRequest& req, std::string_view name) {
  std::vector<std::pair<std::string, std::string>> out;
  auto text = field(req, name).value_or("");
  std::string_view rest = text;
  while (!rest.empty() && out.size() < kMaxFormLines) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    size_t eq = line.find('=');
    out.emplace_back(std::string(line.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : std::string(line.substr(eq + 1)));
  }
  return out;
}

void write_error(JsonWriter& w, int16_t code, const std::optional<std::string>& message) {
  w.key("error").value(error_name(static_cast<ErrorCode>(code)));
  w.key("message");
  if (message) w.value(*message);
  else w.null();
}

HttpResponse no_answer() { return json_error(400, "the broker refused the request (malformed or unsupported)"); }

}  // namespace console

namespace {

using namespace console;

constexpr int8_t kTopicResource = 2;

std::string_view config_source_name(int8_t s) {
  switch (s) {  // Kafka's DescribeConfigsResponse ConfigSource
    case 1: return "DYNAMIC_TOPIC_CONFIG";
    case 2: return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case 3: return "DYNAMIC_BROKER_CONFIG";
    case 4: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case 5: return "STATIC_BROKER_CONFIG";
    case 6: return "DEFAULT_CONFIG";
    case 7: return "DYNAMIC_CLIENT_METRICS_CONFIG";
    case 8: return "DYNAMIC_GROUP_CONFIG";
    default: return "UNKNOWN";
  }
}

HttpResponse serve_asset(std::string_view path) {
  if (path == "/" || path == "/console") {  // the pages' relative links need the trailing '/'
    HttpResponse r{302, "text/plain; charset=utf-8", "see /console/\n", {}};
    r.headers.emplace_back("Location", "/console/");
    return r;
  }
  std::string_view rel = path.substr(std::string_view("/console").size());
  if (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  if (rel.empty()) rel = "index.html";
  const auto* asset = samsa::console::find_asset(rel);
  if (!asset) return json_error(404, "no such console file");
  HttpResponse r{200, std::string(asset->content_type), std::string(asset->body), {}};
  r.headers.emplace_back("Cache-Control", "no-cache");
  // The console loads nothing from elsewhere; say so to the browser too.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'");
  return r;
}

asio::awaitable<HttpResponse> get_quorum(Broker& broker, Shard& here, const ConsoleCaller& caller) {
  protocol::DescribeQuorumRequest req;
  req.topics.push_back({"__cluster_metadata", {{0, {}}}, {}});
  auto op = call_kafka<protocol::DescribeQuorumResponse>(broker, here, caller, 1, req);
  auto resp = co_await std::move(op);
  if (!resp) co_return no_answer();
  JsonWriter w;
  w.begin_object();
  const protocol::DescribeQuorumResponse::PartitionData* p = nullptr;
  if (!resp->topics.empty() && !resp->topics.front().partitions.empty()) p = &resp->topics.front().partitions.front();
  // One error: the request's, else the partition's (a follower answers NOT_LEADER_OR_FOLLOWER there).
  if (resp->error_code != 0 || !p) write_error(w, resp->error_code, resp->error_message);
  else write_error(w, p->error_code, p->error_message);
  if (p) {
    w.key("leader_id").value(p->leader_id).key("leader_epoch").value(p->leader_epoch);
    w.key("high_watermark").value(p->high_watermark);
    for (auto* list : {&p->current_voters, &p->observers}) {
      w.key(list == &p->current_voters ? "voters" : "observers").begin_array();
      for (auto& r : *list) {
        w.begin_object().key("id").value(r.replica_id).key("log_end_offset").value(r.log_end_offset);
        w.key("lag").value(std::max<int64_t>(0, p->high_watermark - r.log_end_offset));
        w.key("last_fetch_timestamp").value(r.last_fetch_timestamp);
        w.key("last_caught_up_timestamp").value(r.last_caught_up_timestamp).end_object();
      }
      w.end_array();
    }
  }
  w.end_object();
  co_return json(200, w.take());
}

asio::awaitable<HttpResponse> get_configs(Broker& broker, Shard& here, const ConsoleCaller& caller, std::string topic) {
  protocol::DescribeConfigsRequest req;
  req.resources.push_back({kTopicResource, topic, std::nullopt, {}});
  req.include_synonyms = false;
  auto op = call_kafka<protocol::DescribeConfigsResponse>(broker, here, caller, 4, req);
  auto resp = co_await std::move(op);
  if (!resp || resp->results.empty()) co_return no_answer();
  auto& res = resp->results.front();
  JsonWriter w;
  w.begin_object().key("topic").value(topic);
  write_error(w, res.error_code, res.error_message);
  w.key("configs").begin_array();
  for (auto& c : res.configs) {
    w.begin_object().key("name").value(c.name).key("value");
    if (c.value) w.value(*c.value);
    else w.null();
    w.key("source").value(config_source_name(c.config_source)).key("read_only").value(c.read_only);
    w.key("sensitive").value(c.is_sensitive).end_object();
  }
  w.end_array().end_object();
  co_return json(200, w.take());
}

// One resource's outcome: {"name", "error", "message"}.
HttpResponse result(std::string_view name, int16_t code, const std::optional<std::string>& message) {
  JsonWriter w;
  w.begin_object().key("name").value(name);
  write_error(w, code, message);
  w.end_object();
  return json(200, w.take());
}

asio::awaitable<HttpResponse> create_topic(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                           const HttpRequest& http) {
  protocol::CreateTopicsRequest::CreatableTopic t;
  t.name = field(http, "name").value_or("");
  t.num_partitions = static_cast<int32_t>(std::clamp<int64_t>(int_field(http, "partitions").value_or(-1), -1, INT32_MAX));
  t.replication_factor =
      static_cast<int16_t>(std::clamp<int64_t>(int_field(http, "replication_factor").value_or(-1), -1, INT16_MAX));
  for (auto& [k, v] : pairs_field(http, "configs")) t.configs.push_back({k, v, {}});
  protocol::CreateTopicsRequest req;
  req.topics.push_back(std::move(t));
  req.timeout_ms = 30000;
  auto op = call_kafka<protocol::CreateTopicsResponse>(broker, here, caller, 7, req);
  auto resp = co_await std::move(op);
  if (!resp || resp->topics.empty()) co_return no_answer();
  auto& r = resp->topics.front();
  co_return result(r.name, r.error_code, r.error_message);
}

asio::awaitable<HttpResponse> delete_topic(Broker& broker, Shard& here, const ConsoleCaller& caller, std::string topic) {
  protocol::DeleteTopicsRequest req;
  req.topics.push_back({topic, {}, {}});
  req.timeout_ms = 30000;
  auto op = call_kafka<protocol::DeleteTopicsResponse>(broker, here, caller, 6, req);
  auto resp = co_await std::move(op);
  if (!resp || resp->responses.empty()) co_return no_answer();
  auto& r = resp->responses.front();
  co_return result(topic, r.error_code, r.error_message);
}

// set=k=v lines, delete=k lines: one IncrementalAlterConfigs (SET = 0, DELETE = 1).
asio::awaitable<HttpResponse> alter_configs(Broker& broker, Shard& here, const ConsoleCaller& caller, std::string topic,
                                            const HttpRequest& http) {
  protocol::IncrementalAlterConfigsRequest::AlterConfigsResource res;
  res.resource_type = kTopicResource;
  res.resource_name = topic;
  for (auto& [k, v] : pairs_field(http, "set")) res.configs.push_back({k, 0, v, {}});
  for (auto& [k, v] : pairs_field(http, "delete")) res.configs.push_back({k, 1, std::nullopt, {}});
  protocol::IncrementalAlterConfigsRequest req;
  req.resources.push_back(std::move(res));
  req.validate_only = field(http, "validate_only").value_or("") == "true";
  auto op = call_kafka<protocol::IncrementalAlterConfigsResponse>(broker, here, caller, 1, req);
  auto resp = co_await std::move(op);
  if (!resp || resp->responses.empty()) co_return no_answer();
  auto& r = resp->responses.front();
  co_return result(topic, r.error_code, r.error_message);
}

asio::awaitable<HttpResponse> add_partitions(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                             std::string topic, const HttpRequest& http) {
  protocol::CreatePartitionsRequest req;
  auto count = static_cast<int32_t>(std::clamp<int64_t>(int_field(http, "count").value_or(0), 0, INT32_MAX));
  req.topics.push_back({topic, count, std::nullopt, {}});
  req.timeout_ms = 30000;
  auto op = call_kafka<protocol::CreatePartitionsResponse>(broker, here, caller, 3, req);
  auto resp = co_await std::move(op);
  if (!resp || resp->results.empty()) co_return no_answer();
  auto& r = resp->results.front();
  co_return result(topic, r.error_code, r.error_message);
}

HttpResponse method_not_allowed(std::string_view allow) {
  auto r = json_error(405, "method not allowed here");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

HttpResponse login_needed() {
  auto r = json_error(401, "log in with a SASL user of this broker");
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"samsa console\", charset=\"UTF-8\"");
  return r;
}

bool is_read(const HttpRequest& req) { return req.method == "GET" || req.method == "HEAD"; }

}  // namespace

asio::awaitable<std::optional<HttpResponse>> serve_console(Broker& broker, Shard& here, const HttpRequest& req) {
  std::string_view path = req.path;
  if (path == "/" || path == "/console" || path.starts_with("/console/")) {
    if (!is_read(req)) co_return method_not_allowed("GET, HEAD");
    co_return serve_asset(path);
  }
  if (!path.starts_with("/v1/")) co_return std::nullopt;  // /metrics and the unknown
  if (path.starts_with("/v1/health/")) co_return std::nullopt;  // probes need no login
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);

  // A change must carry X-Samsa-Console: a page of another site cannot send a
  // custom header without a CORS preflight, which this server never allows, so a
  // form on that site cannot make the user's browser change the cluster (CSRF).
  if (!is_read(req) && !req.header("x-samsa-console"))
    co_return json_error(403, "changes need the X-Samsa-Console header (sent by the console's pages)");
  // Every admin endpoint (the existing GETs too) needs the login when SASL is on.
  ConsoleCaller caller;
  if (login_required(broker)) {
    auto who = authenticate(broker, req);
    if (!who) co_return login_needed();
    caller = std::move(*who);
  }
  if (path == "/v1/whoami") {
    JsonWriter w;
    w.begin_object().key("principal").value(caller.principal).key("login_required").value(login_required(broker));
    w.end_object();
    co_return json(200, w.take());
  }
  if (path == "/v1/quorum") {
    if (!is_read(req)) co_return method_not_allowed("GET, HEAD");
    auto op = get_quorum(broker, here, caller);
    co_return co_await std::move(op);
  }
  if (path == "/v1/group" || path == "/v1/group/offsets") {
    bool reset = path == "/v1/group/offsets";
    if (reset ? req.method != "POST" : !is_read(req)) co_return method_not_allowed(reset ? "POST" : "GET, HEAD");
    auto op = reset ? reset_offsets(broker, here, caller, req) : describe_group(broker, here, caller, req);
    co_return co_await std::move(op);
  }
  if (path == "/v1/topics") {
    if (req.method != "POST") co_return std::nullopt;  // the list (http_api.cc)
    auto op = create_topic(broker, here, caller, req);
    co_return co_await std::move(op);
  }
  constexpr std::string_view kTopics = "/v1/topics/";
  if (!path.starts_with(kTopics)) co_return std::nullopt;
  // Topic names have no '/' (Kafka's legal characters are [a-zA-Z0-9._-]).
  std::string_view rest = path.substr(kTopics.size());
  size_t slash = rest.find('/');
  std::string topic(rest.substr(0, slash));
  std::string_view sub = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (sub.empty()) {
    if (req.method == "DELETE") {
      auto op = delete_topic(broker, here, caller, topic);
      co_return co_await std::move(op);
    }
    if (is_read(req)) co_return std::nullopt;  // the topic's partitions (http_api.cc)
    co_return method_not_allowed("GET, HEAD, DELETE");
  }
  if (sub == "configs") {
    if (is_read(req)) {
      auto op = get_configs(broker, here, caller, topic);
      co_return co_await std::move(op);
    }
    if (req.method != "POST") co_return method_not_allowed("GET, HEAD, POST");
    auto op = alter_configs(broker, here, caller, topic, req);
    co_return co_await std::move(op);
  }
  if (sub == "partitions") {
    if (req.method != "POST") co_return method_not_allowed("POST");
    auto op = add_partitions(broker, here, caller, topic, req);
    co_return co_await std::move(op);
  }
  if (sub == "records") {
    if (is_read(req)) {
      auto op = browse_records(broker, here, caller, topic, req);
      co_return co_await std::move(op);
    }
    if (req.method != "POST") co_return method_not_allowed("GET, HEAD, POST");
    auto op = produce_record(broker, here, caller, topic, req);
    co_return co_await std::move(op);
  }
  co_return json_error(404, "no such endpoint: " + req.path);
}

}  // namespace samsa::server
