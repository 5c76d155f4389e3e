#include "cli/common.h"

#include "cli/client_security.h"
#include "cli/oauth_login.h"
#include "cli/raw_client_security.h"
#include "protocol/messages/metadata.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace samsa::cli {

int fail(const std::string& msg) {
  std::fprintf(stderr, "ERROR: %s\n", msg.c_str());
  return 1;
}

int kafka_error(const std::string& msg) {
  std::fprintf(stderr, "Error: %s\n", msg.c_str());
  return 1;
}

bool parse_kv(const std::string& s, std::string& k, std::string& v) {
  auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  k = s.substr(0, eq);
  v = s.substr(eq + 1);
  return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    auto p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

static std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool load_properties(const std::string& path, Properties& out, std::string& err) {
  std::ifstream in(path);
  if (!in) { err = "cannot read " + path + ": " + std::strerror(errno); return false; }
  std::string line, next;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    // A trailing odd backslash continues the value on the next line (a long
    // sasl.jaas.config is usually written so), as java.util.Properties reads it.
    auto odd_backslash = [](const std::string& l) {
      size_t n = 0;
      while (n < l.size() && l[l.size() - 1 - n] == '\\') ++n;
      return n % 2 == 1;
    };
    while (odd_backslash(line) && std::getline(in, next)) {
      line.pop_back();
      line += trim(next);
    }
    auto p = line.find_first_of("=:");
    if (p == std::string::npos) { err = path + ": not a key=value line: " + line; return false; }
    out[trim(line.substr(0, p))] = trim(line.substr(p + 1));
  }
  return true;
}

bool base_properties(const std::string& bootstrap, const std::string& command_config,
                     Properties& out, std::string& err) {
  if (!command_config.empty() && !load_properties(command_config, out, err)) return false;
  if (!bootstrap.empty()) out["bootstrap.servers"] = bootstrap;
  if (out.find("bootstrap.servers") == out.end()) {
    err = "Missing required argument \"[bootstrap-server]\"";
    return false;
  }
  return true;
}

KafkaHandle make_handle(rd_kafka_type_t type, const Properties& props, std::string& err, DeliveryCallback dr_msg_cb,
                        void* opaque, const char* kind) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Tools must not hang on an unreachable broker: fail fast on connection errors too.
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
  Properties translated = props;  // the Java client's security keys, in librdkafka's terms
  if (!translate_java_security(translated, err)) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  const bool oauth = translated.count(kOAuthEndpointKey) > 0;
  if (!install_oauth_login(translated, conf, err)) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  for (auto& [k, v] : translated) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      err = std::string("invalid ") + kind + " property " + k + "=" + v + ": " + errstr;
      return nullptr;
    }
  }
  if (dr_msg_cb) rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
  if (opaque) rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    err = errstr;
    return nullptr;
  }
  if (oauth) enable_oauth_background(rk);
  return KafkaHandle(rk);
}

bool check_reachable(const Properties& props, int timeout_ms, std::string& err) {
  auto it = props.find("bootstrap.servers");
  RawClient probe;
  return it != props.end() && probe.connect(it->second, timeout_ms, err);
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

std::string json_escape(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

RawClient::~RawClient() {
  free_tls(ssl_, ssl_ctx_);
  if (fd_ >= 0) ::close(fd_);
}

static int connect_with_timeout(const std::string& host, const std::string& port, int timeout_ms,
                                std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) { err = host + ": " + gai_strerror(rc); return -1; }
  int fd = -1;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, timeout_ms) == 1) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr == 0) break;
        err = std::strerror(soerr);
      } else {
        err = "connection timed out";
      }
    } else {
      err = std::strerror(errno);
    }
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  return fd;
}

bool RawClient::open(const std::string& bootstrap, const std::string& command_config, int timeout_ms,
                     Properties& props, std::string& err) {
  return base_properties(bootstrap, command_config, props, err) &&
         connect(props["bootstrap.servers"], timeout_ms, err) && secure(props, err);
}

