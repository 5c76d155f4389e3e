// KIP-853's bootstrap of a dynamic quorum: the --initial-controllers syntax
// (Kafka's DynamicVoter rules), --standalone's voter, the bootstrap
// checkpoint's bytes (decoded with the generated codecs and read back by
// FileSnapshotStore), the newest VotersRecord on disk and the quorum
// settings built from it.
#include <gtest/gtest.h>

#include "app/initial_controllers.h"
#include "base/clock.h"
#include "base/random.h"
#include "quorum/dynamic_voters.h"
#include "quorum/quorum_config.h"
#include "raft/bootstrap_checkpoint.h"
#include "raft/disk_raft_log.h"
#include "raft/file_snapshot_store.h"
#include "raft/metadata_batches.h"
#include "storage_test_util.h"

namespace samsa {
namespace {

namespace kraft = protocol::kraft;
using app::InitialController;

protocol::Uuid uuid_with(uint8_t last) {
  protocol::Uuid id{};
  id[0] = 0x40;
  id[15] = last;
  return id;
}

config::BrokerConfig config_of(std::vector<std::pair<std::string, std::string>> kv) {
  std::vector<std::string> warnings;
  auto loaded = config::load_broker_config(std::nullopt, kv, warnings);
  EXPECT_TRUE(std::holds_alternative<config::BrokerConfig>(loaded)) << std::get<std::string>(loaded);
  return std::get<config::BrokerConfig>(std::move(loaded));
}

std::string error_of(std::string_view text) {
  auto r = app::parse_initial_controllers(text);
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string("parsed");
}

TEST(StorageFormatVoters, ParsesInitialControllers) {
  auto a = protocol::to_base64url(uuid_with(1)), b = protocol::to_base64url(uuid_with(2));
  auto r = app::parse_initial_controllers("1@host-a:9093:" + a + ", 2@[::1]:19093:" + b);
  ASSERT_TRUE(std::holds_alternative<std::vector<InitialController>>(r)) << std::get<std::string>(r);
  auto& v = std::get<std::vector<InitialController>>(r);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], (InitialController{1, "host-a", 9093, uuid_with(1)}));
  EXPECT_EQ(v[1], (InitialController{2, "::1", 19093, uuid_with(2)}));
}

TEST(StorageFormatVoters, RefusesMalformedControllersWithKafkasMessages) {
  auto a = protocol::to_base64url(uuid_with(1));
  EXPECT_EQ(error_of(""), "No voters given.");
  EXPECT_EQ(error_of("host:9093:" + a), "No @ found in dynamic voter string.");
  EXPECT_EQ(error_of("@host:9093:" + a), "Invalid @ at beginning of dynamic voter string.");
  EXPECT_EQ(error_of("x@host:9093:" + a), "Failed to parse node id in dynamic voter string.");
  EXPECT_EQ(error_of("-1@host:9093:" + a), "Invalid negative node id -1 in dynamic voter string.");
  EXPECT_EQ(error_of("1@"), "No hostname found after node id.");
  EXPECT_EQ(error_of("1@[::1:9093:" + a), "Hostname began with left bracket, but no right bracket was found.");
  EXPECT_EQ(error_of("1@host"), "No colon following hostname could be found.");
  EXPECT_EQ(error_of("1@host:9093"), "No colon following port could be found.");
  EXPECT_EQ(error_of("1@host:port:" + a), "Failed to parse port in dynamic voter string.");
  EXPECT_EQ(error_of("1@host:70000:" + a), "Invalid port 70000 in dynamic voter string.");
  EXPECT_EQ(error_of("1@host:9093:not-a-uuid"), "Failed to parse directory ID in dynamic voter string.");
  EXPECT_EQ(error_of("1@a:9093:" + a + ",1@b:9093:" + a), "Node id 1 was specified more than once.");
}

TEST(StorageFormatVoters, UuidTextRoundTrips) {
  auto id = random_uuid(unique_ids());
  EXPECT_EQ(app::parse_uuid(protocol::to_base64url(id)), id);
  EXPECT_FALSE(app::parse_uuid("short"));
  EXPECT_FALSE(app::parse_uuid("AAAAAAAAAAAAAAAAAAAAA="));
}

TEST(StorageFormatVoters, StandaloneIsThisNodeAtItsControllerListener) {
  auto cfg = config_of({{"node.id", "4"},
                        {"process.roles", "broker,controller"},
                        {"listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"},
                        {"controller.listener.names", "CONTROLLER"},
                        {"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"}});
  auto v = app::standalone_voter(cfg);
  ASSERT_TRUE(std::holds_alternative<InitialController>(v)) << std::get<std::string>(v);
  auto& c = std::get<InitialController>(v);
  EXPECT_EQ(c.id, 4);
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 9093);
  EXPECT_NE(c.directory_id, protocol::Uuid{});

  auto broker = config_of({{"process.roles", "broker"}, {"controller.listener.names", "CONTROLLER"},
                           {"controller.quorum.bootstrap.servers", "localhost:9093"}});
  EXPECT_EQ(std::get<std::string>(app::standalone_voter(broker)), "You can only use --standalone on a controller.");
}

