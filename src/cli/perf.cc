// `samsa producer-perf-test` / `samsa consumer-perf-test`: Kafka's perf tools
// on librdkafka, printing the same lines. The benchmark harness runs them, so
// the hot loops avoid per-record allocation: the producer hands librdkafka a
// fixed payload without copying and tracks latency through the message opaque.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/cli_exit.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace samsa::cli {

namespace {

using Clock = std::chrono::steady_clock;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

// Kafka's producer-perf-test statistics: a 5 s reporting window plus totals and
// a sample of latencies for the percentiles. Touched only from the thread that
// calls rd_kafka_poll (delivery reports run there).
struct ProducerStats {
  int64_t start_us = now_us();
  int64_t window_start_us = start_us;
  long count = 0, errors = 0, window_count = 0;
  int64_t bytes = 0, window_bytes = 0;
  double total_latency_ms = 0, window_total_latency_ms = 0;
  int max_latency_ms = 0, window_max_latency_ms = 0;
  long sampling = 1;
  std::vector<int32_t> latencies;
  std::string first_error;

  explicit ProducerStats(long num_records) {
    sampling = std::max(1L, num_records / std::min(num_records > 0 ? num_records : 1, 500000L));
    latencies.reserve(static_cast<size_t>(num_records / sampling + 1));
  }

  void record(int latency_ms, size_t size, int64_t t_us) {
    ++count;
    bytes += static_cast<int64_t>(size);
    total_latency_ms += latency_ms;
    max_latency_ms = std::max(max_latency_ms, latency_ms);
    ++window_count;
    window_bytes += static_cast<int64_t>(size);
    window_total_latency_ms += latency_ms;
    window_max_latency_ms = std::max(window_max_latency_ms, latency_ms);
    if (count % sampling == 0) latencies.push_back(latency_ms);
    if (t_us - window_start_us >= 5'000'000) {
      print_window(t_us);
      window_start_us = t_us;
      window_count = 0;
      window_bytes = 0;
      window_total_latency_ms = 0;
      window_max_latency_ms = 0;
    }
  }

  void print_window(int64_t t_us) const {
    double secs = static_cast<double>(t_us - window_start_us) / 1e6;
    double rps = window_count / secs;
    double mbps = window_bytes / secs / (1024.0 * 1024.0);
    std::printf("%ld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n",
                window_count, rps, mbps, window_count ? window_total_latency_ms / window_count : 0.0,
                static_cast<double>(window_max_latency_ms));
    std::fflush(stdout);
  }

  void print_total() {
    double secs = std::max(1e-6, static_cast<double>(now_us() - start_us) / 1e6);
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
      if (latencies.empty()) return 0;
      size_t i = static_cast<size_t>(p * static_cast<double>(latencies.size()));
      return latencies[std::min(i, latencies.size() - 1)];
    };
    std::printf("%ld records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
                "%d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.\n",
                count, count / secs, bytes / secs / (1024.0 * 1024.0), count ? total_latency_ms / count : 0.0,
                static_cast<double>(max_latency_ms), pct(0.5), pct(0.95), pct(0.99), pct(0.999));
    std::fflush(stdout);
  }
};

void on_perf_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<ProducerStats*>(opaque);
  int64_t t = now_us();
  if (m->err) {
    if (st->errors++ == 0) st->first_error = rd_kafka_err2str(m->err);
    return;
  }
  auto sent = static_cast<int64_t>(reinterpret_cast<intptr_t>(m->_private));
  st->record(static_cast<int>((t - sent) / 1000), m->len, t);
}

}  // namespace

