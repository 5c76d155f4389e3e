#include "observe/prometheus.h"

#include <cmath>

#include <fmt/format.h>

namespace samsa::observe {

namespace {

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) out += "NaN";
  else if (std::isinf(v)) out += v > 0 ? "+Inf" : "-Inf";
  else if (v == std::floor(v) && std::fabs(v) < 1e15) fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(v));
  else fmt::format_to(std::back_inserter(out), "{}", v);
}

// `{a="x",b="y"` plus an optional extra label, then `}`; nothing when there are no labels.
void append_labels(std::string& out, const Family& f, const Series& s, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  bool any = !f.labels.empty() || !extra_name.empty();
  if (!any) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < f.labels.size() && i < s.labels.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += f.labels[i];
    out += "=\"";
    out += escape_label_value(s.labels[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_histogram(std::string& out, const Family& f, const Series& s) {
  const auto& spec = f.histogram;
  uint64_t cumulative = 0;
  for (int i = 0; i < spec.buckets; ++i) {
    cumulative += s.histogram.counts[i];
    std::string le;
    append_number(le, bucket_bound(spec, i));
    out += f.name;
    out += "_bucket";
    append_labels(out, f, s, "le", le);
    out += ' ';
    append_number(out, static_cast<double>(cumulative));
    out += '\n';
  }
  out += f.name;
  out += "_bucket";
  append_labels(out, f, s, "le", "+Inf");
  out += ' ';
  append_number(out, static_cast<double>(s.histogram.count));
  out += '\n';
  out += f.name;
  out += "_sum";
  append_labels(out, f, s);
  out += ' ';
  append_number(out, s.histogram.sum);
  out += '\n';
  out += f.name;
  out += "_count";
  append_labels(out, f, s);
  out += ' ';
  append_number(out, static_cast<double>(s.histogram.count));
  out += '\n';
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string render_prometheus(const Snapshot& snapshot) {
  std::string out;
  for (const auto& [name, fs] : snapshot.families()) {
    const Family& f = *fs.family;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    for (char c : f.help) {  // HELP escapes only \\ and \n
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += type_name(f.type);
    out += '\n';
    for (const auto& [key, s] : fs.series) {
      if (f.type == MetricType::kHistogram) {
        append_histogram(out, f, s);
        continue;
      }
      out += f.name;
      append_labels(out, f, s);
      out += ' ';
      append_number(out, s.value);
      out += '\n';
    }
  }
  return out;
}

}  // namespace samsa::observe
