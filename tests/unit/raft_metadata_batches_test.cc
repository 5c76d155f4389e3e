// The metadata log's batches: data batches and the KRaft control batches are
// valid Kafka v2 batches (the broker's validator accepts them), round trip,
// decode with the generated codecs, and malformed input is refused.
#include <gtest/gtest.h>

#include "protocol/record_batch.h"
#include "raft/metadata_batches.h"
#include "raft_test_util.h"

namespace samsa::raft {
namespace {

namespace kraft = protocol::kraft;

std::vector<protocol::Bytes> some_values() { return {bytes("alpha"), bytes(""), bytes(std::string(3000, 'z'))}; }

TEST(RaftMetadataBatches, DataBatchIsAValidKafkaBatchAndRoundTrips) {
  auto values = some_values();
  auto batch = build_data_batch(values, BatchPlacement{Offset(7), Epoch(3), 1'700'000'000'000});
  EXPECT_EQ(protocol::validate_batch(batch, protocol::BatchOrigin::client), ErrorCode::NONE);
  EXPECT_EQ(protocol::validate_records(batch, protocol::kDefaultMaxDecompressed), ErrorCode::NONE);
  auto h = protocol::BatchHeader::parse(batch.data());
  EXPECT_EQ(h.base_offset, 7);
  EXPECT_EQ(h.leader_epoch, 3);
  EXPECT_EQ(h.record_count, 3);
  EXPECT_EQ(h.producer_id, -1);
  EXPECT_FALSE(h.is_control());
  EXPECT_FALSE(h.is_transactional());

  auto got = batch_values(batch);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, values);
  std::vector<int64_t> offsets;
  EXPECT_EQ(for_each_value(batch, [&](Offset o, std::span<const uint8_t>) { offsets.push_back(o.value); }),
            ErrorCode::NONE);
  EXPECT_EQ(offsets, (std::vector<int64_t>{7, 8, 9}));

  auto e = entry_from_batch(batch);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset, Offset(7));
  EXPECT_EQ(e->epoch, Epoch(3));
  EXPECT_EQ(e->records, 3);
  EXPECT_FALSE(e->control);
  EXPECT_EQ(e->data, batch);
  EXPECT_FALSE(control_type_of(batch));
  EXPECT_FALSE(parse_leader_change(batch));
}

// Decodes a control batch by hand, as a Kafka reader would: one control
// record, key = version 0 + type, value = the generated codec at version 0.
template <typename Message>
Message decode_control_by_hand(const protocol::Bytes& batch, int16_t type) {
  EXPECT_EQ(protocol::validate_batch(batch, protocol::BatchOrigin::log), ErrorCode::NONE);
  auto h = protocol::BatchHeader::parse(batch.data());
  EXPECT_TRUE(h.is_control());
  EXPECT_FALSE(h.is_transactional());
  EXPECT_EQ(h.record_count, 1);
  EXPECT_EQ(h.producer_id, -1);
  std::vector<protocol::Record> records;
  EXPECT_EQ(protocol::decode_records(batch, protocol::kDefaultMaxDecompressed, records), ErrorCode::NONE);
  Message m;
  if (records.size() != 1 || !records[0].key || !records[0].value) {
    ADD_FAILURE() << "not one control record with key and value";
    return m;
  }
  EXPECT_EQ(records[0].key->size(), 4u);
  EXPECT_EQ(protocol::load_be16(records[0].key->data()), 0);  // key version
  EXPECT_EQ(protocol::load_be16(records[0].key->data() + 2), type);
  protocol::Reader r(*records[0].value);
  m.decode(r, 0);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return m;
}

TEST(RaftMetadataBatches, LeaderChangeDecodesWithTheGeneratedCodec) {
  LeaderChange lc{NodeId(2), {NodeId(1), NodeId(2), NodeId(3)}, {NodeId(2), NodeId(3)}};
  auto batch = build_leader_change_batch(lc, BatchPlacement{Offset(42), Epoch(5), 1234});
  auto m = decode_control_by_hand<kraft::LeaderChangeMessage>(batch, kraft::control_type::LeaderChangeMessage);
  EXPECT_EQ(m.version, 0);
  EXPECT_EQ(m.leader_id, 2);
  ASSERT_EQ(m.voters.size(), 3u);
  EXPECT_EQ(m.voters[2].voter_id, 3);
  ASSERT_EQ(m.granting_voters.size(), 2u);
  EXPECT_EQ(m.granting_voters[0].voter_id, 2);
  EXPECT_EQ(m.granting_voters[1].voter_id, 3);
  EXPECT_EQ(control_type_of(batch), kraft::control_type::LeaderChangeMessage);
  auto parsed = parse_leader_change(batch);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, m);
  auto e = entry_from_batch(batch);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->control);
  EXPECT_EQ(e->records, 1);
  EXPECT_EQ(e->offset, Offset(42));
  // A control batch is not a data batch.
  EXPECT_EQ(for_each_value(batch, [](Offset, std::span<const uint8_t>) {}), ErrorCode::CORRUPT_MESSAGE);
  EXPECT_FALSE(parse_snapshot_header(batch));
}

