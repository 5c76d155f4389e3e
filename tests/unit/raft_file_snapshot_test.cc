// FileSnapshotStore: <offset>-<epoch>.checkpoint files written atomically
// (header, data batches, footer; valid Kafka batches), loaded back, served in
// FetchSnapshot chunks, installed from downloaded bytes; torn, corrupt and
// partial files are refused and deleted when the store opens; a power cut
// never leaves a half snapshot.
#include <gtest/gtest.h>

#include "protocol/record_batch.h"
#include "raft/disk_raft_log.h"
#include "raft/file_snapshot_store.h"
#include "raft/metadata_batches.h"
#include "storage/fault_injection_env.h"
#include "storage_test_util.h"

namespace samsa::raft {
namespace {

std::vector<protocol::Bytes> make_values(int n) {
  std::vector<protocol::Bytes> out;
  for (int i = 0; i < n; ++i) {
    std::string s = "record-" + std::to_string(i) + std::string(static_cast<size_t>(i % 50), 'x');
    out.emplace_back(s.begin(), s.end());
  }
  return out;
}

struct RaftFileSnapshot : ::testing::Test {
  RaftFileSnapshot() : env(storage::posix_env()) {
    env.set_skip_real_sync(true);
    limits.target_batch_bytes = 1024;  // several data batches
  }
  std::string part_dir() { return metadata_partition_dir(dir.path()); }
  std::unique_ptr<FileSnapshotStore> open() {
    auto s = FileSnapshotStore::open(&env, part_dir(), limits);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return s.is_ok() ? std::move(s).value() : nullptr;
  }
  void write(FileSnapshotStore& store, const SnapshotId& id, const std::vector<protocol::Bytes>& values) {
    auto w = store.create(id, 777, 1000);
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    for (auto& v : values) ASSERT_TRUE((*w)->add(v));
    ASSERT_TRUE((*w)->finish());
  }
  std::vector<protocol::Bytes> load(FileSnapshotStore& store, const SnapshotId& id) {
    std::vector<protocol::Bytes> out;
    auto info = store.load(id, [&](std::span<const uint8_t> v) { out.emplace_back(v.begin(), v.end()); });
    EXPECT_TRUE(info.is_ok()) << info.status().to_string();
    return out;
  }
  protocol::Bytes file_bytes(const SnapshotId& id) {
    auto s = storage::read_file_to_string(&env, storage::join_path(part_dir(), snapshot_file_name(id)), 1 << 24);
    EXPECT_TRUE(s.is_ok());
    return protocol::Bytes(s->begin(), s->end());
  }
  std::vector<std::string> files() {
    auto names = env.list_dir(part_dir());
    std::vector<std::string> out(names->begin(), names->end());
    std::sort(out.begin(), out.end());
    return out;
  }

  storage::testing::TempDir dir;
  storage::FaultInjectionEnv env;
  SnapshotLimits limits;
};

TEST_F(RaftFileSnapshot, WriteLoadAndTheFileIsKafkasLayout) {
  auto store = open();
  EXPECT_FALSE(store->latest());
  SnapshotId id{Offset(1000), Epoch(3)};
  auto values = make_values(200);
  write(*store, id, values);
  EXPECT_EQ(store->latest(), id);
  EXPECT_EQ(files(), std::vector<std::string>{"00000000000000001000-0000000003.checkpoint"});
  EXPECT_EQ(load(*store, id), values);
  auto info = store->load(id, {});
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->records, 200);
  EXPECT_EQ(info->last_contained_log_timestamp, 777);

  // Valid Kafka batches, offsets dense from 0, header first and footer last.
  auto bytes = file_bytes(id);
  EXPECT_EQ(store->size(id), static_cast<int64_t>(bytes.size()));
  auto batches = protocol::split_batches(bytes);
  ASSERT_TRUE(batches);
  ASSERT_GT(batches->size(), 3u);  // header, several data batches, footer
  int64_t next = 0;
  for (auto b : *batches) {
    EXPECT_EQ(protocol::validate_batch(b, protocol::BatchOrigin::log), ErrorCode::NONE);
    auto h = protocol::BatchHeader::parse(b.data());
    EXPECT_EQ(h.base_offset, next);
    EXPECT_EQ(h.leader_epoch, 3);
    next = h.last_offset() + 1;
  }
  EXPECT_TRUE(parse_snapshot_header(batches->front()));
  EXPECT_TRUE(parse_snapshot_footer(batches->back()));