int producer_perf_main(int argc, char** argv) {
  CLI::App app{"Producer throughput and latency test (like kafka-producer-perf-test.sh)",
               "samsa producer-perf-test"};
  app.footer(
      "Examples:\n"
      "  samsa producer-perf-test --topic t1 --num-records 50000 --record-size 1000 --throughput -1 "
      "--producer-props bootstrap.servers=localhost:9092 acks=1\n"
      "  samsa producer-perf-test --topic t1 --num-records 1000 --payload-file lines.txt --throughput 100 "
      "--producer.config client.properties");
  std::string topic, payload_file, payload_delim = "\\n", config_file, command_config, bootstrap;
  long num_records = -1, throughput = 0;
  int record_size = -1;
  std::vector<std::string> producer_props;
  bool print_metrics = false;
  app.add_option("--topic", topic, "REQUIRED: the topic to produce to")->required();
  app.add_option("--num-records", num_records, "REQUIRED: number of records to produce")->required();
  app.add_option("--record-size", record_size, "Record size in bytes (or --payload-file)");
  app.add_option("--payload-file", payload_file, "File with payloads, split by --payload-delimiter");
  app.add_option("--payload-delimiter", payload_delim, "Payload delimiter in --payload-file (default \\n)");
  app.add_option("--throughput", throughput, "REQUIRED: max records/sec, -1 = unthrottled")->required();
  app.add_option("--producer-props", producer_props, "Producer properties k=v ...");
  app.add_option("--producer.config", config_file, "Producer config properties file");
  app.add_option("--command-config", command_config, "Client config properties file");
  app.add_option("--bootstrap-server", bootstrap, "The server(s) to connect to (or bootstrap.servers in --producer-props)");
  app.add_flag("--print-metrics", print_metrics, "Print librdkafka statistics at the end");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (num_records <= 0) return fail("--num-records must be positive");
  if ((record_size > 0) == !payload_file.empty())
    return fail("Exactly one of --record-size or --payload-file must be specified");
  if (throughput == 0) return fail("--throughput must be positive or -1 (unthrottled)");
  std::string err;
  Properties props;
  if (!config_file.empty() && !load_properties(config_file, props, err)) return fail(err);
  if (!command_config.empty() && !load_properties(command_config, props, err)) return fail(err);
  // Batching as the project's benchmark client (bench/rdkafka_perf.cc) does
  // it, unless the user says otherwise. Java's batch.size of 16 KiB is no
  // default here: Java packs many such batches into one request, librdkafka
  // sends one batch per partition per request, so 16 KiB batches cost the
  // tool (and the broker) a request per 16 records and measured well under
  // half of the bench client's throughput on the same broker.
  if (!props.count("batch.size")) props["batch.size"] = "1048576";
  if (!props.count("batch.num.messages")) props["batch.num.messages"] = "1000000";
  if (!props.count("message.max.bytes")) props["message.max.bytes"] = "16777216";
  if (!props.count("linger.ms")) props["linger.ms"] = "5";
  if (!props.count("queue.buffering.max.messages")) props["queue.buffering.max.messages"] = "10000000";
  if (!props.count("queue.buffering.max.kbytes")) props["queue.buffering.max.kbytes"] = "1048576";
  if (!bootstrap.empty()) props["bootstrap.servers"] = bootstrap;
  for (auto& kv : producer_props) {
    std::string k, v;
    if (!parse_kv(kv, k, v)) return fail("Invalid --producer-props '" + kv + "': expected key=value");
    props[k] = v;
  }
  if (!props.count("bootstrap.servers"))
    return fail("bootstrap.servers must be given in --producer-props, --producer.config or --bootstrap-server");
  if (!props.count("message.timeout.ms")) props["message.timeout.ms"] = "120000";  // delivery.timeout.ms

  std::vector<std::string> payloads;
  if (!payload_file.empty()) {
    std::ifstream in(payload_file, std::ios::binary);
    if (!in) return fail("cannot read --payload-file " + payload_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string delim = payload_delim == "\\n" ? "\n" : payload_delim;
    std::string all = ss.str();
    size_t start = 0;
    while (start <= all.size()) {
      size_t p = all.find(delim, start);
      std::string piece = all.substr(start, p == std::string::npos ? std::string::npos : p - start);
      if (!piece.empty()) payloads.push_back(std::move(piece));
      if (p == std::string::npos) break;
      start = p + delim.size();
    }
    if (payloads.empty()) return fail("File is empty: " + payload_file);
    std::printf("Reading payloads from: %s\nNumber of messages read: %zu\n", payload_file.c_str(), payloads.size());
  } else {
    // Random upper-case letters, generated once, like Kafka's perf test.
    std::mt19937 rng(12345);
    std::string p(static_cast<size_t>(record_size), 'A');
    for (auto& c : p) c = static_cast<char>('A' + rng() % 26);
    payloads.push_back(std::move(p));
  }

  ProducerStats st(num_records);
  KafkaHandle rk = make_handle(RD_KAFKA_PRODUCER, props, err, on_perf_delivery, &st, "producer");
  if (!rk) return fail(err);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  // Fail fast (one line, non-zero) when no broker answers, instead of waiting
  // for every record's delivery timeout.
  const rd_kafka_metadata_t* md = nullptr;
  if (auto e = rd_kafka_metadata(rk.get(), 0, rkt, &md, 10000)) {
    rd_kafka_topic_destroy(rkt);
    return fail(std::string("could not fetch metadata: ") + rd_kafka_err2str(e));
  }
  rd_kafka_metadata_destroy(md);

  std::mt19937 pick(42);
  st.start_us = st.window_start_us = now_us();
  for (long i = 0; i < num_records; ++i) {
    const std::string& payload = payloads.size() == 1 ? payloads[0] : payloads[pick() % payloads.size()];
    // No copy: payloads outlive the producer's queue (flushed below).
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, const_cast<char*>(payload.data()),
                            payload.size(), nullptr, 0,
                            reinterpret_cast<void*>(static_cast<intptr_t>(now_us()))) == -1) {
      auto e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_topic_destroy(rkt);
        return fail(std::string("could not produce: ") + rd_kafka_err2str(e));
      }
      rd_kafka_poll(rk.get(), 1);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk.get(), 0);
    if (st.errors && st.count == 0 && st.errors > 1000) break;  // nothing gets through
    if (throughput > 0) {
      // Throttle: record i may not go out before i / throughput seconds.
      int64_t due = st.start_us + static_cast<int64_t>((i + 1) * 1e6 / static_cast<double>(throughput));
      while (now_us() < due) {
        int64_t left_ms = (due - now_us()) / 1000;
        rd_kafka_poll(rk.get(), static_cast<int>(std::min<int64_t>(left_ms, 100)));
        if (left_ms <= 0) std::this_thread::yield();
      }
    }
  }
  // Bounded: every message either is delivered or times out (message.timeout.ms).
  while (rd_kafka_outq_len(rk.get()) > 0) rd_kafka_poll(rk.get(), 100);
  rd_kafka_topic_destroy(rkt);
  st.print_total();
  if (st.errors) {
    std::fprintf(stderr, "ERROR: %ld records failed: %s\n", st.errors, st.first_error.c_str());
    return 1;
  }
  return 0;
}

