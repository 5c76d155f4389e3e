// Helpers for the replication tests that open real partitions on a temp dir:
// a LogManager over one log dir, and a replica's bytes as a follower Fetch
// reads them (to compare two replicas byte for byte).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "replication/partition.h"
#include "storage/log_manager.h"
#include "storage_test_util.h"

namespace samsa::replication::testing {

// Null (and the test failed) when it cannot be opened.
inline std::unique_ptr<storage::LogManager> open_log_manager(const storage::testing::TempDir& dir) {
  storage::LogManagerOptions o;
  o.log_dirs = {dir.sub("logs")};
  auto m = storage::LogManager::open(storage::posix_env(), o);
  EXPECT_TRUE(m) << m.status().to_string();
  return m ? std::move(*m) : nullptr;
}

// The replica's batches from `offset` (-1: its log start) to its log end, read from its files.
inline std::vector<uint8_t> replica_bytes(Partition& p, int64_t offset = -1) {
  auto r = p.read_for_follower(offset < 0 ? p.log_start_offset().value : offset, 1 << 20);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  std::vector<uint8_t> out;
  for (const auto& c : r.chunks) {
    const size_t at = out.size();
    out.resize(at + c.len);
    EXPECT_EQ(::pread(c.fd, out.data() + at, c.len, c.pos), static_cast<ssize_t>(c.len));
  }
  return out;
}

}  // namespace samsa::replication::testing
