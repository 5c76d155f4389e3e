#include "server/observability.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "observe/process_metrics.h"
#include "server/broker.h"
#include "server/broker_metrics.h"
#include "server/console_api.h"

namespace samsa::server {

std::variant<std::vector<HttpEndpoint>, std::string> parse_http_listeners(std::string_view value) {
  std::vector<HttpEndpoint> out;
  size_t pos = 0;
  while (pos < value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = value.substr(pos, comma - pos);
    pos = comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    constexpr std::string_view kScheme = "http://";
    if (item.substr(0, kScheme.size()) != kScheme)
      return "'" + std::string(item) + "' is not of the form http://host:port";
    auto hostport = item.substr(kScheme.size());
    if (!hostport.empty() && hostport.back() == '/') hostport.remove_suffix(1);
    size_t colon = hostport.rfind(':');
    if (colon == std::string_view::npos) return "'" + std::string(item) + "' has no port";
    HttpEndpoint ep;
    ep.host = std::string(hostport.substr(0, colon));
    if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']') ep.host = ep.host.substr(1, ep.host.size() - 2);
    auto port = hostport.substr(colon + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc() || p != port.data() + port.size() || ep.port < 0 || ep.port > 65535)
      return "'" + std::string(item) + "' has an invalid port";
    out.push_back(std::move(ep));
  }
  return out;
}

Observability::Observability(Broker& broker) : broker_(broker) {
  for (int i = 0; i < broker.shard_count(); ++i) {
    registries_.push_back(std::make_unique<observe::Registry>());
    trackers_.push_back(std::make_unique<LagTracker>());
  }
}

Observability::~Observability() = default;

void Observability::bind_shards() {
  for (int i = 0; i < broker_.shard_count(); ++i) {
    observe::Registry* r = registries_[i].get();
    asio::post(broker_.shard(i).io, [r] { observe::bind_thread(r); });
  }
}

net::HttpHandler Observability::make_handler(Shard& shard) {
  Broker* b = &broker_;
  Shard* s = &shard;
  return [b, s](const net::HttpRequest& req) { return serve_http(*b, *s, req); };
}

std::string Observability::start_http() {
  auto parsed = parse_http_listeners(broker_.settings().http_listeners);
  if (auto* err = std::get_if<std::string>(&parsed)) return "http.listeners: " + *err;
  if (!std::get<std::vector<HttpEndpoint>>(parsed).empty()) console_login_ = console::login_config(broker_);
  net::HttpLimits limits;
  for (auto& ep : std::get<std::vector<HttpEndpoint>>(parsed)) {
    int port = ep.port;
    // SO_REUSEPORT would let both bind: say so instead of splitting connections between them.
    for (auto& l : broker_.settings().listeners)
      if (port != 0 && l.port == port)
        return "http.listeners: port " + std::to_string(port) + " is also the port of listener " + l.name;
    for (int i = 0; i < broker_.shard_count(); ++i) {
      auto server = std::make_unique<net::HttpServer>(broker_.shard(i).io, limits, make_handler(broker_.shard(i)));
      if (auto err = server->bind(ep.host, port, i == 0); !err.empty())
        return "http.listeners: " + err + " (set http.listeners to another http://host:port, or empty to turn "
               "the HTTP server off)";
      if (port == 0) port = server->port();  // the other shards share the port the first was given
      if (http_address_.empty())
        http_address_ = "http://" + (ep.host.empty() ? std::string("localhost") : ep.host) + ":" + std::to_string(port);
      servers_.push_back(std::move(server));
    }
  }
  for (size_t i = 0; i < servers_.size(); ++i) {
    auto* s = servers_[i].get();
    asio::post(broker_.shard(static_cast<int>(i % broker_.shard_count())).io, [s] { s->start(); });
  }
  return {};
}

void Observability::stop_http() {
  for (size_t i = 0; i < servers_.size(); ++i) {
    auto* s = servers_[i].get();
    std::promise<void> done;
    asio::post(broker_.shard(static_cast<int>(i % broker_.shard_count())).io, [s, &done] {
      s->stop();
      done.set_value();
    });
    done.get_future().wait();
  }
}

bool Observability::per_partition_series(const Shard& here) const {
  int64_t limit = broker_.settings().metrics_partition_series_limit;
  int64_t partitions = here.image ? here.image->partition_count : 0;
  return limit > 0 && partitions <= limit;
}

asio::awaitable<observe::Snapshot> Observability::scrape(Shard& here) {
  observe::Snapshot out;
  bool per_partition = per_partition_series(here);
  Broker* b = &broker_;
  for (int i = 0; i < broker_.shard_count(); ++i) {
    auto* reg = registries_[i].get();
    Shard* s = &broker_.shard(i);
    auto op = invoke_on(*s, [b, reg, s, per_partition] {
      auto snap = reg->snapshot();
      add_shard_gauges(*b, *s, per_partition, snap);
      return snap;
    });
    auto snap = co_await std::move(op);
    out.merge(snap);
  }
  auto lag_op = compute_consumer_lag(broker_);
  auto lag = co_await std::move(lag_op);
  add_lag_metrics(lag, per_partition, out);
  add_broker_gauges(broker_, out);
  observe::add_process_metrics(out);
  co_return out;
}

}  // namespace samsa::server
