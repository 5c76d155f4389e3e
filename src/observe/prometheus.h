// Prometheus text exposition format (version 0.0.4) of a Snapshot: one
// `# HELP` and `# TYPE` line per family, then its series; histograms as
// cumulative `_bucket{le=...}` series with `_sum` and `_count`.
//
// Threads: a pure function of its argument.
#pragma once
#include <string>

#include "observe/metrics.h"

namespace samsa::observe {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus(const Snapshot& snapshot);

// A label value or HELP text escaped as the format requires (\\, \" and \n).
std::string escape_label_value(std::string_view v);

}  // namespace samsa::observe