kraft::VotersRecord three_voters() {
  return app::voters_record({{1, "a", 9093, uuid_with(1)}, {2, "b", 9095, uuid_with(2)}, {3, "c", 9097, uuid_with(3)}},
                            "CONTROLLER");
}

TEST(StorageFormatVoters, BootstrapCheckpointHoldsKRaftVersionAndVoters) {
  auto bytes = raft::build_bootstrap_checkpoint(three_voters(), 1000);
  std::vector<std::span<const uint8_t>> batches;
  for (size_t pos = 0; pos < bytes.size();) {
    auto rest = std::span<const uint8_t>(bytes).subspan(pos);
    auto s = raft::summarize_batch(rest.first(std::min<size_t>(rest.size(), 12 + ((rest[8] << 24) | (rest[9] << 16) |
                                                                                   (rest[10] << 8) | rest[11]))));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->base_offset, Offset(static_cast<int64_t>(batches.size())));
    EXPECT_TRUE(s->control);
    batches.push_back(rest.first(s->size));
    pos += s->size;
  }
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_TRUE(raft::parse_snapshot_header(batches[0]));
  ASSERT_TRUE(raft::parse_kraft_version(batches[1]));
  EXPECT_EQ(raft::parse_kraft_version(batches[1])->k_raft_version, 1);
  auto voters = raft::parse_voters(batches[2]);
  ASSERT_TRUE(voters);
  EXPECT_EQ(*voters, three_voters());
  ASSERT_EQ(voters->voters.size(), 3u);
  EXPECT_EQ(voters->voters[1].voter_id, 2);
  EXPECT_EQ(voters->voters[1].voter_directory_id, uuid_with(2));
  ASSERT_EQ(voters->voters[1].endpoints.size(), 1u);
  EXPECT_EQ(voters->voters[1].endpoints[0].name, "CONTROLLER");
  EXPECT_EQ(voters->voters[1].endpoints[0].host, "b");
  EXPECT_EQ(voters->voters[1].endpoints[0].port, 9095);
  EXPECT_EQ(voters->voters[1].k_raft_version_feature.max_supported_version, 1);
  EXPECT_TRUE(raft::parse_snapshot_footer(batches[3]));
  // A snapshot file as the snapshot store validates them, with no data records.
  auto scanned = raft::scan_snapshot_bytes(bytes, {}, {});
  ASSERT_TRUE(scanned.is_ok()) << scanned.status().to_string();
  EXPECT_EQ(scanned.value().records, 0);
}

TEST(StorageFormatVoters, TheStoreOpensTheBootstrapCheckpointAndTheNewestVotersWin) {
  storage::testing::TempDir tmp;
  auto* env = storage::posix_env();
  auto dir = tmp.sub("__cluster_metadata-0");
  auto none = raft::read_newest_voters(env, dir);
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none.value());

  ASSERT_TRUE(raft::write_bootstrap_checkpoint(env, dir, three_voters(), 1000));
  EXPECT_TRUE(env->exists(storage::join_path(dir, raft::kBootstrapCheckpointName)));
  {
    auto store = raft::FileSnapshotStore::open(env, dir);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE(store.value()->latest());
    EXPECT_EQ(*store.value()->latest(), (raft::SnapshotId{Offset(0), Epoch(0)}));
  }
  auto read = raft::read_newest_voters(env, dir);
  ASSERT_TRUE(read.is_ok());
  ASSERT_TRUE(read.value());
  EXPECT_EQ(*read.value(), three_voters());

  // A Voters batch in the log (offset 5) is newer than the checkpoint's.
  auto two = app::voters_record({{1, "a", 9093, uuid_with(1)}, {2, "b", 9095, uuid_with(2)}}, "CONTROLLER");
  auto data =
      raft::build_data_batch(std::vector<protocol::Bytes>{{1, 2, 3}}, raft::BatchPlacement{Offset(4), Epoch(1)});
  auto change = raft::build_voters_batch(two, raft::BatchPlacement{Offset(5), Epoch(1)});
  data.insert(data.end(), change.begin(), change.end());
  data.push_back(0xff);  // a torn tail ends the scan
  ASSERT_TRUE(storage::write_file_atomically(
      env, storage::join_path(dir, "00000000000000000004.log"),
      std::string_view(reinterpret_cast<const char*>(data.data()), data.size())));
  read = raft::read_newest_voters(env, dir);
  ASSERT_TRUE(read.is_ok());
  ASSERT_TRUE(read.value());
  EXPECT_EQ(*read.value(), two);
}

