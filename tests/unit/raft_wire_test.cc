// The quorum RPCs on Kafka's wire (raft/raft_wire.h): every message at every
// version round trips, Vote and BeginQuorumEpoch match bytes assembled by hand
// from the protocol guide, malformed input is refused without a crash, and a
// Fetch response's records split back into its entries.
#include <gtest/gtest.h>

#include <tuple>

#include "protocol/api_registry.h"
#include "protocol/messages/begin_quorum_epoch.h"
#include "protocol/messages/end_quorum_epoch.h"
#include "protocol/messages/fetch.h"
#include "protocol/messages/fetch_snapshot.h"
#include "protocol/messages/vote.h"
#include "protocol/record_batch.h"
#include "raft/raft_wire.h"

namespace samsa::raft {
namespace {

using protocol::Bytes;

// Field-by-field views of the messages (they have no operator==).
auto fields(const VoteRequest& m) {
  return std::tuple(m.replica_epoch, m.replica_id, m.last_offset_epoch, m.last_offset, m.pre_vote);
}
auto fields(const VoteResponse& m) { return std::tuple(m.error, m.leader_id, m.leader_epoch, m.vote_granted, m.pre_vote); }
auto fields(const BeginQuorumEpochRequest& m) { return std::tuple(m.leader_id, m.leader_epoch); }
auto fields(const EndQuorumEpochRequest& m) { return std::tuple(m.leader_id, m.leader_epoch, m.preferred_successors); }
auto fields(const QuorumEpochResponse& m) { return std::tuple(m.error, m.leader_id, m.leader_epoch); }
auto fields(const FetchRequest& m) {
  return std::tuple(m.replica_id, m.current_leader_epoch, m.fetch_offset, m.last_fetched_epoch, m.max_wait_ms);
}
auto fields(const FetchResponse& m) {
  return std::tuple(m.error, m.leader_id, m.leader_epoch, m.high_watermark, m.diverging_epoch, m.snapshot_id, m.records);
}
auto fields(const FetchSnapshotRequest& m) {
  return std::tuple(m.replica_id, m.current_leader_epoch, m.snapshot_id, m.position, m.max_bytes);
}
auto fields(const FetchSnapshotResponse& m) {
  return std::tuple(m.error, m.leader_id, m.leader_epoch, m.snapshot_id, m.size, m.position, m.bytes);
}

Bytes hex(std::string_view s) {
  Bytes out;
  int hi = -1;
  for (char c : s) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

// "__cluster_metadata" (18 bytes) in hex.
constexpr std::string_view kTopicHex = "5f5f636c75737465725f6d65746164617461";

const WireContext kCtx{"c1", kMetadataTopicId};

// One v2 batch for the metadata log at `offset`/`epoch` with `n` records.
Bytes make_batch(int64_t offset, int32_t epoch, int n, bool control = false) {
  protocol::BatchBuilder b(offset);
  b.set_leader_epoch(epoch).set_control(control);
  for (int i = 0; i < n; ++i) {
    Bytes v = {static_cast<uint8_t>('a' + i), 1, 2};
    b.add(1000 + i, std::nullopt, std::span<const uint8_t>(v));
  }
  return b.build();
}

LogEntry entry(int64_t offset, int32_t epoch, int n, bool control = false) {
  LogEntry e;
  e.offset = Offset{offset};
  e.epoch = Epoch{epoch};
  e.records = n;
  e.control = control;
  e.data = make_batch(offset, epoch, n, control);
  return e;
}

template <typename T>
void expect_request_round_trip(const T& m, int16_t lo, int16_t hi) {
  for (int16_t v = lo; v <= hi; ++v) {
    auto w = encode_raft_request(kCtx, MessageBody{m}, v, NodeId{3});
    ASSERT_EQ(w.api_version, v);
    ASSERT_GE(w.api_key, 0) << "version " << v;
    std::string err;
    auto d = decode_raft_request(w.api_key, v, w.body, &err);
    ASSERT_TRUE(d.has_value()) << "version " << v << ": " << err;
    ASSERT_TRUE(std::holds_alternative<T>(*d));
    EXPECT_EQ(fields(std::get<T>(*d)), fields(m)) << "version " << v;
    EXPECT_EQ(request_sender(*d), request_sender(MessageBody{m}));
    auto checked = decode_raft_request(kCtx, w.api_key, v, w.body);
    EXPECT_TRUE(checked.body.has_value()) << checked.error;
    EXPECT_EQ(checked.refusal, ErrorCode::NONE);
    // Every strict prefix is refused cleanly.
    for (size_t cut = 0; cut < w.body.size(); ++cut)
      EXPECT_FALSE(decode_raft_request(w.api_key, v, std::span(w.body).first(cut)).has_value()) << cut;
  }
}

template <typename Req, typename Resp>
void expect_response_round_trip(const Req& req, const Resp& m, int16_t lo, int16_t hi) {
  int16_t key = raft_api_key(MessageBody{req});
  for (int16_t v = lo; v <= hi; ++v) {
    auto bytes = encode_raft_response(kCtx, key, v, MessageBody{m});
    ASSERT_FALSE(bytes.empty()) << "version " << v;
    std::string err;
    auto d = decode_raft_response_to(MessageBody{req}, v, bytes, &err);
    ASSERT_TRUE(d.has_value()) << "version " << v << ": " << err;
    ASSERT_TRUE(std::holds_alternative<Resp>(*d));
    EXPECT_EQ(fields(std::get<Resp>(*d)), fields(m)) << "version " << v;
    for (size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 64)
      EXPECT_FALSE(decode_raft_response(key, v, std::span(bytes).first(cut)).has_value()) << cut;
  }
}

TEST(RaftWire, VoteRoundTripsAtEveryVersion) {
  VoteRequest req{Epoch{7}, NodeId{2}, Epoch{6}, Offset{1234}, false};
  expect_request_round_trip(req, 0, kVoteVersion);
  req.pre_vote = true;
  expect_request_round_trip(req, 2, kVoteVersion);
  // A pre-vote cannot be written below v2 (it would read as a real vote).
  EXPECT_EQ(encode_raft_request(kCtx, MessageBody{req}, 1).api_key, -1);
  VoteResponse resp{ErrorCode::NONE, NodeId{4}, Epoch{7}, true, true};
  expect_response_round_trip(req, resp, 0, kVoteVersion);
  resp = VoteResponse{ErrorCode::FENCED_LEADER_EPOCH, std::nullopt, Epoch{9}, false, false};
  req.pre_vote = false;
  expect_response_round_trip(req, resp, 0, kVoteVersion);
}

TEST(RaftWire, QuorumEpochMessagesRoundTripAtEveryVersion) {
  BeginQuorumEpochRequest begin{NodeId{1}, Epoch{3}};
  expect_request_round_trip(begin, 0, kBeginQuorumEpochVersion);
  EndQuorumEpochRequest end{NodeId{1}, Epoch{3}, {NodeId{2}, NodeId{3}}};
  expect_request_round_trip(end, 0, kEndQuorumEpochVersion);
  QuorumEpochResponse resp{ErrorCode::NONE, NodeId{1}, Epoch{3}};
  expect_response_round_trip(begin, resp, 0, kBeginQuorumEpochVersion);
  expect_response_round_trip(end, resp, 0, kEndQuorumEpochVersion);
  resp = QuorumEpochResponse{ErrorCode::INCONSISTENT_VOTER_SET, std::nullopt, Epoch{4}};
  expect_response_round_trip(begin, resp, 0, kBeginQuorumEpochVersion);
  expect_response_round_trip(end, resp, 0, kEndQuorumEpochVersion);
}

TEST(RaftWire, FetchRoundTripsAtEveryQuorumVersion) {
  FetchRequest req{NodeId{3}, Epoch{5}, Offset{42}, Epoch{4}, 500};
  expect_request_round_trip(req, kMinRaftFetchVersion, kFetchVersion);
  EXPECT_EQ(encode_raft_request(kCtx, MessageBody{req}, 11).api_key, -1);
  FetchResponse resp;
  resp.leader_id = NodeId{1};
  resp.leader_epoch = Epoch{5};
  resp.high_watermark = Offset{40};
  resp.records = {entry(42, 5, 1, true), entry(43, 5, 3), entry(46, 5, 2)};
  expect_response_round_trip(req, resp, kMinRaftFetchVersion, kFetchVersion);
  FetchResponse diverging;
  diverging.error = ErrorCode::NONE;
  diverging.leader_id = NodeId{1};
  diverging.leader_epoch = Epoch{5};
  diverging.high_watermark = Offset{40};
  diverging.diverging_epoch = EpochEndOffset{Epoch{3}, Offset{30}};
  expect_response_round_trip(req, diverging, kMinRaftFetchVersion, kFetchVersion);
  FetchResponse snapshot;
  snapshot.leader_epoch = Epoch{5};
  snapshot.snapshot_id = SnapshotId{Offset{100}, Epoch{4}};
  snapshot.error = ErrorCode::FENCED_LEADER_EPOCH;
  expect_response_round_trip(req, snapshot, kMinRaftFetchVersion, kFetchVersion);
}

TEST(RaftWire, FetchSnapshotRoundTripsAtEveryVersion) {
  FetchSnapshotRequest req{NodeId{2}, Epoch{5}, SnapshotId{Offset{100}, Epoch{4}}, 4096, 1 << 20};
  expect_request_round_trip(req, 0, kFetchSnapshotVersion);
  FetchSnapshotResponse resp{ErrorCode::NONE, NodeId{1}, Epoch{5}, SnapshotId{Offset{100}, Epoch{4}},
                             9000, 4096, Bytes{1, 2, 3, 4, 5}};
  expect_response_round_trip(req, resp, 0, kFetchSnapshotVersion);
  resp = FetchSnapshotResponse{ErrorCode::SNAPSHOT_NOT_FOUND, std::nullopt, Epoch{5}, {}, 0, 0, {}};
  expect_response_round_trip(req, resp, 0, kFetchSnapshotVersion);
}

// Vote v0 (flexible from v0): cluster id, then one topic with one partition.
TEST(RaftWire, VoteMatchesTheProtocolGuideBytes) {
  VoteRequest req{Epoch{5}, NodeId{1}, Epoch{4}, Offset{100}, false};
  auto w = encode_raft_request(kCtx, MessageBody{req}, 0);
  Bytes want = hex(std::string("03 6331"          // cluster_id: compact nullable string "c1"
                               "02 13") +         // topics: 1; topic_name: 18 bytes
                   std::string(kTopicHex) +
                   "02"                           // partitions: 1
                   "00000000"                     // partition_index 0
                   "00000005"                     // candidate_epoch 5
                   "00000001"                     // candidate_id 1
                   "00000004"                     // last_offset_epoch 4
                   "0000000000000064"             // last_offset 100
                   "00 00 00");                   // tagged fields: partition, topic, request
  EXPECT_EQ(w.api_key, 52);
  EXPECT_EQ(w.body, want);
  // v2: voter id, directory ids (zero: a static quorum) and the pre-vote flag.
  req.pre_vote = true;
  w = encode_raft_request(kCtx, MessageBody{req}, 2, NodeId{3});
  want = hex(std::string("03 6331 00000003 02 13") + std::string(kTopicHex) +
             "02 00000000 00000005 00000001"
             "00000000000000000000000000000000"   // replica_directory_id
             "00000000000000000000000000000000"   // voter_directory_id
             "00000004 0000000000000064"
             "01"                                 // pre_vote
             "00 00 00");
  EXPECT_EQ(w.body, want);
  // The answer, v0: granted by a voter that knows no leader (-1) at epoch 5.
  Bytes resp = hex(std::string("0000 02 13") + std::string(kTopicHex) +
                   "02 00000000 0000 ffffffff 00000005 01 00 00 00");
  auto d = decode_raft_response_to(MessageBody{VoteRequest{}}, 0, resp);
  ASSERT_TRUE(d.has_value());
  auto& vote = std::get<VoteResponse>(*d);
  EXPECT_TRUE(vote.vote_granted);
  EXPECT_EQ(vote.leader_id, std::nullopt);
  EXPECT_EQ(vote.leader_epoch, Epoch{5});
  EXPECT_EQ(encode_raft_response(kCtx, 52, 0, *d), resp);
}

// BeginQuorumEpoch v0 is not flexible (int16 / int32 lengths); v1 is.
TEST(RaftWire, BeginQuorumEpochMatchesTheProtocolGuideBytes) {
  BeginQuorumEpochRequest req{NodeId{2}, Epoch{7}};
  auto w = encode_raft_request(kCtx, MessageBody{req}, 0);
  Bytes want = hex(std::string("0002 6331"        // cluster_id: nullable string "c1"
                               "00000001 0012") + // topics: 1; topic_name: 18 bytes
                   std::string(kTopicHex) +
                   "00000001"                     // partitions: 1
                   "00000000 00000002 00000007"); // partition 0, leader 2, epoch 7
  EXPECT_EQ(w.api_key, 53);
  EXPECT_EQ(w.body, want);
  w = encode_raft_request(kCtx, MessageBody{req}, 1, NodeId{3});
  want = hex(std::string("03 6331 00000003 02 13") + std::string(kTopicHex) +
             "02 00000000 00000000000000000000000000000000 00000002 00000007 00 00"
             "01"                                 // leader_endpoints: none
             "00");
  EXPECT_EQ(w.body, want);
  Bytes resp = hex(std::string("0000 00000001 0012") + std::string(kTopicHex) + "00000001 00000000 0000 00000002 00000007");
  auto d = decode_raft_response(53, 0, resp);
  ASSERT_TRUE(d.has_value());
  auto& r = std::get<QuorumEpochResponse>(*d);
  EXPECT_EQ(r.leader_id, NodeId{2});
  EXPECT_EQ(r.leader_epoch, Epoch{7});
  EXPECT_EQ(encode_raft_response(kCtx, 53, 0, *d), resp);
}

TEST(RaftWire, RequestsForAnotherClusterOrPartitionAreRefused) {
  auto w = encode_raft_request(WireContext{"other", kMetadataTopicId}, MessageBody{VoteRequest{}}, 2);
  auto d = decode_raft_request(kCtx, w.api_key, w.api_version, w.body);
  EXPECT_FALSE(d.body.has_value());
  EXPECT_EQ(d.refusal, ErrorCode::INCONSISTENT_CLUSTER_ID);
  // No cluster id at all is accepted, as Kafka does.
  w = encode_raft_request(WireContext{}, MessageBody{VoteRequest{}}, 2);
  EXPECT_TRUE(decode_raft_request(kCtx, w.api_key, w.api_version, w.body).body.has_value());
  // Another partition of the topic.
  protocol::BeginQuorumEpochRequest begin;
  auto& t = begin.topics.emplace_back();
  t.topic_name = kMetadataTopic;
  t.partitions.emplace_back().partition_index = 1;
  protocol::Writer bw;
  begin.encode(bw, 1);
  d = decode_raft_request(kCtx, 53, 1, bw.buffer());
  EXPECT_FALSE(d.body.has_value());
  EXPECT_EQ(d.refusal, ErrorCode::INVALID_REQUEST);
  // A Fetch v13+ names the topic by id: another id is another topic.
  auto f = encode_raft_request(WireContext{"c1", protocol::Uuid{9}}, MessageBody{FetchRequest{}}, 17);
  EXPECT_EQ(decode_raft_request(kCtx, 1, 17, f.body).refusal, ErrorCode::INVALID_REQUEST);
  // The answer to a refusal: a top-level error, read back as the message's error.
  auto bytes = encode_raft_error_response(52, 2, ErrorCode::INCONSISTENT_CLUSTER_ID);
  auto r = decode_raft_response(52, 2, bytes);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<VoteResponse>(*r).error, ErrorCode::INCONSISTENT_CLUSTER_ID);
  bytes = encode_raft_error_response(1, 17, ErrorCode::INVALID_REQUEST);
  r = decode_raft_response(1, 17, bytes);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<FetchResponse>(*r).error, ErrorCode::INVALID_REQUEST);
}

TEST(RaftWire, MalformedInputIsRefusedWithoutACrash) {
  std::string err;
  EXPECT_FALSE(decode_raft_request(3, 0, Bytes{1, 2, 3}, &err).has_value());  // not a quorum API
  EXPECT_FALSE(decode_raft_request(52, 9, Bytes{}, &err).has_value());        // unknown version
  EXPECT_FALSE(decode_raft_request(1, 11, Bytes{}, &err).has_value());        // Fetch below v12
  // A huge array count in a tiny body.
  EXPECT_FALSE(decode_raft_request(52, 0, hex("00 ffffffff0f"), &err).has_value());
  EXPECT_FALSE(decode_raft_request(53, 0, hex("ffff 7fffffff"), &err).has_value());
  // Trailing bytes after a valid body.
  auto w = encode_raft_request(kCtx, MessageBody{VoteRequest{}}, 2);
  w.body.push_back(0);
  EXPECT_FALSE(decode_raft_request(52, 2, w.body, &err).has_value());
  // Two partitions where one is expected.
  protocol::VoteRequest two;
  auto& t = two.topics.emplace_back();
  t.topic_name = kMetadataTopic;
  t.partitions.resize(2);
  protocol::Writer tw;
  two.encode(tw, 2);
  EXPECT_FALSE(decode_raft_request(52, 2, tw.buffer(), &err).has_value());
  // Every byte flipped in a Fetch response: refused or decoded, never a crash.
  FetchResponse resp;
  resp.leader_id = NodeId{1};
  resp.records = {entry(0, 1, 1, true), entry(1, 1, 2)};
  auto bytes = encode_raft_response(kCtx, 1, 17, MessageBody{resp});
  for (size_t i = 0; i < bytes.size(); ++i) {
    Bytes bad = bytes;
    bad[i] ^= 0xff;
    (void)decode_raft_response(1, 17, bad, &err);
  }
}

TEST(RaftWire, FetchRecordsSplitIntoTheirBatches) {
  auto control = entry(10, 3, 1, true);
  auto data = entry(11, 3, 4);
  auto next = entry(15, 4, 2);
  Bytes records;
  for (auto* e : {&control, &data, &next}) records.insert(records.end(), e->data.begin(), e->data.end());
  std::string err;
  auto split = split_entries(records, &err);
  ASSERT_TRUE(split.has_value()) << err;
  ASSERT_EQ(split->size(), 3u);
  EXPECT_EQ((*split)[0], control);
  EXPECT_TRUE((*split)[0].control);
  EXPECT_EQ((*split)[1], data);
  EXPECT_EQ((*split)[1].records, 4);
  EXPECT_EQ((*split)[2], next);
  EXPECT_EQ((*split)[2].end(), Offset{17});
  EXPECT_TRUE(split_entries({}, &err).has_value());
  // Truncated anywhere: refused.
  for (size_t cut = 1; cut < records.size(); ++cut) {
    if (cut == control.data.size() || cut == control.data.size() + data.data.size()) continue;  // whole batches
    EXPECT_FALSE(split_entries(std::span(records).first(cut), &err).has_value()) << cut;
  }
  // A corrupted record (CRC), a gap between batches, an epoch going back.
  Bytes corrupt = records;
  corrupt[70] ^= 1;
  EXPECT_FALSE(split_entries(corrupt, &err).has_value());
  Bytes gap = control.data;
  auto later = entry(12, 3, 1);
  gap.insert(gap.end(), later.data.begin(), later.data.end());
  EXPECT_FALSE(split_entries(gap, &err).has_value());
  Bytes back = next.data;
  auto older = entry(17, 3, 1);
  back.insert(back.end(), older.data.begin(), older.data.end());
  EXPECT_FALSE(split_entries(back, &err).has_value());
  // A batch length far beyond the bytes there are.
  Bytes huge = control.data;
  huge[8] = 0x7f;
  EXPECT_FALSE(split_entries(huge, &err).has_value());
}

TEST(RaftWire, DescribeQuorumRoundTripsAtEveryVersion) {
  QuorumDescription d;
  d.leader_id = NodeId{1};
  d.leader_epoch = Epoch{4};
  d.high_watermark = Offset{120};
  d.voters = {{NodeId{1}, protocol::Uuid{1}, Offset{120}, 1700000000000, 1700000000000},
              {NodeId{2}, protocol::Uuid{2}, Offset{118}, 1699999999000, 1699999998000}};
  d.observers = {{NodeId{4}, protocol::Uuid{}, Offset{100}, 1699999990000, -1}};
  d.nodes = {{NodeId{1}, {{"CONTROLLER", "localhost", 9093}}}, {NodeId{2}, {{"CONTROLLER", "h2", 9093}}}};
  for (int16_t v = 0; v <= kDescribeQuorumVersion; ++v) {
    auto bytes = encode_describe_quorum_response(d, v);
    std::string err;
    auto back = decode_describe_quorum_response(v, bytes, &err);
    ASSERT_TRUE(back.has_value()) << err;
    QuorumDescription want = d;
    if (v < 2) {  // no directory ids, nodes or messages before v2
      for (auto* list : {&want.voters, &want.observers})
        for (auto& r : *list) r.directory_id = {};
      want.nodes.clear();
    }
    if (v < 1) {
      for (auto* list : {&want.voters, &want.observers})
        for (auto& r : *list) r.last_fetch_timestamp = r.last_caught_up_timestamp = -1;
    }
    EXPECT_EQ(*back, want) << "version " << v;
    auto req = encode_describe_quorum_request(v);
    EXPECT_TRUE(decode_describe_quorum_request(v, req, &err)) << err;
    for (size_t cut = 0; cut < bytes.size(); ++cut)
      EXPECT_FALSE(decode_describe_quorum_response(v, std::span(bytes).first(cut)).has_value());
  }
  QuorumDescription not_leader;
  not_leader.error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  auto back = decode_describe_quorum_response(2, encode_describe_quorum_response(not_leader, 2));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
}

}  // namespace
}  // namespace samsa::raft
