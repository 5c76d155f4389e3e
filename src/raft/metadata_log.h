// The metadata log (__cluster_metadata-0): the interface the controller and
// the metadata loader use, and its storage-backed implementation.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace samsa::raft {

// Persistence of the metadata log (storage-backed in production, in-memory in tests).
class MetadataLog {
 public:
  virtual ~MetadataLog() = default;
  // Appends the values as one batch and makes it durable; returns the offset of
  // the last record, or nullopt on an I/O error.
  virtual std::optional<int64_t> append(const std::vector<protocol::Bytes>& values) = 0;
  virtual void replay(const std::function<void(int64_t offset, std::span<const uint8_t> value)>& fn) = 0;
};

struct OpenedMetadataLog {
  std::unique_ptr<MetadataLog> log;
  std::string error;
};
OpenedMetadataLog open_metadata_log(const std::string& log_dir);

}  // namespace samsa::raft
