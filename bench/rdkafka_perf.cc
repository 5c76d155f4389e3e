// rdkafka_perf: a small librdkafka load generator for bench/run.sh, used until the project's own
// `samsa producer-perf-test` / `consumer-perf-test` exist. Single process, single producer or
// consumer instance; it prints one line of key=value pairs that run.sh parses.
//
//   rdkafka_perf create  --brokers B --topic T --partitions P
//   rdkafka_perf produce --brokers B --topic T --count N --size S --acks A [--rate R] [--seconds MAX]
//                        [--compression none|gzip|snappy|lz4|zstd]
//   rdkafka_perf consume --brokers B --topic T --count N [--seconds MAX]
//
// produce: N records of S bytes (random-ish payload, no key) as fast as possible, or at R records/s
// when --rate is given (then the per-record latency, produce() to delivery report, is reported as
// p50/p99). Batching is tuned for throughput: batch.size 1 MiB, linger.ms 5, a large queue.
// consume: from the beginning of every partition, until N records arrived (or MAX seconds).
#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode, brokers = "127.0.0.1:9092", topic = "bench";
  std::string compression = "none";
  long long count = 1000000;
  int size = 1024, acks = 1, partitions = 8;
  double rate = 0, max_seconds = 60;
};

// CPU seconds (user + system, all threads) this process used so far: shows whether the client or
// the broker is the bottleneck when both share the machine.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct ProduceState {
  long long delivered = 0, failed = 0;
  std::vector<int64_t> latencies_ns;  // only when rate-limited
  bool track_latency = false;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<ProduceState*>(opaque);
  if (m->err) {
    if (st->first_error.empty()) st->first_error = rd_kafka_err2str(m->err);
    ++st->failed;
    return;
  }
  ++st->delivered;
  if (st->track_latency) st->latencies_ns.push_back(now_ns() - reinterpret_cast<int64_t>(m->_private));
}

bool set(rd_kafka_conf_t* c, const char* k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "config %s=%s: %s\n", k, v.c_str(), err);
    return false;
  }
  return true;
}

rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) std::fprintf(stderr, "rd_kafka_new: %s\n", err);
  return rk;
}

int do_create(const Options& o) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Creating many partitions can take minutes on a loaded machine: do not let the socket time out.
  if (!set(conf, "bootstrap.servers", o.brokers) || !set(conf, "socket.timeout.ms", "300000")) return 1;
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);
  if (!rk) return 1;
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, 1, err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(ao, 240000, err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(ao, 270000, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 280000);
  int rc = 1;
  if (ev && !rd_kafka_event_error(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rc = 0;
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        std::fprintf(stderr, "create %s: %s\n", o.topic.c_str(), rd_kafka_err2str(e));
        rc = 1;
      }
    }
  } else {
    std::fprintf(stderr, "create %s: %s\n", o.topic.c_str(), ev ? rd_kafka_event_error_string(ev) : "timeout");
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  std::printf("created=%d topic=%s partitions=%d\n", rc == 0, o.topic.c_str(), o.partitions);
  return rc;
}

double percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return -1;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * double(v.size())));
  std::nth_element(v.begin(), v.begin() + long(i), v.end());
  return double(v[i]) / 1e6;
}

