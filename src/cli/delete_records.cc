// `samsa delete-records` (kafka-delete-records.sh): DeleteRecords through
// librdkafka's Admin API for the partitions of an offset JSON file
// {"partitions":[{"topic":"t","partition":0,"offset":10}],"version":1}
// (offset -1 = the high watermark, as in Kafka).
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "base/cli_exit.h"
#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "base/json_value.h"

namespace samsa::cli {

namespace {

struct DeleteSpec {
  std::string topic;
  int32_t partition;
  int64_t offset;
};

bool read_offset_file(const std::string& path, std::vector<DeleteSpec>& out, std::string& err) {
  std::ifstream in(path);
  if (!in) { err = "cannot read " + path + ": " + std::strerror(errno); return false; }
  std::ostringstream text;
  text << in.rdbuf();
  JsonValue doc;
  if (!parse_json(text.str(), doc, err)) { err = path + ": invalid JSON: " + err; return false; }
  const JsonValue* parts = doc.get("partitions");
  if (!parts || parts->kind != JsonValue::Kind::Array) {
    err = "Offset json file doesn't contain a \"partitions\" array";
    return false;
  }
  std::set<std::pair<std::string, int32_t>> seen;
  for (auto& p : parts->array) {
    const JsonValue *t = p.get("topic"), *n = p.get("partition"), *o = p.get("offset");
    if (!t || t->kind != JsonValue::Kind::String || !n || !n->integral || !o || !o->integral ||
        n->integer < 0 || n->integer > INT32_MAX || o->integer < -1) {
      err = "Offset json file entries need \"topic\" (string), \"partition\" (int >= 0) and \"offset\" (int >= -1)";
      return false;
    }
    DeleteSpec d{t->string, static_cast<int32_t>(n->integer), o->integer};
    if (!seen.insert({d.topic, d.partition}).second) {
      err = "Offset json file contains duplicate topic partitions: " + d.topic + "-" + std::to_string(d.partition);
      return false;
    }
    out.push_back(std::move(d));
  }
  return true;
}

}  // namespace

int delete_records_main(int argc, char** argv) {
  CLI::App app{"Delete records of partitions below the given offsets (like kafka-delete-records.sh)",
               "samsa delete-records"};
  app.footer(
      "Offset JSON file: {\"partitions\":[{\"topic\":\"t1\",\"partition\":0,\"offset\":10}],\"version\":1}\n"
      "(offset -1 deletes up to the high watermark)\n"
      "Examples:\n"
      "  samsa delete-records --bootstrap-server localhost:9092 --offset-json-file offsets.json");
  std::string bootstrap, command_config, json_file;
  int timeout_ms = 30000;
  app.add_option("--bootstrap-server", bootstrap, "REQUIRED: the server(s) to connect to");
  app.add_option("--offset-json-file", json_file, "REQUIRED: the JSON file of partitions and offsets");
  app.add_option("--command-config", command_config, "Client config properties file");
  app.add_option("--timeout-ms", timeout_ms, "Give up after this many milliseconds (default 30000)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (json_file.empty()) return fail("Missing required argument \"[offset-json-file]\"");
  std::string err;
  std::vector<DeleteSpec> specs;
  if (!read_offset_file(json_file, specs, err)) return fail(err);
  if (specs.empty()) return fail("Offset json file contains no partitions");
  Properties props;
  if (!base_properties(bootstrap, command_config, props, err) || !check_reachable(props, timeout_ms, err))
    return fail(err);
  auto rk = make_handle(RD_KAFKA_PRODUCER, props, err);
  if (!rk) return fail(err);
  std::printf("Executing records delete operation\n");
  std::fflush(stdout);
  AdminCall call(rk.get(), RD_KAFKA_ADMIN_OP_DELETERECORDS, timeout_ms);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(static_cast<int>(specs.size()));
  for (auto& d : specs) rd_kafka_topic_partition_list_add(l, d.topic.c_str(), d.partition)->offset = d.offset;
  rd_kafka_DeleteRecords_t* req = rd_kafka_DeleteRecords_new(l);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_DeleteRecords(rk.get(), &req, 1, call.options(), call.queue());
  rd_kafka_DeleteRecords_destroy(req);
  auto ev = call.wait(err);
  if (!ev) return fail(err);
  const auto* res = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev.get()));
  std::printf("Records delete operation completed:\n");
  int rc = 0;
  for (int i = 0; res && i < res->cnt; ++i) {
    const auto& p = res->elems[i];
    if (p.err) {
      std::printf("partition: %s-%d\terror: %s\n", p.topic, p.partition, rd_kafka_err2str(p.err));
      rc = 1;
    } else {
      std::printf("partition: %s-%d\tlow_watermark: %lld\n", p.topic, p.partition, static_cast<long long>(p.offset));
    }
  }
  return rc;
}

}  // namespace samsa::cli
