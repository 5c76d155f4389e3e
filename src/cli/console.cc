// `samsa console-producer` / `samsa console-consumer`: kafka-console-producer.sh
// and kafka-console-consumer.sh on librdkafka. Lines from stdin become records;
// records are printed like Kafka's DefaultMessageFormatter.
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "base/cli_exit.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace samsa::cli {

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

// Applies "k=v" flags (repeatable) onto `props`; false + err on a malformed one.
bool apply_kvs(const std::vector<std::string>& kvs, Properties& props, const char* flag,
               std::string& err) {
  for (auto& s : kvs) {
    std::string k, v;
    if (!parse_kv(s, k, v)) { err = std::string("Invalid ") + flag + " '" + s + "': expected key=value"; return false; }
    props[k] = v;
  }
  return true;
}

std::string prop_or(const Properties& p, const std::string& k, const std::string& dflt) {
  auto it = p.find(k);
  return it == p.end() ? dflt : it->second;
}

bool prop_true(const Properties& p, const std::string& k) {
  auto v = prop_or(p, k, "false");
  return v == "true" || v == "TRUE" || v == "True";
}

// Unescapes "\t" / "\n" written literally on the command line, as Kafka does.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct DeliveryState {
  long errors = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<DeliveryState*>(opaque);
  if (m->err) {
    if (st->errors++ == 0) st->first_error = rd_kafka_err2str(m->err);
  }
}

}  // namespace

