#include <gtest/gtest.h>

#include "storage/offset_index.h"
#include "storage/time_index.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using testing::TempDir;

TEST(StorageOffsetIndex, AppendLookupTruncate) {
  TempDir dir;
  auto idx = OffsetIndex::open(posix_env(), dir.sub("00000000000000000100.index"), 100, 8 * 16);
  ASSERT_TRUE(idx) << idx.status().to_string();
  OffsetIndex& i = **idx;
  EXPECT_EQ(i.entries(), 0u);
  EXPECT_EQ(i.lookup(150).offset, 100);
  EXPECT_EQ(i.lookup(150).position, 0u);
  for (int k = 1; k <= 10; ++k) ASSERT_TRUE(i.append(100 + k * 10, static_cast<uint32_t>(k * 1000)));
  EXPECT_EQ(i.entries(), 10u);
  EXPECT_EQ(i.lookup(99).position, 0u);
  EXPECT_EQ(i.lookup(110).position, 1000u);
  EXPECT_EQ(i.lookup(115).position, 1000u);
  EXPECT_EQ(i.lookup(200).position, 10000u);
  EXPECT_EQ(i.lookup(1000).position, 10000u);
  EXPECT_EQ(i.lookup_by_position(2500).offset, 120);
  EXPECT_EQ(i.lookup_by_position(500).position, 0u);
  EXPECT_FALSE(i.append(200, 20000)) << "offsets must increase";
  EXPECT_FALSE(i.append(100 + (int64_t{1} << 32), 20000)) << "relative offset must fit int32";
  ASSERT_TRUE(i.truncate_to(150));
  EXPECT_EQ(i.entries(), 4u);
  EXPECT_EQ(i.last_entry().offset, 140);
  for (int k = 5; k <= 16; ++k) (void)i.append(100 + k * 10, static_cast<uint32_t>(k * 1000));
  EXPECT_TRUE(i.is_full());
  EXPECT_EQ(i.entries(), 16u);
  EXPECT_TRUE(i.sanity_check(1000, 100000));
  EXPECT_FALSE(i.sanity_check(200, 100000)) << "last entry beyond the segment's offsets";
  EXPECT_FALSE(i.sanity_check(1000, 1000)) << "last entry beyond the log size";
}

TEST(StorageOffsetIndex, TrimAndReopenCountsEntries) {
  TempDir dir;
  std::string path = dir.sub("00000000000000000000.index");
  {
    auto idx = OffsetIndex::open(posix_env(), path, 0, 4096);
    ASSERT_TRUE(idx);
    for (int k = 1; k <= 5; ++k) ASSERT_TRUE((*idx)->append(k * 3, static_cast<uint32_t>(k * 100)));
    // Not trimmed: simulates a crash while active.
  }
  EXPECT_EQ(*posix_env()->file_size(path), 4096u);
  {
    auto idx = OffsetIndex::open(posix_env(), path, 0, 0);
    ASSERT_TRUE(idx);
    EXPECT_EQ((*idx)->entries(), 5u) << "zero fill after the entries is not data";
    ASSERT_TRUE((*idx)->truncate_to(10));  // drops 12 and 15, zeroing them
    ASSERT_TRUE((*idx)->trim());
  }
  EXPECT_EQ(*posix_env()->file_size(path), 24u);
  auto idx = OffsetIndex::open(posix_env(), path, 0, 0);
  ASSERT_TRUE(idx);
  EXPECT_EQ((*idx)->entries(), 3u);
  EXPECT_EQ((*idx)->last_entry().offset, 9);
}

// The valid-prefix scan only reads what was on disk before open() grew the
// file: entries must be found whether the file was trimmed (clean shutdown) or
// left preallocated (crash), and a larger preallocation adds no entries.
TEST(StorageOffsetIndex, ReopenWithPreallocationCountsEntries) {
  TempDir dir;
  std::string path = dir.sub("00000000000000000000.index");
  {
    auto idx = OffsetIndex::open(posix_env(), path, 0, 4096);
    ASSERT_TRUE(idx);
    EXPECT_EQ((*idx)->entries(), 0u);
    for (int k = 1; k <= 7; ++k) ASSERT_TRUE((*idx)->append(k * 2, static_cast<uint32_t>(k * 50)));
    ASSERT_TRUE((*idx)->trim());
  }
  EXPECT_EQ(*posix_env()->file_size(path), 56u);
  {
    auto idx = OffsetIndex::open(posix_env(), path, 0, 4096);  // trimmed, grown again
    ASSERT_TRUE(idx);
    EXPECT_EQ((*idx)->entries(), 7u);
    EXPECT_EQ(*posix_env()->file_size(path), 4096u);
    ASSERT_TRUE((*idx)->append(16, 400));
  }
  auto idx = OffsetIndex::open(posix_env(), path, 0, 1 << 20);  // crashed preallocated, grown further
  ASSERT_TRUE(idx);
  EXPECT_EQ((*idx)->entries(), 8u);
  EXPECT_EQ((*idx)->last_entry().offset, 16);
  EXPECT_EQ((*idx)->lookup(15).position, 350u);
}

TEST(StorageTimeIndex, AppendsOnlyIncreasingTimestamps) {
  TempDir dir;
  auto idx = TimeIndex::open(posix_env(), dir.sub("00000000000000000050.timeindex"), 50, 12 * 8);
  ASSERT_TRUE(idx);
  TimeIndex& t = **idx;
  EXPECT_EQ(t.last_entry().timestamp, -1);
  ASSERT_TRUE(t.maybe_append(1000, 55));
  ASSERT_TRUE(t.maybe_append(1000, 60));  // not larger: ignored
  ASSERT_TRUE(t.maybe_append(900, 61));   // smaller: ignored
  ASSERT_TRUE(t.maybe_append(2000, 70));
  ASSERT_TRUE(t.maybe_append(3000, 80));
  EXPECT_EQ(t.entries(), 3u);
  EXPECT_EQ(t.lookup_before(1000).timestamp, -1);
  EXPECT_EQ(t.lookup_before(1000).offset, 50);
  EXPECT_EQ(t.lookup_before(1001).offset, 55);
  EXPECT_EQ(t.lookup_before(2500).offset, 70);
  EXPECT_EQ(t.lookup_before(99999).offset, 80);
  ASSERT_TRUE(t.truncate_to(70));
  EXPECT_EQ(t.entries(), 1u);
  EXPECT_EQ(t.last_entry().timestamp, 1000);
  // 8 slots, one reserved for sealing: full after 7.
  for (int k = 1; k <= 10; ++k) (void)t.maybe_append(1000 + k * 100, 55 + k);
  EXPECT_EQ(t.entries(), 7u);
  EXPECT_TRUE(t.is_full());
  EXPECT_FALSE(t.maybe_append(50000, 100));
  EXPECT_TRUE(t.maybe_append(50000, 100, /*sealing=*/true));
  EXPECT_EQ(t.entries(), 8u);
  EXPECT_TRUE(t.sanity_check(101));
  EXPECT_FALSE(t.sanity_check(100));
}

}  // namespace
}  // namespace samsa::storage