int do_produce(const Options& o) {
  ProduceState st;
  st.track_latency = o.rate > 0;
  if (st.track_latency) st.latencies_ns.reserve(size_t(o.count));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  bool ok = set(conf, "bootstrap.servers", o.brokers) && set(conf, "acks", std::to_string(o.acks)) &&
            set(conf, "linger.ms", st.track_latency ? "1" : "5") && set(conf, "batch.size", "1048576") &&
            set(conf, "batch.num.messages", "1000000") && set(conf, "message.max.bytes", "16777216") &&
            set(conf, "queue.buffering.max.kbytes", "1048576") && set(conf, "queue.buffering.max.messages", "10000000") &&
            set(conf, "compression.codec", o.compression) && set(conf, "enable.idempotence", "false") &&
            set(conf, "max.in.flight.requests.per.connection", "5");
  if (!ok) return 1;
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &st);
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, conf);
  if (!rk) return 1;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);

  // A payload with some variety so nothing downstream can shortcut on zeros.
  std::vector<char> payload(size_t(o.size));
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = char('a' + (i * 7 + i / 13) % 26);

  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(o.max_seconds);
  long long sent = 0;
  while (sent < o.count && Clock::now() < deadline) {
    if (o.rate > 0) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(double(sent) / o.rate));
      auto now = Clock::now();
      if (due > now) {
        rd_kafka_poll(rk, 0);
        std::this_thread::sleep_until(std::min(due, now + std::chrono::microseconds(200)));
        continue;
      }
    }
    void* stamp = reinterpret_cast<void*>(st.track_latency ? now_ns() : 0);
    if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload.data(), payload.size(), nullptr, 0,
                         stamp) == -1) {
      rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) { rd_kafka_poll(rk, 1); continue; }
      std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
      break;
    }
    ++sent;
    if ((sent & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  while (rd_kafka_outq_len(rk) > 0 && Clock::now() < deadline + std::chrono::seconds(30)) rd_kafka_poll(rk, 50);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double bytes = double(st.delivered) * o.size;
  std::printf("mode=produce records=%lld failed=%lld secs=%.3f rps=%.0f mbps=%.1f", st.delivered, st.failed, secs,
              double(st.delivered) / secs, bytes / secs / 1e6);
  if (st.track_latency) {
    double p50 = percentile(st.latencies_ns, 0.50), p99 = percentile(st.latencies_ns, 0.99);
    std::printf(" p50_ms=%.3f p99_ms=%.3f", p50, p99);
  }
  std::printf(" client_cpu_s=%.2f\n", cpu_seconds());
  if (!st.first_error.empty()) std::fprintf(stderr, "first delivery error: %s\n", st.first_error.c_str());
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return st.delivered == o.count ? 0 : 2;
}

int do_consume(const Options& o) {
  // The simple (group-less) consumer: every partition started from the beginning on one shared
  // queue, drained in batches. No group coordinator is involved, so this measures Fetch only.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  bool ok = set(conf, "bootstrap.servers", o.brokers) && set(conf, "fetch.max.bytes", "52428800") &&
            set(conf, "queued.max.messages.kbytes", "1048576") && set(conf, "fetch.wait.max.ms", "100") &&
            set(conf, "fetch.message.max.bytes", "16777216") && set(conf, "receive.message.max.bytes", "104857600");
  if (!ok) return 1;
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, conf);
  if (!rk) return 1;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1) {
    std::fprintf(stderr, "metadata for %s failed\n", o.topic.c_str());
    return 1;
  }
  std::vector<int32_t> parts;
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) parts.push_back(md->topics[0].partitions[i].id);
  rd_kafka_metadata_destroy(md);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  auto start = Clock::now();
  for (int32_t p : parts) rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q);

  long long got = 0, errors = 0;
  double bytes = 0;
  auto deadline = start + std::chrono::duration<double>(o.max_seconds);
  std::vector<rd_kafka_message_t*> batch(10000);
  while (got < o.count && Clock::now() < deadline) {
    ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch.data(), batch.size());
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[size_t(i)];
      if (!m->err) {
        ++got;
        bytes += double(m->len);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && errors++ == 0) {
        std::fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("mode=consume records=%lld errors=%lld secs=%.3f rps=%.0f mbps=%.1f client_cpu_s=%.2f\n", got, errors,
              secs, double(got) / secs, bytes / secs / 1e6, cpu_seconds());
  for (int32_t p : parts) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(q);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return got == o.count ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s create|produce|consume [--brokers B] [--topic T] [--count N] [--size S] "
                         "[--acks A] [--partitions P] [--rate R] [--seconds MAX] [--compression C]\n", argv[0]);
    return 1;
  }
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--brokers") o.brokers = v;
    else if (k == "--topic") o.topic = v;
    else if (k == "--count") o.count = std::atoll(v.c_str());
    else if (k == "--size") o.size = std::atoi(v.c_str());
    else if (k == "--acks") o.acks = std::atoi(v.c_str());
    else if (k == "--partitions") o.partitions = std::atoi(v.c_str());
    else if (k == "--rate") o.rate = std::atof(v.c_str());
    else if (k == "--seconds") o.max_seconds = std::atof(v.c_str());
    else if (k == "--compression") o.compression = v;
    else { std::fprintf(stderr, "unknown option %s\n", k.c_str()); return 1; }
  }
  if (o.count <= 0 || o.size <= 0 || o.size > 16 * 1024 * 1024 || o.partitions <= 0) {
    std::fprintf(stderr, "count, size and partitions must be positive (size <= 16 MiB)\n");
    return 1;
  }
  if (o.mode == "create") return do_create(o);
  if (o.mode == "produce") return do_produce(o);
  if (o.mode == "consume") return do_consume(o);
  std::fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
  return 1;
}
