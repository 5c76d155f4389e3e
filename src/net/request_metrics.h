// Kafka's request metrics (kafka.network:type=RequestMetrics, in the names the
// Prometheus JMX exporter gives them) and the socket server's connection and
// memory gauges, recorded by Connection and Listener into the shard's
// observe::Registry.
//
// Threads: the calling shard's thread (a thread without a registry records
// nothing).
#pragma once
#include <chrono>
#include <cstdint>
#include <string_view>

#include "observe/metrics.h"

namespace samsa::net {

// When a request passed each stage, on its connection's thread.
struct RequestTimes {
  using TimePoint = std::chrono::steady_clock::time_point;
  TimePoint received;    // its last byte was read
  TimePoint started;     // its handler started (after the previous request applied)
  TimePoint answered;    // its handler returned the response
  TimePoint send_start;  // the response's turn to be written came (responses go in order)
  TimePoint sent;        // the response was written (or dropped)
};

// requests_total, and total / request-queue / local / response-queue / send
// time histograms of the request's API.
void record_request(int16_t api_key, const RequestTimes& t);
// ErrorsPerSec of Kafka: one response (or partition result) of `api_key` with `error_name`.
void record_error(int16_t api_key, std::string_view error_name, double n = 1);
// Request bytes read and not yet answered, for the shard (up and down).
void add_request_bytes_in_flight(int64_t delta);
// Connections of a listener on this shard: opened (+1) or closed (-1).
void record_connection(std::string_view listener, int shard, int delta);

// The API's name as Kafka's request metrics label it ("Produce"), or "Unknown".
std::string_view request_name(int16_t api_key);

}  // namespace samsa::net