// A metadata snapshot of a dynamic quorum records the voter set after its header (KIP-853): the
// store reads it back, and once the snapshot replaces the bootstrap checkpoint and the log prefix
// that held the VotersRecord, a restarting node still finds the voters in it.
TEST(StorageFormatVoters, ASnapshotCarriesTheVoterSetWhenTheLogPrefixIsGone) {
  storage::testing::TempDir tmp;
  auto* env = storage::posix_env();
  auto dir = tmp.sub("__cluster_metadata-0");
  ASSERT_TRUE(raft::write_bootstrap_checkpoint(env, dir, three_voters(), 1000));
  auto store = raft::FileSnapshotStore::open(env, dir);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  auto two = app::voters_record({{1, "a", 9093, uuid_with(1)}, {3, "c", 9097, uuid_with(3)}}, "CONTROLLER");
  const raft::SnapshotId id{Offset(40), Epoch(2)};
  {
    auto w = store.value()->create(id, 5, 6, &two);
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    ASSERT_TRUE((*w)->add(std::vector<uint8_t>{1, 2, 3}));
    ASSERT_TRUE((*w)->finish());
  }
  int values = 0;
  auto info = store.value()->load(id, [&](std::span<const uint8_t>) { ++values; });
  ASSERT_TRUE(info.is_ok()) << info.status().to_string();
  EXPECT_EQ(values, 1);  // the control records are not values
  ASSERT_TRUE(info->voters);
  EXPECT_EQ(*info->voters, two);
  ASSERT_TRUE(store.value()->remove_older_than(id));  // the bootstrap checkpoint goes
  EXPECT_FALSE(env->exists(storage::join_path(dir, raft::kBootstrapCheckpointName)));
  auto read = raft::read_newest_voters(env, dir);
  ASSERT_TRUE(read.is_ok());
  ASSERT_TRUE(read.value());
  EXPECT_EQ(*read.value(), two);
  // A static quorum's snapshot has none.
  const raft::SnapshotId later{Offset(50), Epoch(2)};
  {
    auto w = store.value()->create(later, 5, 6);
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE((*w)->finish());
  }
  auto plain = store.value()->load(later, {});
  ASSERT_TRUE(plain.is_ok());
  EXPECT_FALSE(plain->voters);
}

TEST(StorageFormatVoters, AFormattedVoterOpensAnEmptyLogAfterTheBootstrapCheckpoint) {
  storage::testing::TempDir tmp;
  auto* env = storage::posix_env();
  ASSERT_TRUE(raft::write_bootstrap_checkpoint(env, tmp.sub("__cluster_metadata-0"), three_voters(), 1000));
  auto store = raft::FileSnapshotStore::open(env, tmp.sub("__cluster_metadata-0"));
  ASSERT_TRUE(store.is_ok());
  ManualClock clock{1'700'000'000'000};
  raft::DiskRaftLogOptions options;
  options.snapshot = store.value()->latest();
  auto opened = raft::DiskRaftLog::open(env, tmp.path(), clock, options);
  ASSERT_TRUE(opened.log) << opened.error;
  EXPECT_EQ(opened.log->start_offset(), Offset(0));
  EXPECT_EQ(opened.log->end_offset(), Offset(0));
  ASSERT_TRUE(opened.log->close());
  // Opening the log left the checkpoint where the start-up reads the voters.
  auto read = raft::read_newest_voters(env, tmp.sub("__cluster_metadata-0"));
  ASSERT_TRUE(read.is_ok() && read.value());
  EXPECT_EQ(*read.value(), three_voters());
}

TEST(StorageFormatVoters, DynamicQuorumSettingsComeFromTheRecordedVoters) {
  storage::testing::TempDir tmp;
  auto cfg = config_of({{"node.id", "2"},
                        {"process.roles", "broker,controller"},
                        {"log.dirs", tmp.path()},
                        {"listeners", "PLAINTEXT://:9092,CONTROLLER://:9095"},
                        {"controller.listener.names", "CONTROLLER"},
                        {"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"},
                        {"controller.quorum.bootstrap.servers", "a:9093,b:9095"}});
  // Formatted with --no-initial-controllers: an observer that finds the leader
  // through the bootstrap servers (negative ids -2, -3 in the Raft core).
  auto observer = quorum::quorum_settings(cfg, storage::posix_env());
  ASSERT_TRUE(std::holds_alternative<std::optional<quorum::QuorumSettings>>(observer))
      << std::get<std::string>(observer);
  auto& o = std::get<std::optional<quorum::QuorumSettings>>(observer);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->raft.dynamic);
  EXPECT_FALSE(o->raft.voters_record);
  EXPECT_TRUE(o->raft.voters.empty());
  EXPECT_EQ(o->raft.bootstrap, (std::vector<NodeId>{NodeId(-2), NodeId(-3)}));
  EXPECT_EQ(o->bootstrap.at(NodeId(-3)), (quorum::PeerAddress{"b", 9095}));

  ASSERT_TRUE(raft::write_bootstrap_checkpoint(storage::posix_env(), tmp.sub("__cluster_metadata-0"), three_voters(),
                                               1000));
  auto s = quorum::quorum_settings(cfg, storage::posix_env());
  ASSERT_TRUE(std::holds_alternative<std::optional<quorum::QuorumSettings>>(s)) << std::get<std::string>(s);
  auto& q = std::get<std::optional<quorum::QuorumSettings>>(s);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->raft.local_id, NodeId(2));
  EXPECT_EQ(q->raft.voters, (std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}));
  EXPECT_EQ(q->voters.at(NodeId(3)), (quorum::PeerAddress{"c", 9097}));
}

}  // namespace
}  // namespace samsa
