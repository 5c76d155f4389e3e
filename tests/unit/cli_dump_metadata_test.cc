// dump-log-segments --cluster-metadata-decoder: one line per record with
// Kafka's JSON payload, an undecodable value reported as Kafka's tool does
// (and the dump goes on), KRaft control records shown by name or as JSON,
// snapshot (.checkpoint) files named by their end offset and epoch.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "cli/dump_log_segments.h"
#include "protocol/kraft/records.h"
#include "protocol/record_batch.h"

namespace samsa::cli {
namespace {

namespace k = protocol::kraft;

protocol::Bytes control_key(int16_t type) {
  protocol::Writer w;
  w.i16(0);
  w.i16(type);
  return std::move(w.buffer());
}

template <typename T>
protocol::Bytes control_value(const T& m) {
  protocol::Writer w;
  m.encode(w, k::kControlRecordVersion);
  return std::move(w.buffer());
}

struct DumpMetadata : ::testing::Test {
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("samsa-dump-md-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::string write(const std::string& name, const std::vector<protocol::Bytes>& batches) {
    auto path = (dir / name).string();
    std::ofstream f(path, std::ios::binary);
    for (auto& b : batches) f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return path;
  }
  std::string dump(const std::string& path) {
    char* buf = nullptr;
    size_t len = 0;
    std::FILE* out = open_memstream(&buf, &len);
    DumpOptions opts;
    opts.cluster_metadata = true;
    opts.print_data = true;
    dump_file(path, opts, out);
    std::fclose(out);
    std::string text(buf, len);
    std::free(buf);
    return text;
  }

  std::filesystem::path dir;
};

TEST_F(DumpMetadata, PrintsEachRecordAsKafkaDoes) {
  k::TopicRecord t;
  t.name = "orders";
  t.topic_id[15] = 1;
  auto topic = k::encode_metadata_record(t);
  protocol::Bytes garbage{0x01, 0x63, 0x00};  // an unknown type 99
  protocol::BatchBuilder b(0);
  b.add(1700000000000, std::nullopt, topic);
  b.add(1700000000000, std::nullopt, garbage);
  k::LeaderChangeMessage lc;
  lc.leader_id = 1;
  protocol::BatchBuilder c(2);
  c.set_control(true);
  auto lk = control_key(k::control_type::LeaderChangeMessage);
  auto lv = control_value(lc);
  c.add(1700000000001, lk, lv);
  auto text = dump(write("00000000000000000000.log", {b.build(), c.build()}));
  EXPECT_NE(text.find("| offset: 0 CreateTime: 1700000000000 keySize: -1 valueSize: " + std::to_string(topic.size()) +
                      " sequence: -1 headerKeys: [] payload: "
                      R"({"type":"TOPIC_RECORD","version":0,"data":{"name":"orders","topicId":"AAAAAAAAAAAAAAAAAAAAAQ"}})"
                      "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("payload: Error at 1, skipping. unknown metadata record type 99\n"), std::string::npos) << text;
  EXPECT_NE(text.find("| offset: 2 CreateTime: 1700000000001 keySize: 4 valueSize: " + std::to_string(lv.size()) +
                      " sequence: -1 headerKeys: [] controlType: LEADER_CHANGE(2)\n"),
            std::string::npos)
      << text;
}

TEST_F(DumpMetadata, SnapshotFilesShowHeaderAndFooter) {
  k::SnapshotHeaderRecord h;
  h.last_contained_log_timestamp = 1700000000000;
  k::SnapshotFooterRecord f;
  protocol::BatchBuilder head(0);
  head.set_control(true);
  auto hk = control_key(k::control_type::SnapshotHeaderRecord);
  auto hv = control_value(h);
  head.add(1700000000000, hk, hv);
  protocol::BatchBuilder body(1);
  k::FeatureLevelRecord mv;
  mv.name = "metadata.version";
  mv.feature_level = 21;
  auto mvv = k::encode_metadata_record(mv);
  body.add(1700000000000, std::nullopt, mvv);
  protocol::BatchBuilder foot(2);
  foot.set_control(true);
  auto fk = control_key(k::control_type::SnapshotFooterRecord);
  auto fv = control_value(f);
  foot.add(1700000000000, fk, fv);
  auto text = dump(write("00000000000000000003-0000000002.checkpoint", {head.build(), body.build(), foot.build()}));
  EXPECT_NE(text.find("Snapshot end offset: 3, epoch: 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find(R"( SnapshotHeader {"version":0,"lastContainedLogTimestamp":1700000000000})"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(payload: {"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":21}})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"( SnapshotFooter {"version":0})"), std::string::npos) << text;
}

}  // namespace
}  // namespace samsa::cli
