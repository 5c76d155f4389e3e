// `samsa storage format --add-scram` (KIP-900): each
// 'SCRAM-SHA-256=[name=alice,password=secret(,iterations=8192)]' becomes a
// UserScramCredentialRecord (a random salt, StoredKey and ServerKey of RFC
// 5802; the password is not kept) for the bootstrap records of the metadata
// log dir (cluster/bootstrap_records.h).
//
// Pure (but for the random salt); the tool's thread.
#pragma once
#include <string>
#include <variant>
#include <vector>

#include "cluster/metadata_records.h"

namespace samsa::app {

// The records of the --add-scram arguments, or the reason one is malformed.
std::variant<std::vector<cluster::MetadataRecord>, std::string> scram_bootstrap_records(
    const std::vector<std::string>& specs);

}  // namespace samsa::app