  // Reopened: still listed.
  store = open();
  EXPECT_EQ(store->list(), std::vector<SnapshotId>{id});
  EXPECT_EQ(store->removed_at_open(), 0);
  EXPECT_EQ(load(*store, id), values);
}

TEST_F(RaftFileSnapshot, AnEmptySnapshotHasHeaderAndFooter) {
  auto store = open();
  SnapshotId id{Offset(0), Epoch(0)};
  write(*store, id, {});
  EXPECT_TRUE(load(*store, id).empty());
  auto batches = protocol::split_batches(file_bytes(id));
  ASSERT_TRUE(batches);
  EXPECT_EQ(batches->size(), 2u);
  EXPECT_TRUE(store->create(id, 0, 0).status().kind() == storage::Status::Kind::kInvalidArgument);  // exists
}

TEST_F(RaftFileSnapshot, AnUnfinishedWriterLeavesNothing) {
  auto store = open();
  {
    auto w = store->create(SnapshotId{Offset(10), Epoch(1)}, 0, 0);
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE((*w)->add(make_values(1)[0]));
    EXPECT_EQ(files().size(), 1u);  // the .part
  }
  EXPECT_TRUE(files().empty());
  EXPECT_FALSE(store->latest());
}

TEST_F(RaftFileSnapshot, PowerCutKeepsFinishedSnapshotsOnly) {
  SnapshotId done{Offset(50), Epoch(2)};
  {
    auto store = open();
    write(*store, done, make_values(30));
    auto w = store->create(SnapshotId{Offset(80), Epoch(2)}, 0, 0);
    ASSERT_TRUE(w.is_ok());
    for (auto& v : make_values(30)) ASSERT_TRUE((*w)->add(v));
    env.crash();  // the process dies mid-snapshot (the writer's cleanup fails too)
  }
  ASSERT_TRUE(env.power_cut());
  auto store = open();
  EXPECT_EQ(store->list(), std::vector<SnapshotId>{done});
  EXPECT_EQ(load(*store, done), make_values(30));
  for (auto& f : files()) EXPECT_EQ(f.find(".part"), std::string::npos) << f;
}

TEST_F(RaftFileSnapshot, TornCorruptAndLeftoverFilesAreDeletedOnOpen) {
  SnapshotId good{Offset(10), Epoch(1)}, torn{Offset(20), Epoch(1)}, corrupt{Offset(30), Epoch(1)},
      no_footer{Offset(40), Epoch(1)};
  {
    auto store = open();
    for (auto id : {good, torn, corrupt}) write(*store, id, make_values(40));
  }
  auto path = [&](const SnapshotId& id) { return storage::join_path(part_dir(), snapshot_file_name(id)); };
  {
    auto f = env.open_file(path(torn), storage::OpenMode::kExisting);
    ASSERT_TRUE(f.is_ok());
    ASSERT_TRUE((*f)->truncate(*(*f)->size() - 10));
    auto c = env.open_file(path(corrupt), storage::OpenMode::kExisting);
    uint8_t byte = 0;
    ASSERT_TRUE((*c)->read_at(200, std::span<uint8_t>(&byte, 1)).is_ok());
    byte ^= 0xff;
    ASSERT_TRUE((*c)->write_at(200, std::span<const uint8_t>(&byte, 1)));
  }
  // A file that stops cleanly after a data batch (no footer).
  auto bytes = file_bytes(good);
  auto batches = *protocol::split_batches(bytes);
  protocol::Bytes cut(bytes.begin(), bytes.end() - static_cast<ptrdiff_t>(batches.back().size()));
  ASSERT_TRUE(storage::write_file_atomically(&env, path(no_footer), std::string(cut.begin(), cut.end())));
  ASSERT_TRUE(storage::write_file_atomically(&env, path(good) + ".part", "partial"));
  ASSERT_TRUE(storage::write_file_atomically(&env, storage::join_path(part_dir(), "other-file"), "kept"));

  auto store = open();
  EXPECT_EQ(store->list(), std::vector<SnapshotId>{good});
  EXPECT_EQ(store->removed_at_open(), 4);
  EXPECT_EQ(files(), (std::vector<std::string>{snapshot_file_name(good), "other-file"}));
}

TEST_F(RaftFileSnapshot, ReaderChunksInstallIntoAnotherStore) {
  auto leader = open();
  SnapshotId id{Offset(500), Epoch(7)};
  auto values = make_values(300);
  write(*leader, id, values);
  const int64_t size = leader->size(id);
  ASSERT_GT(size, 4096);
  // FetchSnapshot as the core pulls it: bounded chunks by position.
  protocol::Bytes downloaded;
  const SnapshotReader& reader = *leader;
  for (int i = 0; i < 1000 && static_cast<int64_t>(downloaded.size()) < size; ++i) {
    protocol::Bytes chunk;
    ASSERT_TRUE(reader.read(id, static_cast<int64_t>(downloaded.size()), 1000, chunk));
    ASSERT_LE(chunk.size(), 1000u);
    ASSERT_FALSE(chunk.empty());
    downloaded.insert(downloaded.end(), chunk.begin(), chunk.end());
  }
  EXPECT_EQ(downloaded, file_bytes(id));
  protocol::Bytes empty;
  EXPECT_TRUE(reader.read(id, size, 10, empty));  // at the end: nothing, but fine
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(reader.read(id, size + 1, 10, empty));
  EXPECT_FALSE(reader.read(id, -1, 10, empty));
  EXPECT_FALSE(reader.read(SnapshotId{Offset(1), Epoch(1)}, 0, 10, empty));
  EXPECT_EQ(reader.size(SnapshotId{Offset(1), Epoch(1)}), -1);

  storage::testing::TempDir other_dir;
  auto follower = FileSnapshotStore::open(&env, metadata_partition_dir(other_dir.path()), limits);
  ASSERT_TRUE(follower.is_ok());
  protocol::Bytes torn(downloaded.begin(), downloaded.end() - 1);
  EXPECT_EQ((*follower)->install(id, torn).kind(), storage::Status::Kind::kCorruption);
  EXPECT_FALSE((*follower)->latest());
  ASSERT_TRUE((*follower)->install(id, downloaded));
  EXPECT_EQ((*follower)->latest(), id);
  EXPECT_TRUE((*follower)->install(id, downloaded));  // already there: fine
  EXPECT_EQ(load(**follower, id), values);
  ASSERT_TRUE(env.power_cut());  // installed means durable
  follower = FileSnapshotStore::open(&env, metadata_partition_dir(other_dir.path()), limits);
  ASSERT_TRUE(follower.is_ok());
  EXPECT_EQ((*follower)->list(), std::vector<SnapshotId>{id});
}

TEST_F(RaftFileSnapshot, RemoveOlderThanKeepsTheNewest) {
  auto store = open();
  std::vector<SnapshotId> ids{{Offset(10), Epoch(1)}, {Offset(20), Epoch(1)}, {Offset(30), Epoch(2)}};
  for (auto& id : ids) write(*store, id, make_values(3));
  ASSERT_TRUE(store->remove_older_than(ids[2]));
  EXPECT_EQ(store->list(), std::vector<SnapshotId>{ids[2]});
  EXPECT_EQ(files(), std::vector<std::string>{snapshot_file_name(ids[2])});
}

TEST_F(RaftFileSnapshot, SizesAreBounded) {
  limits.max_snapshot_bytes = 4096;
  auto store = open();
  auto w = store->create(SnapshotId{Offset(10), Epoch(1)}, 0, 0);
  ASSERT_TRUE(w.is_ok());
  storage::Status st;
  for (int i = 0; i < 1000 && st; ++i) st = (*w)->add(make_values(50)[49]);
  if (st) st = (*w)->finish();
  EXPECT_FALSE(st);
  EXPECT_FALSE((*w)->finish());  // stays failed
  w->reset();
  EXPECT_FALSE(store->latest());
  // A value larger than a batch may hold is refused up front.
  limits.max_snapshot_bytes = int64_t{1} << 30;
  limits.max_batch_bytes = 1000;
  store = open();
  auto w2 = store->create(SnapshotId{Offset(11), Epoch(1)}, 0, 0);
  ASSERT_TRUE(w2.is_ok());
  EXPECT_FALSE((*w2)->add(protocol::Bytes(2000, 'a')));
  // Downloaded bytes above the limit are refused before they are scanned.
  limits.max_snapshot_bytes = 100;
  EXPECT_FALSE(scan_snapshot_bytes(protocol::Bytes(200, 0), limits, {}).is_ok());
  // Garbage of any kind is Corruption, never a crash.
  limits = SnapshotLimits{};
  for (size_t n : {0, 1, 12, 61, 100}) {
    protocol::Bytes junk(n, 0xab);
    EXPECT_FALSE(scan_snapshot_bytes(junk, limits, {}).is_ok()) << n;
  }
}

}  // namespace
}  // namespace samsa::raft
