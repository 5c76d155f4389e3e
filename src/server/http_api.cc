// The HTTP routes: /metrics (Prometheus), /v1/health/live and /ready, and the
// JSON admin API the web console reads (/v1/cluster, /v1/topics, /v1/groups).
// Every route here is GET (and HEAD); a known path with another method is 405,
// an unknown path 404, both with a JSON body. The console's pages and its
// writing endpoints are in console_api.cc, asked first.
#include <sys/statvfs.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>

#include "cluster/metadata_image.h"
#include "observe/json_writer.h"
#include "observe/prometheus.h"
#include "replication/partition.h"
#include "server/broker.h"
#include "storage/log.h"
#include "server/console_api.h"
#include "server/consumer_lag.h"
#include "server/observability.h"
#include "storage/log_manager.h"

namespace samsa::server {

namespace {

using net::HttpRequest;
using net::HttpResponse;
using observe::JsonWriter;

constexpr int64_t kDefaultPageSize = 1000;
constexpr int64_t kMaxPageSize = 10000;

HttpResponse json(int status, std::string body) { return HttpResponse{status, "application/json", std::move(body), {}}; }

HttpResponse json_error(int status, std::string_view message) {
  JsonWriter w;
  w.begin_object().key("error").value(net::http_reason(status)).key("message").value(message).end_object();
  return json(status, w.take());
}

// ?offset=N&limit=M, bounded.
std::pair<int64_t, int64_t> page_of(const HttpRequest& req) {
  auto number = [&](std::string_view name, int64_t fallback) -> int64_t {
    auto v = req.param(name);
    if (!v) return fallback;
    try {
      return std::stoll(*v);
    } catch (...) {
      return fallback;
    }
  };
  int64_t offset = std::max<int64_t>(0, number("offset", 0));
  int64_t limit = std::clamp<int64_t>(number("limit", kDefaultPageSize), 0, kMaxPageSize);
  return {offset, limit};
}

asio::awaitable<HttpResponse> get_metrics(Broker& broker, Shard& here, const HttpRequest&, const ConsoleCaller&) {
  auto op = broker.observability().scrape(here);
  auto snapshot = co_await std::move(op);
  co_return HttpResponse{200, observe::kPrometheusContentType, observe::render_prometheus(snapshot), {}};
}

asio::awaitable<HttpResponse> get_live(Broker&, Shard&, const HttpRequest&, const ConsoleCaller&) {
  co_return json(200, R"({"status":"live"})");
}

asio::awaitable<HttpResponse> get_ready(Broker& broker, Shard& here, const HttpRequest&, const ConsoleCaller&) {
  bool started = broker.started();
  bool metadata = here.image && here.image->brokers.count(broker.node_id()) > 0;
  std::vector<std::string> offline;
  for (auto& d : broker.log_manager().log_dirs())
    if (!d.online) offline.push_back(d.path);
  bool ready = broker.ready() && metadata;
  JsonWriter w;
  w.begin_object().key("status").value(ready ? "ready" : "not ready");
  w.key("checks").begin_object();
  w.key("log_recovery_done").value(started);
  w.key("metadata_loaded").value(metadata);
  w.key("log_dirs_online").value(offline.empty());
  w.end_object();
  w.key("offline_log_dirs").begin_array();
  for (auto& d : offline) w.value(d);
  w.end_array().end_object();
  co_return json(ready ? 200 : 503, w.take());
}

asio::awaitable<HttpResponse> get_cluster(Broker& broker, Shard& here, const HttpRequest&, const ConsoleCaller&) {
  auto image = here.image;
  JsonWriter w;
  w.begin_object();
  w.key("cluster_id").value(broker.cluster_id());
  w.key("node_id").value(broker.node_id());
  w.key("controller_id").value(image ? image->controller_id : -1);
  w.key("ready").value(broker.ready());
  w.key("brokers").begin_array();
  if (image)
    for (auto& [id, b] : image->brokers) {
      w.begin_object().key("id").value(id).key("host").value(b.host).key("port").value(b.port).key("rack");
      if (b.rack) w.value(*b.rack);
      else w.null();
      w.end_object();
    }
  w.end_array();
  w.key("topics").value(static_cast<int64_t>(image ? image->topics.size() : 0));
  w.key("partitions").value(image ? image->partition_count : int64_t{0});
  w.key("log_dirs").begin_array();
  for (auto& d : broker.log_manager().log_dirs()) {
    w.begin_object().key("path").value(d.path).key("online").value(d.online);
    if (!d.online) w.key("error").value(d.error.to_string());
    struct statvfs fs {};
    if (d.online && ::statvfs(d.path.c_str(), &fs) == 0) {  // one cheap syscall: no disk I/O
      w.key("total_bytes").value(static_cast<int64_t>(fs.f_blocks * fs.f_frsize));
      w.key("usable_bytes").value(static_cast<int64_t>(fs.f_bavail * fs.f_frsize));
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  co_return json(200, w.take());
}

struct TopicTotals {
  int64_t size_bytes = 0;
  int64_t messages = 0;  // sum over partitions of log end minus log start
};

// Size and offsets of every topic's partitions on this broker, from every shard.
asio::awaitable<std::map<std::string, TopicTotals>> topic_totals(Broker& broker) {
  std::map<std::string, TopicTotals> out;
  for (int i = 0; i < broker.shard_count(); ++i) {
    Shard* s = &broker.shard(i);
    auto op = invoke_on(*s, [s] {
      std::map<std::string, TopicTotals> m;
      for (auto& [tp, p] : s->partitions()) {
        if (p->offline()) continue;
        auto& t = m[tp.topic];
        t.size_bytes += static_cast<int64_t>(p->log().size_bytes());
        t.messages += p->high_watermark() - p->log_start_offset();
      }
      return m;
    });
    auto got = co_await std::move(op);
    for (auto& [name, t] : got) {
      out[name].size_bytes += t.size_bytes;
      out[name].messages += t.messages;
    }
  }
  co_return out;
}

// The topics `caller` may describe (all without an authorizer).
asio::awaitable<HttpResponse> get_topics(Broker& broker, Shard& here, const HttpRequest& req,
                                         const ConsoleCaller& caller) {
  console::Visibility visible(broker, here, caller);
  auto image = here.image;
  auto totals_op = topic_totals(broker);
  auto totals = co_await std::move(totals_op);
  std::vector<const cluster::TopicInfo*> topics;
  std::string search = req.param("search").value_or("");
  if (image)
    image->topics.for_each([&](const std::string& name, const std::shared_ptr<const cluster::TopicInfo>& t) {
      if ((search.empty() || name.find(search) != std::string::npos) && visible.topic(name)) topics.push_back(t.get());
    });
  std::sort(topics.begin(), topics.end(), [](auto* a, auto* b) { return a->name < b->name; });
  auto [offset, limit] = page_of(req);
  JsonWriter w;
  w.begin_object().key("total").value(static_cast<int64_t>(topics.size()));
  w.key("offset").value(offset).key("limit").value(limit);
  w.key("topics").begin_array();
  for (int64_t i = offset; i < static_cast<int64_t>(topics.size()) && i < offset + limit; ++i) {
    auto* t = topics[static_cast<size_t>(i)];
    auto& tot = totals[t->name];
    w.begin_object().key("name").value(t->name).key("internal").value(t->internal);
    w.key("partitions").value(static_cast<int64_t>(t->partitions.size()));
    w.key("replication_factor")
        .value(static_cast<int64_t>(t->partitions.empty() ? 0 : t->partitions.front().replicas.size()));
    w.key("size_bytes").value(tot.size_bytes).key("messages").value(tot.messages);
    w.end_object();
  }
  w.end_array().end_object();
  co_return json(200, w.take());
}

struct PartitionState {
  bool present = false;
  bool offline = false;
  int64_t log_start = -1, high_watermark = -1, log_end = -1, size_bytes = 0, segments = 0;
};

// One topic: its partitions (leader, replicas, ISR, offsets and size on this
// broker, read on each owning shard) and its config overrides.
asio::awaitable<HttpResponse> get_topic(Broker& broker, Shard& here, std::string name,  // by value: a coroutine
                                        const ConsoleCaller& caller) {
  auto image = here.image;
  const auto* topic = image ? image->find_topic(name) : nullptr;
  if (!topic) co_return json_error(404, "no such topic: " + name);
  if (!console::Visibility(broker, here, caller).topic(name))
    co_return json_error(403, "TOPIC_AUTHORIZATION_FAILED: not allowed to describe " + name);
  std::vector<PartitionState> states(topic->partitions.size());
  std::map<int, std::vector<int32_t>> by_owner;
  for (auto& p : topic->partitions) by_owner[broker.owner_of(TopicPartition{name, p.partition})].push_back(p.partition);
  for (auto& [owner, ids] : by_owner) {
    Shard* s = &broker.shard(owner);
    auto op = invoke_on(*s, [s, name, ids] {
      std::vector<std::pair<int32_t, PartitionState>> out;
      for (int32_t id : ids) {
        PartitionState st;
        if (auto* p = s->find(TopicPartition{name, id})) {
          st.present = true;
          st.offline = p->offline();
          if (!st.offline) {
            st.log_start = p->log_start_offset().value;
            st.high_watermark = p->high_watermark().value;
            st.log_end = p->log_end_offset().value;
            st.size_bytes = static_cast<int64_t>(p->log().size_bytes());
            st.segments = static_cast<int64_t>(p->log().segment_count());
          }
        }
        out.emplace_back(id, st);
      }
      return out;
    });
    auto got = co_await std::move(op);
    for (auto& [id, st] : got)
      if (id >= 0 && static_cast<size_t>(id) < states.size()) states[static_cast<size_t>(id)] = st;
  }
  JsonWriter w;
  w.begin_object().key("name").value(topic->name).key("internal").value(topic->internal);
  w.key("configs").begin_object();
  for (auto& [k, v] : topic->configs) w.key(k).value(v);
  w.end_object();
  w.key("partitions").begin_array();
  for (auto& p : topic->partitions) {
    auto& st = states[static_cast<size_t>(p.partition) < states.size() ? p.partition : 0];
    w.begin_object().key("partition").value(p.partition).key("leader").value(p.leader);
    w.key("leader_epoch").value(p.leader_epoch);
    w.key("replicas").begin_array();
    for (int32_t r : p.replicas) w.value(r);
    w.end_array().key("isr").begin_array();
    for (int32_t r : p.isr) w.value(r);
    w.end_array();
    w.key("online").value(st.present && !st.offline);
    w.key("log_start_offset").value(st.log_start).key("high_watermark").value(st.high_watermark);
    w.key("log_end_offset").value(st.log_end).key("size_bytes").value(st.size_bytes);
    w.key("segments").value(st.segments).end_object();
  }
  w.end_array().end_object();
  co_return json(200, w.take());
}

// The groups `caller` may describe (all without an authorizer).
asio::awaitable<HttpResponse> get_groups(Broker& broker, Shard& here, const HttpRequest& req,
                                         const ConsoleCaller& caller) {
  auto op = compute_consumer_lag(broker);
  auto all = co_await std::move(op);
  console::Visibility visible(broker, here, caller);
  std::vector<GroupLag> groups;
  for (auto& g : all)
    if (visible.group(g.group)) groups.push_back(std::move(g));
  auto [offset, limit] = page_of(req);
  JsonWriter w;
  w.begin_object().key("total").value(static_cast<int64_t>(groups.size()));
  w.key("groups").begin_array();
  for (int64_t i = offset; i < static_cast<int64_t>(groups.size()) && i < offset + limit; ++i) {
    auto& g = groups[static_cast<size_t>(i)];
    w.begin_object().key("group").value(g.group).key("state").value(g.state);
    w.key("protocol_type").value(g.protocol_type).key("members").value(static_cast<int64_t>(g.members));
    w.key("lag_status").value(observe::lag_status_name(g.status)).key("total_lag").value(g.total_lag);
    w.key("partitions").begin_array();
    for (auto& p : g.partitions) {
      w.begin_object().key("topic").value(p.tp.topic).key("partition").value(p.tp.partition);
      w.key("committed_offset").value(p.committed).key("high_watermark").value(p.high_watermark);
      w.key("lag").value(p.lag).key("commit_timestamp").value(p.commit_timestamp);
      w.key("status").value(observe::lag_status_name(p.status)).end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
  co_return json(200, w.take());
}

using Route = std::function<asio::awaitable<HttpResponse>(Broker&, Shard&, const HttpRequest&, const ConsoleCaller&)>;

const std::map<std::string, Route, std::less<>>& routes() {
  static const std::map<std::string, Route, std::less<>> r = {
      {"/metrics", get_metrics},         {"/v1/health/live", get_live}, {"/v1/health/ready", get_ready},
      {"/v1/cluster", get_cluster},      {"/v1/topics", get_topics},    {"/v1/groups", get_groups},
  };
  return r;
}

}  // namespace

asio::awaitable<HttpResponse> serve_http(Broker& broker, Shard& here, const HttpRequest& req) {
  // The console's pages, its login and its endpoints (console_api.cc) first.
  auto console_op = serve_console(broker, here, req);
  if (auto answer = co_await std::move(console_op)) co_return std::move(*answer);
  // Past serve_console a /v1/ request has its login (or none is needed); the
  // rest (/metrics, health) needs none and is served to anyone.
  const ConsoleCaller caller = console::authenticate(broker, req).value_or(ConsoleCaller{});
  std::string_view path = req.path;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  constexpr std::string_view kTopicPrefix = "/v1/topics/";
  bool one_topic = path.size() > kTopicPrefix.size() && path.substr(0, kTopicPrefix.size()) == kTopicPrefix;
  auto it = routes().find(path);
  if (it == routes().end() && !one_topic) co_return json_error(404, "no such endpoint: " + req.path);
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = json_error(405, "only GET and HEAD are allowed here");
    r.headers.emplace_back("Allow", "GET, HEAD");
    co_return r;
  }
  if (one_topic) {
    auto op = get_topic(broker, here, std::string(path.substr(kTopicPrefix.size())), caller);
    co_return co_await std::move(op);
  }
  auto op = it->second(broker, here, req, caller);
  co_return co_await std::move(op);
}

}  // namespace samsa::server
