// Bootstrap metadata records (KIP-900): records `samsa storage format` puts in
// the metadata log dir (`--add-scram`: UserScramCredentialRecords) for the
// first active controller to write at the start of an empty metadata log,
// ahead of its first batch, so the first start already has them.
//
// The file is Samsa's own (Kafka keeps them in bootstrap.checkpoint):
// <metadata log dir>/bootstrap.records, one record a line, each the framed
// record value (encode_record) in hex. A file that does not decode stops the
// start with the reason; no file means no bootstrap records.
//
// Threads: blocking file I/O through storage::Env, at start-up or in a tool.
#pragma once
#include <string>
#include <vector>

#include "cluster/metadata_records.h"
#include "storage/env.h"
#include "storage/status.h"

namespace samsa::cluster {

inline constexpr const char* kBootstrapRecordsFile = "bootstrap.records";
inline constexpr size_t kMaxBootstrapRecordsBytes = 16 << 20;

storage::Status write_bootstrap_records(storage::Env* env, const std::string& dir,
                                        const std::vector<MetadataRecord>& records);
storage::Result<std::vector<MetadataRecord>> read_bootstrap_records(storage::Env* env, const std::string& dir);

}  // namespace samsa::cluster
