#include <gtest/gtest.h>

#include <cerrno>

#include "storage/fault_injection_env.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using testing::TempDir;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string contents(Env* env, const std::string& path) {
  auto s = read_file_to_string(env, path, 1 << 20);
  return s ? *s : "<missing>";
}

TEST(StorageEnv, PosixReadWriteTruncateRename) {
  TempDir dir;
  Env* env = posix_env();
  std::string p = dir.sub("a.log");
  auto f = env->open_file(p, OpenMode::kCreate);
  ASSERT_TRUE(f) << f.status().to_string();
  ASSERT_TRUE((*f)->write_at(0, bytes("hello world")));
  ASSERT_TRUE((*f)->write_at(6, bytes("WORLD!")));
  EXPECT_EQ(*(*f)->size(), 12u);
  std::vector<uint8_t> buf(32);
  auto n = (*f)->read_at(0, buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "hello WORLD!");
  ASSERT_TRUE((*f)->truncate(5));
  ASSERT_TRUE((*f)->sync());
  EXPECT_GE((*f)->fd(), 0);
  ASSERT_TRUE(env->rename(p, dir.sub("b.log")));
  EXPECT_FALSE(env->exists(p));
  EXPECT_EQ(contents(env, dir.sub("b.log")), "hello");
  // The handle stays usable after rename and unlink (a reader's sendfile).
  ASSERT_TRUE(env->unlink(dir.sub("b.log")));
  n = (*f)->read_at(0, buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 5u);
  auto names = env->list_dir(dir.path());
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());
  ASSERT_TRUE(env->sync_dir(dir.path()));
  EXPECT_EQ(env->open_file(dir.sub("nope"), OpenMode::kExisting).status().kind(), Status::Kind::kNotFound);
}

TEST(StorageEnv, AtomicWriteAndDirs) {
  TempDir dir;
  Env* env = posix_env();
  ASSERT_TRUE(create_dirs(env, dir.sub("x/y/z")));
  EXPECT_TRUE(env->is_dir(dir.sub("x/y/z")));
  ASSERT_TRUE(write_file_atomically(env, dir.sub("x/f"), "one"));
  ASSERT_TRUE(write_file_atomically(env, dir.sub("x/f"), "two"));
  EXPECT_EQ(contents(env, dir.sub("x/f")), "two");
  EXPECT_FALSE(env->exists(dir.sub("x/f.tmp")));
  ASSERT_TRUE(remove_dir_recursive(env, dir.sub("x")));
  EXPECT_FALSE(env->exists(dir.sub("x")));
}

TEST(StorageEnv, MappingSeesPwrites) {
  TempDir dir;
  Env* env = posix_env();
  auto f = env->open_file(dir.sub("i"), OpenMode::kCreate);
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->truncate(4096));
  auto m = env->map_file(*f, 4096);
  ASSERT_TRUE(m);
  ASSERT_TRUE((*f)->write_at(100, bytes("xyz")));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*m)->data()) + 100, 3), "xyz");
}

TEST(StorageFaultEnv, PowerCutDropsUnsyncedData) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  std::string p = dir.sub("f");
  {
    auto f = env.open_file(p, OpenMode::kCreate);
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->write_at(0, bytes("durable")));
    ASSERT_TRUE((*f)->sync());
    ASSERT_TRUE(env.sync_dir(dir.path()));
    ASSERT_TRUE((*f)->write_at(7, bytes("+volatile")));
  }
  EXPECT_EQ(contents(&env, p), "durable+volatile");
  ASSERT_TRUE(env.power_cut());
  EXPECT_EQ(contents(&env, p), "durable");
}

TEST(StorageFaultEnv, UnsyncedCreationVanishes) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  {
    auto f = env.open_file(dir.sub("new"), OpenMode::kCreate);
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->write_at(0, bytes("data")));
    ASSERT_TRUE((*f)->sync());  // data synced, directory entry not
  }
  ASSERT_TRUE(env.power_cut());
  EXPECT_FALSE(env.exists(dir.sub("new")));
}

TEST(StorageFaultEnv, PreexistingFilesAreDurable) {
  TempDir dir;
  ASSERT_TRUE(write_file_atomically(posix_env(), dir.sub("old"), "before"));
  FaultInjectionEnv env(posix_env());
  {
    auto f = env.open_file(dir.sub("old"), OpenMode::kExisting);
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->write_at(0, bytes("AFTER!")));
  }
  ASSERT_TRUE(env.power_cut());
  EXPECT_EQ(contents(&env, dir.sub("old")), "before");
}

TEST(StorageFaultEnv, TornWriteThenCrash) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  auto f = env.open_file(dir.sub("t.log"), OpenMode::kCreate);
  ASSERT_TRUE(f);
  env.tear_next_write(3, ".log");
  Status st = (*f)->write_at(0, bytes("abcdef"));
  EXPECT_EQ(st.kind(), Status::Kind::kIoError);
  EXPECT_TRUE(env.crashed());
  EXPECT_FALSE((*f)->write_at(0, bytes("x")));
  EXPECT_FALSE((*f)->sync());
  env.restart();
  EXPECT_EQ(contents(&env, dir.sub("t.log")), "abc");
}

TEST(StorageFaultEnv, FailNextWithErrno) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  auto f = env.open_file(dir.sub("e"), OpenMode::kCreate);
  ASSERT_TRUE(f);
  env.fail_next(FaultInjectionEnv::kOpWrite, ENOSPC, 2);
  EXPECT_EQ((*f)->write_at(0, bytes("a")).sys_errno(), ENOSPC);
  EXPECT_EQ((*f)->write_at(0, bytes("a")).sys_errno(), ENOSPC);
  EXPECT_TRUE((*f)->write_at(0, bytes("a")));
  env.fail_next(FaultInjectionEnv::kOpSync, EIO);
  EXPECT_EQ((*f)->sync().sys_errno(), EIO);
  EXPECT_TRUE((*f)->sync());
}

TEST(StorageFaultEnv, RenameCarriesDurableState) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  ASSERT_TRUE(write_file_atomically(&env, dir.sub("cp"), "v1"));
  ASSERT_TRUE(write_file_atomically(&env, dir.sub("cp"), "v2"));
  ASSERT_TRUE(env.power_cut());
  EXPECT_EQ(contents(&env, dir.sub("cp")), "v2");
}

}  // namespace
}  // namespace samsa::storage
