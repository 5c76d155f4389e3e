// SCRAM credentials in the metadata log (KIP-554 / KIP-900):
// UserScramCredentialRecord / RemoveUserScramCredentialRecord through the
// record codec, on the image and back (a snapshot), the controller's checks
// of AlterUserScramCredentials, the bootstrap records of `storage format
// --add-scram`, and a SCRAM login against the metadata's credentials first,
// the JAAS users second.
#include <gtest/gtest.h>

#include "app/bootstrap_scram.h"
#include "cluster/bootstrap_records.h"
#include "cluster/image_records.h"
#include "cluster/metadata_records.h"
#include "cluster/scram_credentials.h"
#include "cluster_test_cluster.h"
#include "net/scram.h"
#include "storage_test_util.h"

namespace samsa::cluster {
namespace {

using samsa::testing::run;
using test_support::Cluster;

UserScramCredentialRecord cred_record(const std::string& user, int8_t mech, int32_t iterations, uint8_t fill) {
  UserScramCredentialRecord r;
  r.name = user;
  r.mechanism = mech;
  r.salt = {fill, 1, 2};
  r.stored_key = {fill, 3};
  r.server_key = {fill, 4};
  r.iterations = iterations;
  return r;
}

// An upsertion as the broker hands it to the controller (keys derived).
ScramUpsertion upsert(const std::string& user, int8_t mech, int32_t iterations) {
  ScramUpsertion u;
  u.name = user;
  u.mechanism = mech;
  u.iterations = iterations;
  u.salt = {1, 2, 3};
  u.salted_password = {4, 5, 6};
  u.stored_key = {7};
  u.server_key = {8};
  return u;
}

TEST(ClusterScram, RecordsRoundTripThroughTheCodec) {
  auto r = cred_record("alice", kScramSha512, 8192, 9);
  auto back = decode_record(encode_record(r));
  ASSERT_TRUE(back);
  auto* u = std::get_if<UserScramCredentialRecord>(&*back);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->name, "alice");
  EXPECT_EQ(u->mechanism, kScramSha512);
  EXPECT_EQ(u->salt, r.salt);
  EXPECT_EQ(u->stored_key, r.stored_key);
  EXPECT_EQ(u->server_key, r.server_key);
  EXPECT_EQ(u->iterations, 8192);
  RemoveUserScramCredentialRecord rm;
  rm.name = "alice";
  rm.mechanism = kScramSha256;
  auto bytes = encode_record(rm);
  // Kafka's framing: frame version 1, type 22 (RemoveUserScramCredentialRecord), version 0.
  ASSERT_GE(bytes.size(), 3u);
  EXPECT_EQ(bytes[0], 1);
  EXPECT_EQ(bytes[1], 22);
  EXPECT_EQ(encode_record(r)[1], 11);
  auto back_rm = decode_record(bytes);
  ASSERT_TRUE(back_rm);
  ASSERT_TRUE(std::holds_alternative<RemoveUserScramCredentialRecord>(*back_rm));
}

TEST(ClusterScram, ImageAppliesRecordsAndSnapshotRebuildsIt) {
  MetadataImage img;
  apply_record(img, cred_record("alice", kScramSha256, 4096, 1));
  apply_record(img, cred_record("alice", kScramSha512, 8192, 2));
  apply_record(img, cred_record("bob", kScramSha256, 4096, 3));
  apply_record(img, cred_record("", kScramSha256, 4096, 4));      // no name: ignored
  apply_record(img, cred_record("carol", 7, 4096, 5));            // unknown mechanism: ignored
  ASSERT_TRUE(img.scram);
  EXPECT_EQ(img.scram->size(), 3u);
  // Copy on write: a published image's table is never changed.
  auto published = img.scram;
  RemoveUserScramCredentialRecord rm;
  rm.name = "bob";
  rm.mechanism = kScramSha256;
  apply_record(img, rm);
  EXPECT_EQ(published->size(), 3u);
  EXPECT_EQ(img.scram->size(), 2u);
  EXPECT_EQ(img.scram->at({"alice", kScramSha512}).iterations, 8192);
  // A snapshot of the image rebuilds the same table.
  MetadataImage again;
  for (auto& r : image_records(img)) apply_record(again, r);
  ASSERT_TRUE(again.scram);
  EXPECT_EQ(*again.scram, *img.scram);
}

TEST(ClusterScram, ControllerChecksFollowKafka) {
  ScramCredentialMap table;
  table[{"alice", kScramSha256}] = {{1}, {2}, {3}, 4096};
  ScramAlteration req;
  req.deletions = {{"alice", kScramSha256}, {"nobody", kScramSha256}, {"dave", 9}};
  req.upsertions = {upsert("bob", kScramSha512, 4095), upsert("carol", kScramSha512, 16385),
                    upsert("", kScramSha256, 4096), upsert("erin", kScramSha256, 4096),
                    upsert("erin", kScramSha256, 8192), upsert("frank", kScramSha512, 16384)};
  auto plan = plan_scram_alteration(table, req);
  std::map<std::string, ErrorCode> got;
  for (auto& r : plan.results) got[r.user] = r.error;
  EXPECT_EQ(plan.results.front().user, "alice");  // first-seen order
  EXPECT_EQ(got["alice"], ErrorCode::NONE);
  EXPECT_EQ(got["nobody"], ErrorCode::RESOURCE_NOT_FOUND);
  EXPECT_EQ(got["dave"], ErrorCode::UNSUPPORTED_SASL_MECHANISM);
  EXPECT_EQ(got["bob"], ErrorCode::UNACCEPTABLE_CREDENTIAL);
  EXPECT_EQ(got["carol"], ErrorCode::UNACCEPTABLE_CREDENTIAL);
  EXPECT_EQ(got[""], ErrorCode::UNACCEPTABLE_CREDENTIAL);
  EXPECT_EQ(got["erin"], ErrorCode::DUPLICATE_RESOURCE);
  EXPECT_EQ(got["frank"], ErrorCode::NONE);
  ASSERT_EQ(plan.records.size(), 2u);  // alice's removal, frank's credential
  EXPECT_TRUE(std::holds_alternative<RemoveUserScramCredentialRecord>(plan.records[0]));
  EXPECT_TRUE(std::holds_alternative<UserScramCredentialRecord>(plan.records[1]));
}

TEST(ClusterScram, ControllerWritesAndDeletes) {
  Cluster c;
  ScramAlteration req;
  req.upsertions = {upsert("alice", kScramSha256, 8192)};
  auto res = run(c.io, c.controller->alter_user_scram_credentials(req));
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].error, ErrorCode::NONE);
  ASSERT_TRUE(c.image->scram);
  EXPECT_EQ(c.image->scram->at({"alice", kScramSha256}).iterations, 8192);
  ScramAlteration del;
  del.deletions = {{"alice", kScramSha256}};
  res = run(c.io, c.controller->alter_user_scram_credentials(del));
  EXPECT_EQ(res[0].error, ErrorCode::NONE);
  EXPECT_TRUE(c.image->scram->empty());
  res = run(c.io, c.controller->alter_user_scram_credentials(del));
  EXPECT_EQ(res[0].error, ErrorCode::RESOURCE_NOT_FOUND);
}

