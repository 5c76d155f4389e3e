#pragma once
// meta.properties, the identity file at the root of every log dir (Kafka's
// KRaft layout, version 1): `version=1`, `node.id`, `cluster.id`, `directory.id`. Written by
// `samsa storage format` or by the broker's first start, read by the broker
// (which refuses dirs of another node or cluster) and by `samsa storage info`.
#include <cstdint>
#include <map>
#include <string>

#include "storage/env.h"
#include "storage/status.h"

namespace samsa::storage {

inline constexpr const char* kMetaPropertiesFile = "meta.properties";
// Largest meta.properties read (a few short lines in practice).
inline constexpr size_t kMaxMetaPropertiesBytes = 64 * 1024;

using MetaProperties = std::map<std::string, std::string>;

// Reads `dir`/meta.properties as key=value lines ('#' comments). NotFound when
// the dir is not formatted.
Result<MetaProperties> read_meta_properties(Env* env, const std::string& dir);
// Writes `dir`/meta.properties (crash-safe replace) with version=1, node.id and cluster.id,
// and directory.id (Kafka's text of the dir's Uuid, KIP-858/853) when one is given.
Status write_meta_properties(Env* env, const std::string& dir, int32_t node_id, const std::string& cluster_id,
                             const std::string& comment, const std::string& directory_id = {});
// Kafka's text form of the properties: "{cluster.id=..., node.id=1, version=1}".
std::string to_string(const MetaProperties& p);

// A new cluster id as Kafka makes them: 16 random bytes with the version-4
// UUID bits, URL-safe base64 without padding (22 characters), never starting with '-'.
std::string random_cluster_id();
// True for a 22-character URL-safe base64 text of 16 bytes (what Kafka accepts as a cluster id).
bool valid_cluster_id(const std::string& id);

}  // namespace samsa::storage
