// The web console's part of the HTTP server: its pages (built into the binary,
// console/assets.h), the login, and the JSON endpoints that change or read the
// cluster through the Kafka APIs (kafka_bridge.h). http_api.cc asks
// serve_console first; nullopt means "not a console route".
//
// Request bodies are HTML form encoding (application/x-www-form-urlencoded:
// name=value&...), what a browser's URLSearchParams sends; answers are JSON.
// A Kafka error is answered 200 with {"error": NAME, "message": ...} per
// resource, as the Kafka API answers it, so the page shows Kafka's own words.
//
// Threads: every function runs on `here`, the shard whose HTTP server took the
// request; data of other shards is reached through the Kafka handlers.
#pragma once
#include <asio.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "net/http_parser.h"
#include "observe/json_writer.h"
#include "server/kafka_bridge.h"
#include "server/request_context.h"

namespace samsa::server {

class Broker;
struct Shard;

asio::awaitable<std::optional<net::HttpResponse>> serve_console(Broker& broker, Shard& here,
                                                                const net::HttpRequest& req);

namespace console {

// The answers that send a console request to another broker (call_kafka_routed).
inline constexpr int16_t kNotLeader = static_cast<int16_t>(ErrorCode::NOT_LEADER_OR_FOLLOWER);
inline constexpr int16_t kNotCoordinator = static_cast<int16_t>(ErrorCode::NOT_COORDINATOR);

// The bounds of what one console request may ask for.
inline constexpr int32_t kMaxBrowseRecords = 500;
inline constexpr int32_t kFetchMaxBytes = 1 << 20;
inline constexpr size_t kMaxFormLines = 1000;

net::HttpResponse json(int status, std::string body);
net::HttpResponse json_error(int status, std::string_view message);
// A form field (the body, or the query string for GET), percent-decoded.
std::optional<std::string> field(const net::HttpRequest& req, std::string_view name);
std::optional<int64_t> int_field(const net::HttpRequest& req, std::string_view name);
// "k=v" lines of a multi-line field (configs, headers); lines without '=' get an empty value.
std::vector<std::pair<std::string, std::string>> pairs_field(const net::HttpRequest& req, std::string_view name);
// {"error": "NONE"|NAME, "message": ...} members for a Kafka error code.
void write_error(observe::JsonWriter& w, int16_t code, const std::optional<std::string>& message);
net::HttpResponse no_answer();  // the broker closed the bridged request (bad input)

// console_records.cc: GET and POST /v1/topics/<topic>/records.
asio::awaitable<net::HttpResponse> browse_records(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                  std::string topic, const net::HttpRequest& req);
asio::awaitable<net::HttpResponse> produce_record(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                  std::string topic, const net::HttpRequest& req);
// console_groups.cc: GET /v1/group?group=, POST /v1/group/offsets.
asio::awaitable<net::HttpResponse> describe_group(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                  const net::HttpRequest& req);
asio::awaitable<net::HttpResponse> reset_offsets(Broker& broker, Shard& here, const ConsoleCaller& caller,
                                                 const net::HttpRequest& req);
// console_auth.cc: the caller of a request. When a broker listener uses SASL,
// HTTP Basic credentials checked against its PLAIN users or SCRAM credentials;
// nullopt: not (or wrongly) logged in.
// Built once at start (Observability::start_http, main thread): null when no
// Kafka listener uses SASL.
std::shared_ptr<const net::SaslConfig> login_config(Broker& broker);
bool login_required(Broker& broker);
std::optional<ConsoleCaller> authenticate(Broker& broker, const net::HttpRequest& req);

// Which topics and groups the caller may see in the lists of http_api.cc:
// DESCRIBE on each, as Kafka's Metadata and ListGroups filter them (all
// without an authorizer). Lives on `here`'s thread, for one request.
class Visibility {
 public:
  Visibility(Broker& broker, Shard& here, const ConsoleCaller& caller);
  Visibility(const Visibility&) = delete;
  Visibility& operator=(const Visibility&) = delete;
  bool topic(std::string_view name) const;
  bool group(std::string_view name) const;

 private:
  net::ConnectionInfo conn_;
  RequestContext ctx_;
};

}  // namespace console
}  // namespace samsa::server