TEST(ClusterScram, BootstrapRecordsLeadTheFirstBatchOnly) {
  auto made = app::scram_bootstrap_records({"SCRAM-SHA-512=[name=admin,password=admin-secret]",
                                            "SCRAM-SHA-256=[name=alice,password=\"a,b\",iterations=8192]"});
  // Entries split at commas: a password with one leaves a piece that is not key=value.
  EXPECT_TRUE(std::holds_alternative<std::string>(made));
  made = app::scram_bootstrap_records({"SCRAM-SHA-512=[name=admin,password=admin-secret]",
                                       "SCRAM-SHA-256=[name=alice,password=alice-secret,iterations=8192]"});
  ASSERT_TRUE(std::holds_alternative<std::vector<MetadataRecord>>(made)) << std::get<std::string>(made);
  auto recs = std::get<std::vector<MetadataRecord>>(made);
  ASSERT_EQ(recs.size(), 2u);
  for (auto* bad : {"SCRAM-SHA-1=[name=a,password=b]", "SCRAM-SHA-256=[password=b]", "SCRAM-SHA-256=[name=a]",
                    "SCRAM-SHA-256=[name=a,password=b,iterations=100]", "SCRAM-SHA-256=name=a,password=b"})
    EXPECT_TRUE(std::holds_alternative<std::string>(app::scram_bootstrap_records({bad}))) << bad;
  // The file round trip.
  storage::testing::TempDir dir;
  ASSERT_TRUE(write_bootstrap_records(storage::posix_env(), dir.path(), recs));
  auto read = read_bootstrap_records(storage::posix_env(), dir.path());
  ASSERT_TRUE(read.is_ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ(std::get<UserScramCredentialRecord>((*read)[1]).name, "alice");
  storage::testing::TempDir empty;
  auto none = read_bootstrap_records(storage::posix_env(), empty.path());
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
  // The controller writes them ahead of its first batch, and never again.
  Cluster c([&](ControllerSettings& cs) { cs.bootstrap_records = recs; });
  EXPECT_EQ(c.register_broker(c.registration(1, 1)).error, ErrorCode::NONE);
  ASSERT_TRUE(c.image->scram);
  EXPECT_EQ(c.image->scram->size(), 2u);
  EXPECT_EQ(c.image->scram->at({"alice", kScramSha256}).iterations, 8192);
  ScramAlteration del;
  del.deletions = {{"admin", kScramSha512}};
  auto res = run(c.io, c.controller->alter_user_scram_credentials(del));
  EXPECT_EQ(res[0].error, ErrorCode::NONE);
  EXPECT_EQ(c.image->scram->size(), 1u);
}

TEST(ClusterScram, LoginChecksTheMetadataFirstThenTheJaasUsers) {
  using namespace samsa::net;
  auto dynamic = std::make_shared<DynamicScramStore>();
  auto jaas = std::make_shared<StaticScramStore>();
  jaas->add(ScramHash::kSha256, "bob", scram_credential(ScramHash::kSha256, "bob-jaas", secure_random_bytes(16), 4096));
  jaas->add(ScramHash::kSha256, "alice", scram_credential(ScramHash::kSha256, "alice-jaas", secure_random_bytes(16), 4096));
  auto store = std::make_shared<LayeredScramStore>(dynamic, jaas);
  auto login = [&](const std::string& user, const std::string& password) {
    ScramServer server(ScramHash::kSha256, store);
    net::ScramClient client(ScramHash::kSha256, user, password);
    auto first = server.step(client.first_message());
    if (first.kind != SaslStep::Kind::kContinue) return false;
    std::string err;
    auto fin = client.final_message(first.response, err);
    if (!fin) return false;
    return server.step(*fin).kind == SaslStep::Kind::kDone;
  };
  EXPECT_TRUE(login("alice", "alice-jaas"));
  auto m = std::make_shared<DynamicScramStore::Map>();
  (*m)[{"alice", ScramHash::kSha256}] = scram_credential(ScramHash::kSha256, "alice-meta", secure_random_bytes(16), 8192);
  dynamic->set(m);
  EXPECT_TRUE(login("alice", "alice-meta"));
  EXPECT_FALSE(login("alice", "alice-jaas"));  // the metadata's credential wins
  EXPECT_TRUE(login("bob", "bob-jaas"));
  EXPECT_FALSE(login("carol", "x"));
  dynamic->set(std::make_shared<DynamicScramStore::Map>());
  EXPECT_TRUE(login("alice", "alice-jaas"));
}

}  // namespace
}  // namespace samsa::cluster