bool RawClient::connect(const std::string& bootstrap, int timeout_ms, std::string& err) {
  timeout_ms_ = timeout_ms;
  std::string last;
  for (const auto& hp : split(bootstrap, ',')) {
    auto colon = hp.rfind(':');
    if (colon == std::string::npos) { last = "bad host:port '" + hp + "'"; continue; }
    std::string host = hp.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    std::string e;
    int fd = connect_with_timeout(host, hp.substr(colon + 1), timeout_ms, e);
    if (fd >= 0) {
      fd_ = fd;
      peer_ = hp;
      return true;
    }
    last = hp + ": " + e;
  }
  err = "cannot connect to " + bootstrap + " (" + last + ")";
  return false;
}

bool RawClient::wait_io(bool for_write, std::chrono::steady_clock::time_point deadline, std::string& err) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  pollfd pf{fd_, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  if (left <= 0 || ::poll(&pf, 1, static_cast<int>(left)) == 0) {
    err = "timed out waiting for " + peer_;
    return false;
  }
  return true;
}

bool RawClient::io(bool writing, uint8_t* p, size_t n, std::string& err) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  if (ssl_) return tls_io(ssl_, fd_, writing, p, n, deadline, peer_, err);
  while (n > 0) {
    ssize_t k = writing ? ::send(fd_, p, n, MSG_NOSIGNAL) : ::recv(fd_, p, n, 0);
    if (k > 0) { p += k; n -= static_cast<size_t>(k); continue; }
    if (k == 0) { err = "connection closed by " + peer_; return false; }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      err = std::string("I/O error with ") + peer_ + ": " + std::strerror(errno);
      return false;
    }
    if (!wait_io(writing, deadline, err)) return false;
  }
  return true;
}

bool RawClient::round_trip(int16_t key, int16_t version, bool flex_req,
                           const protocol::Bytes& payload, bool flex_resp_header,
                           protocol::Bytes& body, std::string& err) {
  if (fd_ < 0) { err = "not connected"; return false; }
  protocol::Writer h;
  h.i32(0);  // size, patched below
  h.i16(key);
  h.i16(version);
  int32_t corr = correlation_++;
  h.i32(corr);
  h.nstring(false, std::string("samsa-cli"));  // client id is never compact
  if (flex_req) h.uvarint(0);                  // no header tagged fields
  h.raw(std::span<const uint8_t>(payload));
  h.patch_i32(0, static_cast<int32_t>(h.size() - 4));
  if (!io(true, h.buffer().data(), h.size(), err)) return false;
  uint8_t sz[4];
  if (!io(false, sz, 4, err)) return false;
  uint32_t n = (uint32_t(sz[0]) << 24) | (uint32_t(sz[1]) << 16) | (uint32_t(sz[2]) << 8) | sz[3];
  // Bound the allocation: no admin response we read comes near 100 MiB.
  if (n < 4 || n > (100u << 20)) { err = "invalid response size from " + peer_; return false; }
  protocol::Bytes buf(n);
  if (!io(false, buf.data(), n, err)) return false;
  protocol::Reader r(buf.data(), buf.size());
  if (r.i32() != corr) { err = "correlation id mismatch from " + peer_; return false; }
  if (flex_resp_header) {
    uint32_t tags = r.uvarint();
    for (uint32_t i = 0; i < tags && r.ok(); ++i) {
      r.uvarint();
      r.skip(r.uvarint());
    }
  }
  if (!r.ok()) { err = "truncated response from " + peer_; return false; }
  body.assign(r.pos(), static_cast<const uint8_t*>(buf.data() + buf.size()));
  return true;
}

bool list_brokers(RawClient& boot, std::vector<BrokerEndpoint>& out, std::string& err) {
  protocol::MetadataRequest req;
  req.topics = std::vector<protocol::MetadataRequest::MetadataRequestTopic>{};
  req.allow_auto_topic_creation = false;
  protocol::MetadataResponse resp;
  if (!boot.call(req, 12, resp, err)) return false;
  out.clear();
  for (auto& b : resp.brokers) out.push_back({b.node_id, b.host, b.port, b.rack});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return true;
}

}  // namespace samsa::cli
