#pragma once
// Shared plumbing of the operator tools: client properties (--command-config,
// k=v flags), librdkafka handles, a blocking raw-protocol client for the calls
// librdkafka 2.0.2 does not expose (topic ids, ApiVersions ranges), formatting.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/wire.h"

struct ssl_st;
struct ssl_ctx_st;

namespace samsa::cli {

using Properties = std::map<std::string, std::string>;

// Prints "ERROR: <msg>" on stderr (one line) and returns exit code 1.
int fail(const std::string& msg);
// Prints "Error: <msg>" on stderr, as Kafka's admin commands word their
// errors (ConsumerGroupCommand's printError), and returns exit code 1.
int kafka_error(const std::string& msg);

// Parses "k=v"; false when there is no '=' or the key is empty.
bool parse_kv(const std::string& s, std::string& k, std::string& v);
// Reads a Java-style properties file (k=v or k: v, '#'/'!' comments).
bool load_properties(const std::string& path, Properties& out, std::string& err);
std::vector<std::string> split(const std::string& s, char sep);

// Owns an rd_kafka_t; destroys it on scope exit. Single-threaded use by the tool.
struct KafkaDeleter { void operator()(rd_kafka_t* rk) const { if (rk) rd_kafka_destroy(rk); } };
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// Creates a producer/consumer/admin handle from properties; on failure returns
// null and sets err. Unknown properties are an error (clear message).
// `dr_msg_cb`/`opaque`: a producer's delivery report callback and its state;
// `kind` names the properties in the error message ("client", "producer").
using DeliveryCallback = void (*)(rd_kafka_t*, const rd_kafka_message_t*, void*);
KafkaHandle make_handle(rd_kafka_type_t type, const Properties& props, std::string& err,
                        DeliveryCallback dr_msg_cb = nullptr, void* opaque = nullptr,
                        const char* kind = "client");

// Resolves --bootstrap-server/--broker-list + --command-config into properties.
bool base_properties(const std::string& bootstrap, const std::string& command_config,
                     Properties& out, std::string& err);

// Fails fast with a clear message ("cannot connect to ...") when no broker of
// props' bootstrap.servers accepts a TCP connection within timeout_ms, before a
// librdkafka call would only report "Local: Timed out" after its own timeout.
bool check_reachable(const Properties& props, int timeout_ms, std::string& err);

std::string json_escape(const std::string& s);

// "1,2,3": broker ids as the tools print them.
std::string join_ids(const std::vector<int32_t>& ids);

// A blocking connection to one broker speaking the Kafka protocol with the
// project's generated codecs. Used by one thread; every call is bounded by the
// timeout given to connect().
class RawClient {
 public:
  RawClient() = default;
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Connects to the first reachable "host:port" of a comma-separated list.
  bool connect(const std::string& bootstrap, int timeout_ms, std::string& err);
  const std::string& peer() const { return peer_; }
  // After connect(): TLS and SASL (PLAIN, SCRAM-SHA-256/512) as the client
  // properties say (Java or librdkafka keys; raw_client_security.cc).
  bool secure(const Properties& props, std::string& err);
  // base_properties (--bootstrap-server, --command-config) into `props`, then connect and secure.
  bool open(const std::string& bootstrap, const std::string& command_config, int timeout_ms, Properties& props,
            std::string& err);

  // Sends one request and decodes the response body; false + err on any failure.
  template <typename Req, typename Resp>
  bool call(const Req& req, int16_t version, Resp& resp, std::string& err) {
    protocol::Writer w;
    req.encode(w, version);
    protocol::Bytes body;
    // ApiVersions responses always use header v0 (KIP-511), others v1 when flexible.
    bool flex_resp_header = Req::is_flexible(version) && Req::api_key != 18;
    if (!round_trip(Req::api_key, version, Req::is_flexible(version), w.buffer(),
                    flex_resp_header, body, err))
      return false;
    protocol::Reader r(body.data(), body.size());
    resp.decode(r, version);
    if (!r.ok()) { err = "could not decode the broker's response"; return false; }
    return true;
  }

 private:
  bool round_trip(int16_t key, int16_t version, bool flex_req, const protocol::Bytes& payload,
                  bool flex_resp_header, protocol::Bytes& body, std::string& err);
  bool io(bool writing, uint8_t* p, size_t n, std::string& err);
  bool start_tls(const Properties& props, std::string& err);
  bool sasl_login(const Properties& props, std::string& err);
  // One SaslAuthenticate exchange: sends `token`, returns the server's token.
  bool sasl_step(const std::string& token, std::string& reply, std::string& err);
  // Waits until fd_ is readable or writable (bounded by the deadline); false on timeout.
  bool wait_io(bool for_write, std::chrono::steady_clock::time_point deadline, std::string& err);
  ssl_ctx_st* ssl_ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  int fd_ = -1;
  int timeout_ms_ = 10000;
  int32_t correlation_ = 1;
  std::string peer_;
};

// One broker as Metadata lists it.
struct BrokerEndpoint {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> rack;
  std::string host_port() const { return host + ":" + std::to_string(port); }
};

// The brokers a Metadata request (no topics) through `boot` names, sorted by id; false + err when
// the call fails. The tools that ask every broker in turn start here.
bool list_brokers(RawClient& boot, std::vector<BrokerEndpoint>& out, std::string& err);

}  // namespace samsa::cli
