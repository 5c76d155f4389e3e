// The metric registry: counters, gauges and histograms, kept per shard and
// merged only when scraped.
//
// Each shard thread owns one Registry (bind_thread() at shard start) and is the
// only writer of its cells, so recording is a plain add on a thread-local
// value: no lock, no atomic, no shared cache line. A scrape visits every shard
// on its own thread (the server posts to it), takes a Snapshot there, and adds
// the snapshots up: counters and histograms sum, gauges sum too (a partition's
// gauge is set only by the shard that owns it).
//
// A metric family is a static `Family` (name, help, type, label names) defined
// by the module that records it; a series is one tuple of label values. The
// number of series per family is bounded (Registry::kMaxSeriesPerFamily): a
// new label tuple beyond it is dropped and counted in
// samsa_metrics_series_dropped_total, so no client can grow memory without
// bound by inventing topic names.
//
// Threads: a Registry is touched only by the thread it is bound to (or by the
// test that made it). record_*() on a thread with no registry do nothing.
#pragma once
#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <vector>

namespace samsa::observe {

enum class MetricType { kCounter, kGauge, kHistogram };

// Fixed log-scale buckets: upper bounds 2^first_exponent .. 2^(first_exponent +
// buckets - 1) in the recorded unit, then +Inf. `scale` converts the unit to
// the exposed one (microseconds recorded, milliseconds shown: 0.001).
struct HistogramSpec {
  int first_exponent = 0;
  int buckets = 1;
  double scale = 1.0;
};

inline constexpr int kMaxBuckets = 40;

struct Family {
  std::string_view name;
  std::string_view help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string_view> labels;
  HistogramSpec histogram{};
};

// Which bucket a raw value falls in: the first whose upper bound is >= value;
// spec.buckets is the +Inf bucket.
int bucket_index(const HistogramSpec& spec, int64_t value);
// The upper bound of bucket i in the exposed unit.
double bucket_bound(const HistogramSpec& spec, int i);

struct HistogramCell {
  std::array<uint64_t, kMaxBuckets + 1> counts{};  // per bucket, not cumulative; [buckets] is +Inf
  uint64_t count = 0;
  double sum = 0;  // in the exposed unit
};

// One series' value in a snapshot (or in the registry).
struct Series {
  std::vector<std::string> labels;  // values, in the family's label order
  double value = 0;                 // counter or gauge
  HistogramCell histogram;
};

struct FamilySnapshot {
  const Family* family = nullptr;
  std::map<std::string, Series> series;  // by joined label values: stable output order
};

// A merged view of one or more registries at one moment. A value: it may be
// moved between threads.
class Snapshot {
 public:
  // Adds `v` to the series (created at 0). Collectors use it for gauges
  // computed at scrape time (log size, lag).
  void add(const Family& f, std::initializer_list<std::string_view> labels, double v);
  void add(const Family& f, const std::vector<std::string>& labels, double v);
  // Adds another snapshot into this one.
  void merge(const Snapshot& other);
  // The value of a counter or gauge series, or 0 (tests, the JSON API).
  double value(std::string_view family, const std::vector<std::string>& labels) const;
  const std::map<std::string_view, FamilySnapshot>& families() const { return families_; }
  FamilySnapshot& family(const Family& f);

 private:
  std::map<std::string_view, FamilySnapshot> families_;  // by name: Prometheus output order
};

std::string join_labels(const std::vector<std::string>& values);

class Registry;

// Stable handles into a registry's cells: keep them to skip the lookup.
class Counter {
 public:
  void add(double n = 1) { s_->value += n; }
  double value() const { return s_->value; }

 private:
  friend class Registry;
  explicit Counter(Series* s) : s_(s) {}
  Series* s_;
};

class Gauge {
 public:
  void set(double v) { s_->value = v; }
  void add(double d) { s_->value += d; }
  double value() const { return s_->value; }

 private:
  friend class Registry;
  explicit Gauge(Series* s) : s_(s) {}
  Series* s_;
};

class Histogram {
 public:
  void record(int64_t raw);
  const HistogramCell& cell() const { return s_->histogram; }

 private:
  friend class Registry;
  Histogram(const HistogramSpec* spec, Series* s) : spec_(spec), s_(s) {}
  const HistogramSpec* spec_;
  Series* s_;
};

class Registry {
 public:
  static constexpr size_t kMaxSeriesPerFamily = 20000;

  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series of `f` with these label values (as many as f.labels), created
  // at 0 on first use. Over the series bound: a shared overflow cell that is
  // never exposed.
  Counter counter(const Family& f, std::initializer_list<std::string_view> labels = {});
  Gauge gauge(const Family& f, std::initializer_list<std::string_view> labels = {});
  Histogram histogram(const Family& f, std::initializer_list<std::string_view> labels = {});

  // Computed at snapshot time, on this registry's thread (gauges such as log
  // size per partition). Returns an id for remove_collector.
  int add_collector(std::function<void(Snapshot&)> fn);
  void remove_collector(int id);

  // Every series of every family, plus the collectors' output.
  Snapshot snapshot() const;

  // Per-registry state of a module (e.g. cached handles per API key), made on
  // first use with T(Registry&) and kept as long as the registry.
  template <typename T>
  T& extension() {
    auto& slot = extensions_[std::type_index(typeid(T))];
    if (!slot) slot = std::shared_ptr<void>(std::make_shared<T>(*this));
    return *static_cast<T*>(slot.get());
  }

 private:
  Series* find_or_create(const Family& f, std::initializer_list<std::string_view> labels);

  struct FamilyCells {
    const Family* family;
    std::unordered_map<std::string, std::unique_ptr<Series>> series;
  };
  std::unordered_map<const Family*, FamilyCells> families_;
  Series overflow_;  // where writes to series beyond the bound go
  Series* dropped_;  // samsa_metrics_series_dropped_total
  std::map<int, std::function<void(Snapshot&)>> collectors_;
  int next_collector_ = 0;
  std::unordered_map<std::type_index, std::shared_ptr<void>> extensions_;
};

// The registry of the calling thread, or nullptr (not a shard thread).
Registry* local();
// Binds `r` to the calling thread (nullptr unbinds). The registry must outlive
// the binding.
void bind_thread(Registry* r);

// Convenience for code off the hot path: record into the thread's registry, if any.
inline void count(const Family& f, std::initializer_list<std::string_view> labels, double n = 1) {
  if (auto* r = local()) r->counter(f, labels).add(n);
}
inline void observe_value(const Family& f, std::initializer_list<std::string_view> labels, int64_t raw) {
  if (auto* r = local()) r->histogram(f, labels).record(raw);
}

}  // namespace samsa::observe
