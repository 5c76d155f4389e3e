#include "storage/meta_properties.h"

#include <gtest/gtest.h>

#include <set>

#include "protocol/wire.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

TEST(MetaProperties, WriteThenReadBack) {
  testing::TempDir dir;
  Env* env = posix_env();
  EXPECT_EQ(read_meta_properties(env, dir.path()).status().kind(), Status::Kind::kNotFound);
  ASSERT_TRUE(write_meta_properties(env, dir.path(), 7, "MkU3OEVBNTcwNTJENDM2Qg", "test"));
  auto m = read_meta_properties(env, dir.path());
  ASSERT_TRUE(m) << m.status().to_string();
  EXPECT_EQ(*m, (MetaProperties{{"cluster.id", "MkU3OEVBNTcwNTJENDM2Qg"}, {"node.id", "7"}, {"version", "1"}}));
  EXPECT_EQ(to_string(*m), "{cluster.id=MkU3OEVBNTcwNTJENDM2Qg, node.id=7, version=1}");
}

TEST(MetaProperties, ReadsKafkaWrittenFile) {
  testing::TempDir dir;
  Env* env = posix_env();
  ASSERT_TRUE(write_file_atomically(env, dir.sub("meta.properties"),
                                    "#\n#Mon Nov 30 12:00:00 UTC 2026\ncluster.id = abc\r\nnode.id=1\n! note\nversion=1\n"));
  auto m = read_meta_properties(env, dir.path());
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (MetaProperties{{"cluster.id", "abc"}, {"node.id", "1"}, {"version", "1"}}));
}

TEST(MetaProperties, OversizedFileIsRejected) {
  testing::TempDir dir;
  Env* env = posix_env();
  ASSERT_TRUE(write_file_atomically(env, dir.sub("meta.properties"), std::string(kMaxMetaPropertiesBytes + 1, '#')));
  EXPECT_FALSE(read_meta_properties(env, dir.path()));
}

TEST(MetaProperties, RandomClusterIdsAreValidAndDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    std::string id = random_cluster_id();
    EXPECT_TRUE(valid_cluster_id(id)) << id;
    EXPECT_NE(id[0], '-');
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 200u);
}

TEST(MetaProperties, ClusterIdValidation) {
  protocol::Uuid zero{};
  EXPECT_EQ(protocol::to_base64url(zero), "AAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_TRUE(valid_cluster_id("AAAAAAAAAAAAAAAAAAAAAA"));
  EXPECT_FALSE(valid_cluster_id("AAAAAAAAAAAAAAAAAAAAAB"));   // low bits of the last char must be 0
  EXPECT_FALSE(valid_cluster_id("AAAAAAAAAAAAAAAAAAAAA"));    // 21 chars
  EXPECT_FALSE(valid_cluster_id("AAAAAAAAAAAAAAAAAAAA+A"));   // not URL-safe base64
}

}  // namespace
}  // namespace samsa::storage