TEST(RaftMetadataBatches, SnapshotAndKRaftControlRecordsRoundTrip) {
  auto header = build_snapshot_header_batch(99, BatchPlacement{Offset(0), Epoch(4), 100});
  auto hm = decode_control_by_hand<kraft::SnapshotHeaderRecord>(header, kraft::control_type::SnapshotHeaderRecord);
  EXPECT_EQ(hm.last_contained_log_timestamp, 99);
  EXPECT_EQ(parse_snapshot_header(header)->last_contained_log_timestamp, 99);

  auto footer = build_snapshot_footer_batch(BatchPlacement{Offset(10), Epoch(4), 100});
  decode_control_by_hand<kraft::SnapshotFooterRecord>(footer, kraft::control_type::SnapshotFooterRecord);
  EXPECT_TRUE(parse_snapshot_footer(footer));
  EXPECT_EQ(control_type_of(footer), kraft::control_type::SnapshotFooterRecord);

  auto version = build_kraft_version_batch(1, BatchPlacement{Offset(1), Epoch(4), 100});
  EXPECT_EQ(decode_control_by_hand<kraft::KRaftVersionRecord>(version, kraft::control_type::KRaftVersionRecord)
                .k_raft_version,
            1);
  EXPECT_EQ(parse_kraft_version(version)->k_raft_version, 1);

  kraft::VotersRecord voters;
  kraft::VotersRecord::Voter v;
  v.voter_id = 3;
  v.voter_directory_id[15] = 7;
  v.endpoints.push_back({"CONTROLLER", "localhost", 9093, {}});
  v.k_raft_version_feature.max_supported_version = 1;
  voters.voters.push_back(v);
  auto vb = build_voters_batch(voters, BatchPlacement{Offset(2), Epoch(4), 100});
  EXPECT_EQ(decode_control_by_hand<kraft::VotersRecord>(vb, kraft::control_type::VotersRecord), voters);
  EXPECT_EQ(parse_voters(vb), voters);
}

TEST(RaftMetadataBatches, MalformedBatchesAreRefused) {
  auto batch = build_data_batch(some_values(), BatchPlacement{Offset(0), Epoch(1), 5});
  auto bad_crc = batch;
  bad_crc.back() ^= 0x01;
  EXPECT_FALSE(summarize_batch(bad_crc));
  EXPECT_FALSE(entry_from_batch(bad_crc));
  EXPECT_EQ(for_each_value(bad_crc, [](Offset, std::span<const uint8_t>) {}), ErrorCode::CORRUPT_MESSAGE);
  EXPECT_FALSE(batch_values(bad_crc));
  auto short_batch = protocol::Bytes(batch.begin(), batch.begin() + 30);
  EXPECT_FALSE(summarize_batch(short_batch));
  EXPECT_FALSE(control_type_of(short_batch));
  EXPECT_FALSE(summarize_batch({}));
  // A base offset or epoch patch keeps the CRC valid (both lie outside it).
  auto patched = batch;
  protocol::set_base_offset(patched, 1000);
  protocol::set_leader_epoch(patched, 9);
  auto s = summarize_batch(patched);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->base_offset, Offset(1000));
  EXPECT_EQ(s->epoch, Epoch(9));
}

TEST(RaftMetadataBatches, TheCoreWritesALeaderChangeBatchFirst) {
  Cluster c(3);
  int leader = c.elect_leader();
  ASSERT_NE(leader, -1);
  for (auto& node : c.nodes) {
    ASSERT_FALSE(node->log.entries().empty());
    const LogEntry& first = node->log.entries().front();
    ASSERT_TRUE(first.control);
    auto lc = parse_leader_change(first.data);
    ASSERT_TRUE(lc) << "node " << node->core->local_id();
    EXPECT_EQ(lc->leader_id, leader);
    EXPECT_EQ(lc->voters.size(), 3u);
    EXPECT_GE(lc->granting_voters.size(), 2u);  // a majority elected it, itself included
    bool self = false;
    for (auto& g : lc->granting_voters) self |= g.voter_id == leader;
    EXPECT_TRUE(self);
    auto h = protocol::BatchHeader::parse(first.data.data());
    EXPECT_EQ(h.base_offset, first.offset.value);
    EXPECT_EQ(h.leader_epoch, first.epoch.value);
  }
}

}  // namespace
}  // namespace samsa::raft
