// The metric registry, histogram buckets and the Prometheus text format.
#include <gtest/gtest.h>

#include <thread>

#include "observe/json_writer.h"
#include "observe/metrics.h"
#include "observe/prometheus.h"

namespace samsa::observe {
namespace {

const Family kRequests{"test_requests_total", "Requests.", MetricType::kCounter, {"request"}};
const Family kDepth{"test_depth", "Depth \"x\"\nsecond line \\.", MetricType::kGauge, {}};
const Family kLatency{"test_latency_ms", "Latency.", MetricType::kHistogram, {"api"}, {4, 3, 0.001}};

TEST(ObserveHistogram, BucketIndexIsTheFirstUpperBoundAtOrAboveTheValue) {
  HistogramSpec spec{4, 3, 0.001};  // bounds 16, 32, 64 (us), then +Inf
  EXPECT_EQ(bucket_index(spec, -5), 0);
  EXPECT_EQ(bucket_index(spec, 0), 0);
  EXPECT_EQ(bucket_index(spec, 1), 0);
  EXPECT_EQ(bucket_index(spec, 16), 0);
  EXPECT_EQ(bucket_index(spec, 17), 1);
  EXPECT_EQ(bucket_index(spec, 32), 1);
  EXPECT_EQ(bucket_index(spec, 33), 2);
  EXPECT_EQ(bucket_index(spec, 64), 2);
  EXPECT_EQ(bucket_index(spec, 65), 3);  // +Inf
  EXPECT_EQ(bucket_index(spec, INT64_MAX), 3);
  EXPECT_DOUBLE_EQ(bucket_bound(spec, 0), 0.016);
  EXPECT_DOUBLE_EQ(bucket_bound(spec, 2), 0.064);
  HistogramSpec counts{0, 4, 1.0};  // 1, 2, 4, 8
  EXPECT_EQ(bucket_index(counts, 1), 0);
  EXPECT_EQ(bucket_index(counts, 2), 1);
  EXPECT_EQ(bucket_index(counts, 3), 2);
  EXPECT_EQ(bucket_index(counts, 8), 3);
  EXPECT_EQ(bucket_index(counts, 9), 4);
}

TEST(ObserveRegistry, CountersGaugesAndHistogramsAccumulatePerSeries) {
  Registry r;
  r.counter(kRequests, {"Produce"}).add();
  r.counter(kRequests, {"Produce"}).add(2);
  r.counter(kRequests, {"Fetch"}).add();
  auto g = r.gauge(kDepth);
  g.set(5);
  g.add(-2);
  auto h = r.histogram(kLatency, {"Produce"});
  h.record(10);
  h.record(20);
  h.record(1000);
  auto s = r.snapshot();
  EXPECT_EQ(s.value("test_requests_total", {"Produce"}), 3);
  EXPECT_EQ(s.value("test_requests_total", {"Fetch"}), 1);
  EXPECT_EQ(s.value("test_depth", {}), 3);
  auto& cell = s.families().at("test_latency_ms").series.begin()->second.histogram;
  EXPECT_EQ(cell.count, 3u);
  EXPECT_EQ(cell.counts[0], 1u);
  EXPECT_EQ(cell.counts[1], 1u);
  EXPECT_EQ(cell.counts[3], 1u);
  EXPECT_DOUBLE_EQ(cell.sum, 1.030);
}

TEST(ObserveRegistry, SnapshotsOfShardsMergeBySum) {
  Registry a, b;
  a.counter(kRequests, {"Produce"}).add(2);
  b.counter(kRequests, {"Produce"}).add(3);
  b.counter(kRequests, {"Fetch"}).add(1);
  a.histogram(kLatency, {"Produce"}).record(10);
  b.histogram(kLatency, {"Produce"}).record(40);
  auto s = a.snapshot();
  s.merge(b.snapshot());
  EXPECT_EQ(s.value("test_requests_total", {"Produce"}), 5);
  EXPECT_EQ(s.value("test_requests_total", {"Fetch"}), 1);
  auto& cell = s.families().at("test_latency_ms").series.begin()->second.histogram;
  EXPECT_EQ(cell.count, 2u);
  EXPECT_EQ(cell.counts[0], 1u);
  EXPECT_EQ(cell.counts[2], 1u);
}

TEST(ObserveRegistry, SeriesPerFamilyAreBounded) {
  Registry r;
  for (size_t i = 0; i < Registry::kMaxSeriesPerFamily + 10; ++i) r.counter(kRequests, {std::to_string(i)}).add();
  auto s = r.snapshot();
  EXPECT_EQ(s.families().at("test_requests_total").series.size(), Registry::kMaxSeriesPerFamily);
  EXPECT_EQ(s.value("samsa_metrics_series_dropped_total", {}), 10);
}

TEST(ObserveRegistry, CollectorsAddGaugesAtSnapshotTime) {
  Registry r;
  int calls = 0;
  int id = r.add_collector([&calls](Snapshot& s) {
    ++calls;
    s.add(kDepth, {}, 7);
  });
  EXPECT_EQ(r.snapshot().value("test_depth", {}), 7);
  r.remove_collector(id);
  EXPECT_EQ(r.snapshot().value("test_depth", {}), 0);
  EXPECT_EQ(calls, 1);
}

TEST(ObserveRegistry, ThreadBindingAndNoRegistryMeansNoRecording) {
  Registry r;
  std::thread([&r] {
    EXPECT_EQ(local(), nullptr);
    count(kRequests, {"Produce"});  // no registry: nothing happens
    bind_thread(&r);
    count(kRequests, {"Produce"}, 4);
    bind_thread(nullptr);
  }).join();
  EXPECT_EQ(r.snapshot().value("test_requests_total", {"Produce"}), 4);
}

TEST(ObservePrometheus, TextFormatWithEscapingAndCumulativeBuckets) {
  Registry r;
  r.counter(kRequests, {"a\"b\\c\nd"}).add(2);
  r.gauge(kDepth).set(1.5);
  auto h = r.histogram(kLatency, {"Produce"});
  h.record(10);
  h.record(40);
  h.record(100000);
  std::string text = render_prometheus(r.snapshot());
  EXPECT_NE(text.find("# HELP test_requests_total Requests.\n# TYPE test_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("test_requests_total{request=\"a\\\"b\\\\c\\nd\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP test_depth Depth \"x\"\\nsecond line \\\\.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_depth 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE test_latency_ms histogram\n"), std::string::npos);
  EXPECT_NE(text.find("test_latency_ms_bucket{api=\"Produce\",le=\"0.016\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_ms_bucket{api=\"Produce\",le=\"0.032\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("test_latency_ms_bucket{api=\"Produce\",le=\"0.064\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("test_latency_ms_bucket{api=\"Produce\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("test_latency_ms_sum{api=\"Produce\"} 100.05\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_latency_ms_count{api=\"Produce\"} 3\n"), std::string::npos);
  // Families come out sorted by name, each with its HELP and TYPE once.
  EXPECT_LT(text.find("test_depth"), text.find("test_latency_ms"));
  EXPECT_LT(text.find("test_latency_ms"), text.find("test_requests_total"));
}

TEST(ObserveJson, WriterEscapesAndPlacesCommas) {
  JsonWriter w;
  w.begin_object().key("a").value("x\"y\n\x01\xff").key("n").value(int64_t{-3}).key("list").begin_array();
  w.value(true).null().value(1.5).begin_object().end_object().end_array().end_object();
  EXPECT_EQ(w.str(), R"({"a":"x\"y\n\u0001\u00ff","n":-3,"list":[true,null,1.5,{}]})");
}

}  // namespace
}  // namespace samsa::observe
