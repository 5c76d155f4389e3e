// The metadata log (__cluster_metadata-0) backed by a storage::Log.
#pragma once
#include <memory>
#include <string>

#include "cluster/controller.h"

namespace samsa::server {

struct OpenedMetadataLog {
  std::unique_ptr<cluster::MetadataLog> log;
  std::string error;
};
OpenedMetadataLog open_metadata_log(const std::string& log_dir);

}  // namespace samsa::server
