// `samsa dump-log-segments --files F[,F...] [--print-data-log] [--deep-iteration]
// [--cluster-metadata-decoder]`:
// prints the batches (and records) of .log segment files and the entries of
// .index / .timeindex files in the shape of Kafka's DumpLogSegments, flagging
// inconsistencies (invalid batches, index entries that do not point at the
// batch they name, timestamps going backwards). Read-only; any thread.
#pragma once
#include <cstdio>
#include <string>

namespace samsa::cli {

struct DumpOptions {
  bool print_data = false;      // --print-data-log: key and payload of each record
  bool deep_iteration = false;  // --deep-iteration: one line per record
  // --cluster-metadata-decoder: values are KRaft metadata records, printed as
  // JSON payloads; implies print_data.
  bool cluster_metadata = false;
};

// Dumps one file to `out`. Returns false when the file cannot be read or holds
// an inconsistency (the details are printed).
bool dump_file(const std::string& path, const DumpOptions& opts, std::FILE* out);

int dump_log_segments_main(int argc, char** argv);

}  // namespace samsa::cli