namespace {

std::string format_date(std::chrono::system_clock::time_point t, const std::string& fmt) {
  (void)fmt;  // only Kafka's default "yyyy-MM-dd HH:mm:ss:SSS" is supported
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s:%03lld", buf, static_cast<long long>(ms % 1000));
  return out;
}

}  // namespace

int consumer_perf_main(int argc, char** argv) {
  CLI::App app{"Consumer throughput test (like kafka-consumer-perf-test.sh)", "samsa consumer-perf-test"};
  app.footer(
      "Examples:\n"
      "  samsa consumer-perf-test --bootstrap-server localhost:9092 --topic t1 --messages 50000\n"
      "  samsa consumer-perf-test --broker-list localhost:9092 --topic t1 --fetch-size 104876 "
      "--messages 50000 --show-detailed-stats");
  std::string bootstrap, broker_list, topic, group, config_file, command_config,
      date_format = "yyyy-MM-dd HH:mm:ss:SSS";
  long messages = -1;
  int fetch_size = 1024 * 1024, timeout_ms = 10000, reporting_ms = 5000, threads = 1;
  bool detailed = false, hide_header = false, from_latest = false;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED unless --broker-list: the server(s) to connect to");
  app.add_option("--broker-list", broker_list, "DEPRECATED, use --bootstrap-server instead");
  app.add_option("--topic", topic, "REQUIRED: the topic to consume from")->required();
  app.add_option("--messages", messages, "REQUIRED: the number of messages to consume")->required();
  app.add_option("--fetch-size", fetch_size, "Bytes to fetch per partition and request (default 1048576)");
  app.add_option("--group", group, "Consumer group id (uses subscribe(); default: assign all partitions)");
  app.add_option("--timeout", timeout_ms, "Max ms between two records before giving up (default 10000)");
  app.add_option("--reporting-interval", reporting_ms, "Interval in ms of --show-detailed-stats rows (default 5000)");
  app.add_option("--date-format", date_format, "Only yyyy-MM-dd HH:mm:ss:SSS is supported");
  app.add_option("--threads", threads, "Ignored (kept for compatibility)");
  app.add_flag("--show-detailed-stats", detailed, "Print a row every reporting interval");
  app.add_flag("--hide-header", hide_header, "Do not print the header");
  app.add_flag("--from-latest", from_latest, "Start from the end instead of the beginning");
  app.add_option("--consumer.config", config_file, "Consumer config properties file");
  app.add_option("--command-config", command_config, "Client config properties file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (messages <= 0) return fail("--messages must be positive");
  if (fetch_size <= 0) return fail("--fetch-size must be positive");
  std::string err;
  Properties props;
  if (!config_file.empty() && !load_properties(config_file, props, err)) return fail(err);
  if (!base_properties(bootstrap.empty() ? broker_list : bootstrap, command_config, props, err))
    return fail(err);
  props["max.partition.fetch.bytes"] = std::to_string(fetch_size);
  props["group.id"] = group.empty() ? "samsa-perf-consumer" : group;
  props["enable.auto.commit"] = group.empty() ? "false" : "true";
  props["auto.offset.reset"] = from_latest ? "latest" : "earliest";
  auto rk = make_handle(RD_KAFKA_CONSUMER, props, err);
  if (!rk) return fail(err);
  rd_kafka_poll_set_consumer(rk.get());

  auto wall_start = std::chrono::system_clock::now();
  auto start = Clock::now();
  Clock::time_point assigned;
  if (group.empty()) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    auto e = rd_kafka_metadata(rk.get(), 0, t, &md, std::max(timeout_ms, 5000));
    rd_kafka_topic_destroy(t);
    if (e) return fail(std::string("could not fetch metadata for topic ") + topic + ": " + rd_kafka_err2str(e));
    auto terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    rd_kafka_topic_partition_list_t* tpl = rd_kafka_topic_partition_list_new(8);
    if (!terr)
      for (int i = 0; i < md->topics[0].partition_cnt; ++i)
        rd_kafka_topic_partition_list_add(tpl, topic.c_str(), md->topics[0].partitions[i].id)->offset =
            from_latest ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    if (terr) {
      rd_kafka_topic_partition_list_destroy(tpl);
      return fail("topic " + topic + ": " + rd_kafka_err2str(terr));
    }
    e = rd_kafka_assign(rk.get(), tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (e) return fail(std::string("assign failed: ") + rd_kafka_err2str(e));
  } else {
    rd_kafka_topic_partition_list_t* tpl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tpl, topic.c_str(), RD_KAFKA_PARTITION_UA);
    auto e = rd_kafka_subscribe(rk.get(), tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (e) return fail(std::string("subscribe failed: ") + rd_kafka_err2str(e));
  }
  assigned = Clock::now();

  if (!hide_header) {
    if (detailed)
      std::printf("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                  "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
    else
      std::printf("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                  "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
  }
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk.get());
  std::vector<rd_kafka_message_t*> batch(1000);
  long count = 0, last_count = 0;
  int64_t bytes = 0, last_bytes = 0;
  auto last_record = Clock::now();
  auto last_report = Clock::now();
  bool timed_out = false;
  const double MB = 1024.0 * 1024.0;
  while (count < messages) {
    ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch.data(), batch.size());
    auto now = Clock::now();
    if (n <= 0) {
      if (now - last_record > std::chrono::milliseconds(timeout_ms)) { timed_out = true; break; }
      continue;
    }
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[static_cast<size_t>(i)];
      if (!m->err && count < messages) {
        ++count;
        bytes += static_cast<int64_t>(m->len + m->key_len);
        last_record = now;
      }
      rd_kafka_message_destroy(m);
    }
    if (detailed && now - last_report >= std::chrono::milliseconds(reporting_ms)) {
      double secs = std::chrono::duration<double>(now - last_report).count();
      double fetch_ms = std::chrono::duration<double, std::milli>(now - last_report).count();
      std::printf("%s, 0, %.4f, %.4f, %ld, %.4f, 0, %lld, %.4f, %.4f\n",
                  format_date(std::chrono::system_clock::now(), date_format).c_str(), bytes / MB,
                  (bytes - last_bytes) / MB / secs, count, (count - last_count) / secs,
                  static_cast<long long>(fetch_ms), (bytes - last_bytes) / MB / secs,
                  (count - last_count) / secs);
      std::fflush(stdout);
      last_report = now;
      last_bytes = bytes;
      last_count = count;
    }
  }
  rd_kafka_queue_destroy(q);
  auto end = timed_out ? last_record : Clock::now();
  if (timed_out)
    std::fprintf(stderr, "WARNING: Exiting before consuming the expected number of messages: timeout (%d ms) "
                         "exceeded. You can use the --timeout option to increase the timeout.\n", timeout_ms);
  double elapsed_s = std::max(1e-6, std::chrono::duration<double>(end - start).count());
  long long rebalance_ms = std::chrono::duration_cast<std::chrono::milliseconds>(assigned - start).count();
  long long fetch_ms = std::max<long long>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(end - start).count() - rebalance_ms);
  double fetch_s = std::max(1e-6, fetch_ms / 1000.0);
  if (!detailed) {
    auto wall_end = wall_start + std::chrono::duration_cast<std::chrono::system_clock::duration>(end - start);
    std::printf("%s, %s, %.4f, %.4f, %ld, %.4f, %lld, %lld, %.4f, %.4f\n",
                format_date(wall_start, date_format).c_str(), format_date(wall_end, date_format).c_str(),
                bytes / MB, bytes / MB / elapsed_s, count, count / elapsed_s, rebalance_ms, fetch_ms,
                bytes / MB / fetch_s, count / fetch_s);
  }
  std::fflush(stdout);
  if (!group.empty()) rd_kafka_consumer_close(rk.get());
  return 0;
}

}  // namespace samsa::cli