int console_producer_main(int argc, char** argv) {
  CLI::App app{"Read lines from standard input and publish them (like kafka-console-producer.sh)",
               "samsa console-producer"};
  app.footer(
      "Examples:\n"
      "  samsa console-producer --bootstrap-server localhost:9092 --topic t1\n"
      "  echo 'k1:v1' | samsa console-producer --broker-list localhost:9092 --topic t1 "
      "--property parse.key=true --property key.separator=:\n"
      "  printf 'h1:a,h2:b\\tk\\tv\\n' | samsa console-producer --bootstrap-server localhost:9092 "
      "--topic t1 --property parse.headers=true --property parse.key=true");
  std::string bootstrap, broker_list, topic, config_file, command_config, codec, acks = "-1";
  std::vector<std::string> properties, producer_props;
  bool sync = false;
  int timeout_ms = 30000;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED unless --broker-list: the server(s) to connect to");
  app.add_option("--broker-list", broker_list, "DEPRECATED, use --bootstrap-server instead");
  app.add_option("--topic", topic, "REQUIRED: the topic to produce to")->required();
  app.add_option("--property", properties, "parse.key, key.separator, parse.headers, headers.delimiter, "
                 "headers.separator, headers.key.separator, null.marker")->allow_extra_args(false);
  app.add_option("--producer-property", producer_props, "A producer property k=v, repeatable")->allow_extra_args(false);
  app.add_option("--producer.config", config_file, "Producer config properties file");
  app.add_option("--command-config", command_config, "Client config properties file");
  app.add_option("--compression-codec", codec, "none, gzip, snappy, lz4 or zstd")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  app.add_option("--request-required-acks", acks, "The required acks of the producer requests (default -1)");
  app.add_flag("--sync", sync, "Send each message synchronously");
  app.add_option("--timeout", timeout_ms, "Delivery timeout in ms for each message (default 30000)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  std::string err;
  Properties props, fmt;
  if (!config_file.empty() && !load_properties(config_file, props, err)) return fail(err);
  if (!base_properties(bootstrap.empty() ? broker_list : bootstrap, command_config, props, err))
    return fail("Missing required argument \"[bootstrap-server]\"");
  props["acks"] = acks;
  props["message.timeout.ms"] = std::to_string(timeout_ms);
  if (!codec.empty()) props["compression.codec"] = codec;
  if (!apply_kvs(producer_props, props, "--producer-property", err) ||
      !apply_kvs(properties, fmt, "--property", err))
    return fail(err);
  const bool parse_key = prop_true(fmt, "parse.key"), parse_headers = prop_true(fmt, "parse.headers");
  const std::string key_sep = unescape(prop_or(fmt, "key.separator", "\t"));
  const std::string hdr_delim = unescape(prop_or(fmt, "headers.delimiter", "\t"));
  const std::string hdr_sep = unescape(prop_or(fmt, "headers.separator", ","));
  const std::string hdr_kv_sep = unescape(prop_or(fmt, "headers.key.separator", ":"));
  const bool ignore_error = prop_true(fmt, "ignore.error");
  auto null_marker = fmt.find("null.marker");

  DeliveryState st;
  KafkaHandle rk = make_handle(RD_KAFKA_PRODUCER, props, err, on_delivery, &st, "producer");
  if (!rk) return fail(err);

  std::string line;
  long lineno = 0;
  while (std::getline(std::cin, line)) {
    ++lineno;
    std::string rest = line;
    rd_kafka_headers_t* hdrs = nullptr;
    if (parse_headers) {
      auto p = rest.find(hdr_delim);
      if (p == std::string::npos) {
        if (ignore_error) continue;
        return fail("No headers delimiter found on line number " + std::to_string(lineno) + ": '" + line + "'");
      }
      hdrs = rd_kafka_headers_new(4);
      for (auto& h : split(rest.substr(0, p), hdr_sep[0])) {
        auto q = h.find(hdr_kv_sep);
        if (q == std::string::npos) rd_kafka_header_add(hdrs, h.data(), h.size(), nullptr, 0);
        else rd_kafka_header_add(hdrs, h.data(), q, h.data() + q + hdr_kv_sep.size(),
                                 h.size() - q - hdr_kv_sep.size());
      }
      rest = rest.substr(p + hdr_delim.size());
    }
    std::string key;
    bool has_key = false;
    if (parse_key) {
      auto p = rest.find(key_sep);
      if (p == std::string::npos) {
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        if (ignore_error) continue;
        return fail("No key separator found on line number " + std::to_string(lineno) + ": '" + line + "'");
      }
      key = rest.substr(0, p);
      has_key = !(null_marker != fmt.end() && key == null_marker->second);
      rest = rest.substr(p + key_sep.size());
    }
    bool null_value = null_marker != fmt.end() && rest == null_marker->second;
    rd_kafka_resp_err_t e;
    do {
      e = rd_kafka_producev(
          rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_VALUE(null_value ? nullptr : rest.data(), null_value ? 0 : rest.size()),
          RD_KAFKA_V_KEY(has_key ? key.data() : nullptr, has_key ? key.size() : 0),
          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(rk.get(), 100);
    } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (e) {
      if (hdrs) rd_kafka_headers_destroy(hdrs);  // not taken over on failure
      return fail(std::string("could not produce: ") + rd_kafka_err2str(e));
    }
    if (sync) rd_kafka_flush(rk.get(), timeout_ms + 1000);
    rd_kafka_poll(rk.get(), 0);
    if (st.errors) return fail("Error when sending message to topic " + topic + ": " + st.first_error);
  }
  if (rd_kafka_flush(rk.get(), timeout_ms + 1000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return fail("Timed out delivering messages to topic " + topic);
  if (st.errors) return fail("Error when sending message to topic " + topic + ": " + st.first_error);
  return 0;
}

namespace {

// Which parts of a record the consumer prints (Kafka's DefaultMessageFormatter).
struct Format {
  bool ts = false, partition = false, offset = false, headers = false, key = false, value = true;
  std::string key_sep = "\t", line_sep = "\n", hdr_sep = ",", hdr_kv_sep = ":", null_literal = "null";
};

void print_record(const Format& f, const rd_kafka_message_t* m, std::string& out) {
  out.clear();
  auto sep = [&](bool more) { out += more ? f.key_sep : f.line_sep; };
  if (f.ts) {
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    if (tt == RD_KAFKA_TIMESTAMP_CREATE_TIME) out += "CreateTime:" + std::to_string(ts);
    else if (tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME) out += "LogAppendTime:" + std::to_string(ts);
    else out += "NO_TIMESTAMP";
    sep(f.partition || f.offset || f.headers || f.key || f.value);
  }
  if (f.partition) {
    out += "Partition:" + std::to_string(m->partition);
    sep(f.offset || f.headers || f.key || f.value);
  }
  if (f.offset) {
    out += "Offset:" + std::to_string(m->offset);
    sep(f.headers || f.key || f.value);
  }
  if (f.headers) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs &&
        rd_kafka_header_cnt(hdrs) > 0) {
      const char* name;
      const void* val;
      size_t sz;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &sz) == 0; ++i) {
        if (i) out += f.hdr_sep;
        out += name;
        out += f.hdr_kv_sep;
        out += val ? std::string(static_cast<const char*>(val), sz) : f.null_literal;
      }
    } else {
      out += "NO_HEADERS";
    }
    sep(f.key || f.value);
  }
  if (f.key) {
    out += m->key ? std::string(static_cast<const char*>(m->key), m->key_len) : f.null_literal;
    sep(f.value);
  }
  if (f.value) {
    out += m->payload ? std::string(static_cast<const char*>(m->payload), m->len) : f.null_literal;
    out += f.line_sep;
  }
}

// Kafka's console consumer closes its KafkaConsumer with auto-commit on, which
// commits the position of every assigned partition, so `consumer-groups
// --describe` then shows an offset and a lag for each of them. librdkafka's
// close commits only the partitions a record was consumed from; this commits
// the others at the position a Java consumer would hold: the committed offset
// if there is one (nothing to do), else where auto.offset.reset put it.
void commit_every_assigned_position(rd_kafka_t* rk, const Properties& props, int timeout_ms) {
  if (prop_or(props, "enable.auto.commit", "true") == "false") return;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk, &assigned) || !assigned) return;
  rd_kafka_position(rk, assigned);  // offset after the last record consumed, else invalid
  rd_kafka_topic_partition_list_t* untouched = rd_kafka_topic_partition_list_new(assigned->cnt);
  for (int i = 0; i < assigned->cnt; ++i) {
    const auto& tp = assigned->elems[i];
    if (tp.offset < 0) rd_kafka_topic_partition_list_add(untouched, tp.topic, tp.partition);
  }
  const std::string reset = prop_or(props, "auto.offset.reset", "latest");
  const bool earliest = reset == "earliest" || reset == "smallest" || reset == "beginning";
  const bool latest = reset == "latest" || reset == "largest" || reset == "end";
  if (untouched->cnt > 0 && (earliest || latest) &&
      rd_kafka_committed(rk, untouched, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < untouched->cnt; ++i) {
      auto& tp = untouched->elems[i];
      if (tp.offset >= 0) continue;
      int64_t low = -1, high = -1;
      if (rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low, &high, timeout_ms)) continue;
      rd_kafka_topic_partition_list_find(assigned, tp.topic, tp.partition)->offset = earliest ? low : high;
    }
  }
  rd_kafka_topic_partition_list_destroy(untouched);
  // One synchronous commit of every position known (consumed or reset).
  rd_kafka_topic_partition_list_t* commit = rd_kafka_topic_partition_list_new(assigned->cnt);
  for (int i = 0; i < assigned->cnt; ++i) {
    const auto& tp = assigned->elems[i];
    if (tp.offset >= 0) rd_kafka_topic_partition_list_add(commit, tp.topic, tp.partition)->offset = tp.offset;
  }
  if (commit->cnt > 0) {
    if (auto e = rd_kafka_commit(rk, commit, 0))
      std::fprintf(stderr, "WARN: could not commit the consumer's positions: %s\n", rd_kafka_err2str(e));
  }
  rd_kafka_topic_partition_list_destroy(commit);
  rd_kafka_topic_partition_list_destroy(assigned);
}

}  // namespace

