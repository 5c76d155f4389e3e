#include "observe/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace samsa::observe {

namespace {

thread_local Registry* t_registry = nullptr;

const Family kSeriesDropped{
    "samsa_metrics_series_dropped_total",
    "Recordings into a new label tuple of a family that already had the maximum number of series "
    "(they are not exposed).",
    MetricType::kCounter,
    {}};

// Label values joined with a separator no topic or group name can contain
// unnoticed: the key only has to be unique per tuple, it is never shown.
constexpr char kSep = '\x1f';

template <typename Range>
std::string join(const Range& values) {
  std::string key;
  bool first = true;
  for (const auto& v : values) {
    if (!first) key += kSep;
    key.append(v.data(), v.size());
    first = false;
  }
  return key;
}

}  // namespace

int bucket_index(const HistogramSpec& spec, int64_t value) {
  if (value <= 0) return 0;
  // ceil(log2(value)): the smallest k with 2^k >= value.
  int k = static_cast<int>(std::bit_width(static_cast<uint64_t>(value - 1)));
  int i = k - spec.first_exponent;
  if (i < 0) return 0;
  return std::min(i, spec.buckets);
}

double bucket_bound(const HistogramSpec& spec, int i) {
  return std::ldexp(1.0, spec.first_exponent + i) * spec.scale;
}

void Histogram::record(int64_t raw) {
  auto& h = s_->histogram;
  ++h.counts[static_cast<size_t>(bucket_index(*spec_, raw))];
  ++h.count;
  h.sum += static_cast<double>(raw) * spec_->scale;
}

std::string join_labels(const std::vector<std::string>& values) { return join(values); }

FamilySnapshot& Snapshot::family(const Family& f) {
  auto& fs = families_[f.name];
  fs.family = &f;
  return fs;
}

void Snapshot::add(const Family& f, const std::vector<std::string>& labels, double v) {
  auto& s = family(f).series[join(labels)];
  if (s.labels.empty()) s.labels = labels;
  s.value += v;
}

void Snapshot::add(const Family& f, std::initializer_list<std::string_view> labels, double v) {
  add(f, std::vector<std::string>(labels.begin(), labels.end()), v);
}

void Snapshot::merge(const Snapshot& other) {
  for (const auto& [name, theirs] : other.families_) {
    auto& mine = family(*theirs.family);
    int buckets = theirs.family->type == MetricType::kHistogram ? theirs.family->histogram.buckets : -1;
    for (const auto& [key, s] : theirs.series) {
      auto [it, fresh] = mine.series.try_emplace(key, s);
      if (fresh) continue;
      auto& m = it->second;
      m.value += s.value;
      for (int i = 0; i <= buckets; ++i) m.histogram.counts[i] += s.histogram.counts[i];
      m.histogram.count += s.histogram.count;
      m.histogram.sum += s.histogram.sum;
    }
  }
}

double Snapshot::value(std::string_view family, const std::vector<std::string>& labels) const {
  auto f = families_.find(family);
  if (f == families_.end()) return 0;
  auto s = f->second.series.find(join(labels));
  return s == f->second.series.end() ? 0 : s->second.value;
}

Registry::Registry() { dropped_ = find_or_create(kSeriesDropped, {}); }

Series* Registry::find_or_create(const Family& f, std::initializer_list<std::string_view> labels) {
  assert(labels.size() == f.labels.size());
  assert(f.type != MetricType::kHistogram || f.histogram.buckets <= kMaxBuckets);
  auto& cells = families_.try_emplace(&f, FamilyCells{&f, {}}).first->second;
  std::string key = join(labels);
  if (auto it = cells.series.find(key); it != cells.series.end()) return it->second.get();
  if (cells.series.size() >= kMaxSeriesPerFamily) {
    dropped_->value += 1;
    return &overflow_;
  }
  auto s = std::make_unique<Series>();
  s->labels.assign(labels.begin(), labels.end());
  auto* raw = s.get();
  cells.series.emplace(std::move(key), std::move(s));
  return raw;
}

Counter Registry::counter(const Family& f, std::initializer_list<std::string_view> labels) {
  return Counter(find_or_create(f, labels));
}

Gauge Registry::gauge(const Family& f, std::initializer_list<std::string_view> labels) {
  return Gauge(find_or_create(f, labels));
}

Histogram Registry::histogram(const Family& f, std::initializer_list<std::string_view> labels) {
  return Histogram(&f.histogram, find_or_create(f, labels));
}

int Registry::add_collector(std::function<void(Snapshot&)> fn) {
  int id = next_collector_++;
  collectors_.emplace(id, std::move(fn));
  return id;
}

void Registry::remove_collector(int id) { collectors_.erase(id); }

Snapshot Registry::snapshot() const {
  Snapshot out;
  for (const auto& [f, cells] : families_) {
    auto& fs = out.family(*f);
    for (const auto& [key, s] : cells.series) fs.series.emplace(key, *s);
  }
  for (const auto& [id, fn] : collectors_) fn(out);
  return out;
}

Registry* local() { return t_registry; }

void bind_thread(Registry* r) { t_registry = r; }

}  // namespace samsa::observe
