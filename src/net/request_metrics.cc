#include "net/request_metrics.h"

#include <array>
#include <memory>
#include <string>

#include "protocol/api_registry.h"

namespace samsa::net {

namespace {

using observe::Family;
using observe::HistogramSpec;
using observe::MetricType;

// Microseconds recorded, milliseconds exposed (Kafka's ...TimeMs): buckets from
// 2^4 us (0.016 ms) to 2^26 us (67 s), doubling.
constexpr HistogramSpec kTimeMs{4, 23, 0.001};

const Family kRequests{"kafka_network_requestmetrics_requests_total", "Requests received, per API.",
                       MetricType::kCounter, {"request"}};
const Family kErrors{"kafka_network_requestmetrics_errors_total",
                     "Error codes in responses, per API and error (NONE included, as Kafka counts them).",
                     MetricType::kCounter, {"request", "error"}};
const Family kTotal{"kafka_network_requestmetrics_totaltimems",
                    "Time from a request's last byte read to its response written, in ms.", MetricType::kHistogram,
                    {"request"}, kTimeMs};
const Family kQueue{"kafka_network_requestmetrics_requestqueuetimems",
                    "Time a request waited for its handler to start (the previous request of its connection to "
                    "take effect), in ms.",
                    MetricType::kHistogram, {"request"}, kTimeMs};
const Family kLocal{"kafka_network_requestmetrics_localtimems",
                    "Time in the request's handler, waits for durability or data included, in ms.",
                    MetricType::kHistogram, {"request"}, kTimeMs};
const Family kResponseQueue{"kafka_network_requestmetrics_responsequeuetimems",
                            "Time a ready response waited for earlier responses of its connection, in ms.",
                            MetricType::kHistogram, {"request"}, kTimeMs};
const Family kSend{"kafka_network_requestmetrics_sendtimems", "Time to write the response, in ms.",
                   MetricType::kHistogram, {"request"}, kTimeMs};
const Family kBytesInFlight{"kafka_network_socketserver_memorypoolused",
                            "Bytes of requests read and not yet answered.", MetricType::kGauge, {}};
const Family kConnections{"kafka_server_socket_server_metrics_connection_count", "Open connections.",
                          MetricType::kGauge, {"listener", "networkProcessor"}};
const Family kCreated{"kafka_server_socket_server_metrics_connection_creation_total", "Connections accepted.",
                      MetricType::kCounter, {"listener", "networkProcessor"}};
const Family kClosed{"kafka_server_socket_server_metrics_connection_close_total", "Connections closed.",
                     MetricType::kCounter, {"listener", "networkProcessor"}};

constexpr int kApiSlots = 128;  // API keys 0..127; others count as "Unknown"

// Handles of one API's series, made on its first request on this shard.
struct PerApi {
  observe::Counter requests;
  observe::Histogram total, queue, local, response_queue, send;
};

struct Cache {
  explicit Cache(observe::Registry& r) : reg(r) {}
  observe::Registry& reg;
  std::array<std::unique_ptr<PerApi>, kApiSlots + 1> apis;
  PerApi& get(int16_t key) {
    int slot = key >= 0 && key < kApiSlots ? key : kApiSlots;
    auto& p = apis[static_cast<size_t>(slot)];
    if (!p) {
      std::string_view name = request_name(key);
      p = std::make_unique<PerApi>(PerApi{reg.counter(kRequests, {name}), reg.histogram(kTotal, {name}),
                                          reg.histogram(kQueue, {name}), reg.histogram(kLocal, {name}),
                                          reg.histogram(kResponseQueue, {name}), reg.histogram(kSend, {name})});
    }
    return *p;
  }
};

int64_t micros(RequestTimes::TimePoint from, RequestTimes::TimePoint to) {
  return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(to - from).count());
}

}  // namespace

std::string_view request_name(int16_t api_key) {
  auto* info = protocol::find_api(api_key);
  return info ? std::string_view(info->name) : std::string_view("Unknown");
}

void record_request(int16_t api_key, const RequestTimes& t) {
  auto* reg = observe::local();
  if (!reg) return;
  auto& m = reg->extension<Cache>().get(api_key);
  m.requests.add();
  m.total.record(micros(t.received, t.sent));
  m.queue.record(micros(t.received, t.started));
  m.local.record(micros(t.started, t.answered));
  m.response_queue.record(micros(t.answered, t.send_start));
  m.send.record(micros(t.send_start, t.sent));
}

void record_error(int16_t api_key, std::string_view error_name, double n) {
  observe::count(kErrors, {request_name(api_key), error_name}, n);
}

void add_request_bytes_in_flight(int64_t delta) {
  if (auto* reg = observe::local()) reg->gauge(kBytesInFlight).add(static_cast<double>(delta));
}

void record_connection(std::string_view listener, int shard, int delta) {
  auto* reg = observe::local();
  if (!reg) return;
  std::string processor = std::to_string(shard);
  reg->gauge(kConnections, {listener, processor}).add(delta);
  reg->counter(delta > 0 ? kCreated : kClosed, {listener, processor}).add();
}

}  // namespace samsa::net
