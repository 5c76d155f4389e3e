// Process-wide gauges read from /proc at scrape time: resident memory, open
// descriptors, CPU seconds, start time (the names of Prometheus' client
// libraries, which every dashboard knows).
//
// Threads: any; reads /proc only (a few small files per scrape).
#pragma once
#include "observe/metrics.h"

namespace samsa::observe {

void add_process_metrics(Snapshot& out);

}  // namespace samsa::observe