int console_consumer_main(int argc, char** argv) {
  CLI::App app{"Read records from a topic and print them (like kafka-console-consumer.sh)",
               "samsa console-consumer"};
  app.footer(
      "Examples:\n"
      "  samsa console-consumer --bootstrap-server localhost:9092 --topic t1 --from-beginning\n"
      "  samsa console-consumer --bootstrap-server localhost:9092 --topic t1 --partition 0 "
      "--offset 42 --max-messages 10\n"
      "  samsa console-consumer --bootstrap-server localhost:9092 --topic t1 --from-beginning "
      "--property print.key=true --property print.headers=true --timeout-ms 5000");
  std::string bootstrap, topic, include, group, offset_arg, isolation, config_file, command_config;
  std::vector<std::string> properties, consumer_props;
  bool from_beginning = false;
  int partition = -1;
  long max_messages = -1;
  int timeout_ms = -1;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--topic", topic, "The topic to consume from");
  app.add_option("--include", include, "Regular expression of the topics to consume (needs --group)");
  app.add_option("--group", group, "The consumer group id (uses subscribe())");
  app.add_flag("--from-beginning", from_beginning, "Start with the earliest message");
  app.add_option("--partition", partition, "The partition to consume from");
  app.add_option("--offset", offset_arg, "earliest, latest or a non-negative offset (needs --partition)");
  app.add_option("--max-messages", max_messages, "Exit after this many messages");
  app.add_option("--timeout-ms", timeout_ms, "Exit if no message arrives for this long");
  app.add_option("--isolation-level", isolation, "read_committed or read_uncommitted")
      ->check(CLI::IsMember({"read_committed", "read_uncommitted"}));
  app.add_option("--property", properties, "print.timestamp, print.partition, print.offset, print.headers, "
                 "print.key, print.value, key.separator, line.separator, headers.separator, "
                 "headers.key.separator, null.literal")->allow_extra_args(false);
  app.add_option("--consumer-property", consumer_props, "A consumer property k=v, repeatable")->allow_extra_args(false);
  app.add_option("--consumer.config", config_file, "Consumer config properties file");
  app.add_option("--command-config", command_config, "Client config properties file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (topic.empty() == include.empty()) return fail("Exactly one of --include/--topic is required.");
  if (!include.empty() && group.empty()) return fail("--include needs --group (subscription by pattern)");
  if (!offset_arg.empty() && partition < 0)
    return fail("The partition is required when offset is specified.");
  if (from_beginning && !offset_arg.empty())
    return fail("Options --from-beginning and --offset cannot be specified together.");
  if (!group.empty() && partition >= 0)
    return fail("Options --group and --partition cannot be specified together.");
  int64_t start = from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
  if (offset_arg == "earliest") start = RD_KAFKA_OFFSET_BEGINNING;
  else if (offset_arg == "latest") start = RD_KAFKA_OFFSET_END;
  else if (!offset_arg.empty()) {
    try {
      size_t used = 0;
      start = std::stoll(offset_arg, &used);
      if (used != offset_arg.size() || start < 0) throw std::invalid_argument(offset_arg);
    } catch (const std::exception&) {
      return fail("The offset must be 'earliest', 'latest' or a non-negative integer: " + offset_arg);
    }
  }
  std::string err;
  Properties props, fprops;
  if (!config_file.empty() && !load_properties(config_file, props, err)) return fail(err);
  if (!base_properties(bootstrap, command_config, props, err)) return fail(err);
  if (!apply_kvs(consumer_props, props, "--consumer-property", err) ||
      !apply_kvs(properties, fprops, "--property", err))
    return fail(err);
  props["group.id"] = group.empty() ? "samsa-console-consumer" : group;
  if (group.empty()) props["enable.auto.commit"] = "false";
  if (!props.count("auto.offset.reset")) props["auto.offset.reset"] = from_beginning ? "earliest" : "latest";
  if (!isolation.empty()) props["isolation.level"] = isolation;
  if (!props.count("enable.partition.eof")) props["enable.partition.eof"] = "false";
  Format f;
  f.ts = prop_true(fprops, "print.timestamp");
  f.partition = prop_true(fprops, "print.partition");
  f.offset = prop_true(fprops, "print.offset");
  f.headers = prop_true(fprops, "print.headers");
  f.key = prop_true(fprops, "print.key");
  f.value = prop_or(fprops, "print.value", "true") != "false";
  f.key_sep = unescape(prop_or(fprops, "key.separator", "\t"));
  f.line_sep = unescape(prop_or(fprops, "line.separator", "\n"));
  f.hdr_sep = unescape(prop_or(fprops, "headers.separator", ","));
  f.hdr_kv_sep = unescape(prop_or(fprops, "headers.key.separator", ":"));
  f.null_literal = prop_or(fprops, "null.literal", "null");

  auto rk = make_handle(RD_KAFKA_CONSUMER, props, err);
  if (!rk) return fail(err);
  rd_kafka_poll_set_consumer(rk.get());
  const int meta_timeout = timeout_ms > 0 ? std::max(timeout_ms, 5000) : 30000;
  if (group.empty()) {
    // assign() with explicit offsets: no group coordinator involved.
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    auto e = rd_kafka_metadata(rk.get(), 0, t, &md, meta_timeout);
    rd_kafka_topic_destroy(t);
    if (e) return fail(std::string("could not fetch metadata for topic ") + topic + ": " + rd_kafka_err2str(e));
    std::vector<int32_t> parts;
    if (md->topic_cnt == 1 && !md->topics[0].err)
      for (int i = 0; i < md->topics[0].partition_cnt; ++i) parts.push_back(md->topics[0].partitions[i].id);
    auto terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    rd_kafka_metadata_destroy(md);
    if (terr) return fail("topic " + topic + ": " + rd_kafka_err2str(terr));
    rd_kafka_topic_partition_list_t* tpl = rd_kafka_topic_partition_list_new(1);
    for (int32_t p : parts) {
      if (partition >= 0 && p != partition) continue;
      rd_kafka_topic_partition_list_add(tpl, topic.c_str(), p)->offset = start;
    }
    if (tpl->cnt == 0) {
      rd_kafka_topic_partition_list_destroy(tpl);
      return fail("topic " + topic + " has no partition " + std::to_string(partition));
    }
    e = rd_kafka_assign(rk.get(), tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (e) return fail(std::string("assign failed: ") + rd_kafka_err2str(e));
  } else {
    rd_kafka_topic_partition_list_t* tpl = rd_kafka_topic_partition_list_new(1);
    std::string sub = include.empty() ? topic : (include[0] == '^' ? include : "^" + include);
    rd_kafka_topic_partition_list_add(tpl, sub.c_str(), RD_KAFKA_PARTITION_UA);
    auto e = rd_kafka_subscribe(rk.get(), tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (e) return fail(std::string("subscribe failed: ") + rd_kafka_err2str(e));
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  long count = 0;
  std::string line;
  auto last = std::chrono::steady_clock::now();
  int rc = 0;
  while (!g_stop.load() && (max_messages < 0 || count < max_messages)) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (!m) {
      if (timeout_ms >= 0 && std::chrono::steady_clock::now() - last >= std::chrono::milliseconds(timeout_ms)) {
        std::fprintf(stderr, "ERROR: Error processing message, terminating consumer process: "
                             "TimeoutException (no message for %d ms)\n", timeout_ms);
        break;
      }
      continue;
    }
    if (m->err) {
      bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL || m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        std::fprintf(stderr, "ERROR: %s\n", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      if (fatal) { rc = 1; break; }
      continue;
    }
    last = std::chrono::steady_clock::now();
    print_record(f, m, line);
    rd_kafka_message_destroy(m);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    ++count;
  }
  std::fprintf(stderr, "Processed a total of %ld messages\n", count);
  if (!group.empty()) {
    commit_every_assigned_position(rk.get(), props, meta_timeout);
    rd_kafka_consumer_close(rk.get());
  }
  return rc;
}

}  // namespace samsa::cli
