// Golden vectors: request frames exactly as real clients put them on the wire, decoded
// with the generated codecs and checked field by field, then re-encoded byte for byte.
//
// The librdkafka frames were captured from kcat 1.7 / librdkafka 2.0.2 talking to a
// throwaway loopback listener that advertised ApiVersions 0-3, Produce 0-7, Fetch 0-11 and
// Metadata 0-4 (so the client picked Metadata v4 and Produce v7 with record batch v2):
//   kcat -b 127.0.0.1:19999 -L -t golden
//   kcat -b 127.0.0.1:19999 -L
//   printf 'hello\n' | kcat -P -b 127.0.0.1:19999 -t golden -p 0 -z none -k key1
//   kcat -C -b 127.0.0.1:19999 -t golden -p 0 -o 5 -X fetch.wait.max.ms=500
// The kafka-python 2.0.2 frame came from KafkaProducer(api_version=(1, 0, 0)) at startup.
// The FetchResponse v12 vector is hand-assembled from the protocol guide (tagged fields).
#include <gtest/gtest.h>

#include <string_view>

#include "base/crc32c.h"
#include "protocol/batch_header.h"
#include "protocol/messages/api_versions.h"
#include "protocol/messages/describe_topic_partitions.h"
#include "protocol/messages/list_offsets.h"
#include "protocol/messages/fetch.h"
#include "protocol/messages/metadata.h"
#include "protocol/messages/produce.h"
#include "protocol/wire.h"

namespace samsa::protocol {
namespace {

// Hex digits to bytes; spaces are ignored so vectors can be grouped by field.
Bytes from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  Bytes out;
  int hi = -1;
  for (char c : hex) {
    int n = nibble(c);
    if (n < 0) continue;
    if (hi < 0) {
      hi = n;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | n));
      hi = -1;
    }
  }
  return out;
}

// A request frame split into its header and body. Only what the tests need: the
// header is parsed here with wire primitives, the body is left to the generated types.
struct Frame {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  std::span<const uint8_t> body;
};

Frame split_frame(const Bytes& frame, bool flexible_header) {
  Reader r(frame.data(), frame.size());
  Frame f;
  int32_t size = r.i32();
  EXPECT_EQ(static_cast<size_t>(size), frame.size() - 4) << "size prefix";
  f.api_key = r.i16();
  f.api_version = r.i16();
  f.correlation_id = r.i32();
  f.client_id = r.nstring(false);  // client_id stays a classic string even in header v2
  if (flexible_header) {
    EXPECT_EQ(r.uvarint(), 0u) << "no tagged header fields";
  }
  EXPECT_TRUE(r.ok());
  f.body = std::span<const uint8_t>(r.pos(), r.remaining());
  return f;
}

template <typename T>
T decode_body(std::span<const uint8_t> body, int16_t version) {
  Reader r(body);
  T msg{};
  msg.decode(r, version);
  EXPECT_TRUE(r.ok()) << "decode failed";
  EXPECT_EQ(r.remaining(), 0u) << "trailing bytes";
  return msg;
}

template <typename T>
void expect_reencodes_to(const T& msg, int16_t version, std::span<const uint8_t> body) {
  Writer w;
  msg.encode(w, version);
  EXPECT_EQ(w.buffer(), Bytes(body.begin(), body.end())) << "re-encoding differs";
}

// Every strict prefix of a body must fail to decode (and never crash).
template <typename T>
void expect_prefixes_fail(std::span<const uint8_t> body, int16_t version) {
  for (size_t cut = 0; cut < body.size(); ++cut) {
    Reader r(body.data(), cut);
    T msg{};
    msg.decode(r, version);
    EXPECT_FALSE(r.ok()) << "a prefix of " << cut << " bytes decoded";
  }
}

TEST(GoldenRequests, ApiVersionsV3FromLibrdkafka) {
  const Bytes frame = from_hex(
      "00000024"                        // size
      "0012 0003 00000001"              // api_key 18, version 3, correlation id 1
      "0007 72646b61666b61"             // client_id "rdkafka"
      "00"                              // header tagged fields (header v2)
      "0b 6c696272646b61666b61"         // client_software_name "librdkafka" (compact)
      "06 322e302e32"                   // client_software_version "2.0.2" (compact)
      "00");                            // body tagged fields
  Frame f = split_frame(frame, /*flexible_header=*/true);
  EXPECT_EQ(f.api_key, ApiVersionsRequest::api_key);
  EXPECT_EQ(f.api_version, 3);
  EXPECT_EQ(f.correlation_id, 1);
  EXPECT_EQ(f.client_id, "rdkafka");
  ASSERT_TRUE(ApiVersionsRequest::is_flexible(3));

  auto req = decode_body<ApiVersionsRequest>(f.body, 3);
  EXPECT_EQ(req.client_software_name, "librdkafka");
  EXPECT_EQ(req.client_software_version, "2.0.2");
  EXPECT_TRUE(req.unknown_tagged_fields.empty());
  expect_reencodes_to(req, 3, f.body);
  expect_prefixes_fail<ApiVersionsRequest>(f.body, 3);
}

TEST(GoldenRequests, MetadataV4OneTopicFromLibrdkafka) {
  const Bytes frame = from_hex(
      "0000001e"
      "0003 0004 00000002"              // api_key 3, version 4, correlation id 2
      "0007 72646b61666b61"             // client_id "rdkafka"
      "00000001 0006 676f6c64656e"      // topics: ["golden"]
      "01");                            // allow_auto_topic_creation true
  Frame f = split_frame(frame, false);
  EXPECT_EQ(f.api_key, MetadataRequest::api_key);
  EXPECT_EQ(f.api_version, 4);
  EXPECT_EQ(f.correlation_id, 2);
  ASSERT_FALSE(MetadataRequest::is_flexible(4));

  auto req = decode_body<MetadataRequest>(f.body, 4);
  ASSERT_TRUE(req.topics.has_value());
  ASSERT_EQ(req.topics->size(), 1u);
  EXPECT_EQ((*req.topics)[0].name, "golden");
  EXPECT_TRUE(req.allow_auto_topic_creation);
  EXPECT_FALSE(req.include_topic_authorized_operations);  // absent before v8
  expect_reencodes_to(req, 4, f.body);
  expect_prefixes_fail<MetadataRequest>(f.body, 4);
}

TEST(GoldenRequests, MetadataV4AllTopicsIsNull) {
  const Bytes frame = from_hex(
      "00000016"
      "0003 0004 00000003"
      "0007 72646b61666b61"
      "ffffffff"                        // topics: null = every topic
      "01");
  Frame f = split_frame(frame, false);
  auto req = decode_body<MetadataRequest>(f.body, 4);
  EXPECT_FALSE(req.topics.has_value());
  EXPECT_TRUE(req.allow_auto_topic_creation);
  expect_reencodes_to(req, 4, f.body);

  // v0 has no null array: "all topics" is an empty list there, and nullopt encodes as such.
  Writer w;
  req.encode(w, 0);
  EXPECT_EQ(w.buffer(), from_hex("00000000"));
}

TEST(GoldenRequests, ProduceV7WithRecordBatchFromLibrdkafka) {
  const Bytes frame = from_hex(
      "0000007e"
      "0000 0007 00000003"              // api_key 0, version 7, correlation id 3
      "0007 72646b61666b61"             // client_id "rdkafka"
      "ffff"                            // transactional_id null
      "ffff"                            // acks -1
      "00007530"                        // timeout_ms 30000
      "00000001 0006 676f6c64656e"      // topic_data: ["golden"
      "00000001 00000000"               //   partition_data: [index 0
      "0000004d"                        //     records: 77 bytes
      // record batch v2
      "0000000000000000"                // base offset 0
      "00000041"                        // batch length 65
      "00000000"                        // partition leader epoch 0
      "02"                              // magic 2
      "9e0a0af2"                        // crc32c of attributes..end
      "0000"                            // attributes: no compression, CreateTime
      "00000000"                        // last offset delta 0
      "000001a1fe19b935 000001a1fe19b935"  // base / max timestamp
      "ffffffffffffffff ffff ffffffff"  // producer id / epoch / base sequence: none
      "00000001"                        // record count 1
      "1e 00 00 00 08 6b657931 0a 68656c6c6f 00");  // len 15, key "key1", value "hello"
  Frame f = split_frame(frame, false);
  EXPECT_EQ(f.api_key, ProduceRequest::api_key);
  EXPECT_EQ(f.api_version, 7);
  ASSERT_FALSE(ProduceRequest::is_flexible(7));

  auto req = decode_body<ProduceRequest>(f.body, 7);
  EXPECT_FALSE(req.transactional_id.has_value());
  EXPECT_EQ(req.acks, -1);
  EXPECT_EQ(req.timeout_ms, 30000);
  ASSERT_EQ(req.topic_data.size(), 1u);
  EXPECT_EQ(req.topic_data[0].name, "golden");
  ASSERT_EQ(req.topic_data[0].partition_data.size(), 1u);
  const auto& part = req.topic_data[0].partition_data[0];
  EXPECT_EQ(part.index, 0);
  ASSERT_FALSE(part.records.is_null);
  auto batch = part.records.memory();
  ASSERT_EQ(batch.size(), 77u);
  // The records field is a view into the frame, not a copy.
  EXPECT_GE(batch.data(), f.body.data());
  EXPECT_LE(batch.data() + batch.size(), f.body.data() + f.body.size());
  EXPECT_EQ(load_be64(batch.data() + batch::kBaseOffset), 0);
  EXPECT_EQ(load_be32(batch.data() + batch::kLength), 65);
  EXPECT_EQ(static_cast<size_t>(load_be32(batch.data() + batch::kLength)) + batch::kLogOverhead, batch.size());
  EXPECT_EQ(batch[batch::kMagic], 2);
  EXPECT_EQ(load_be16(batch.data() + batch::kAttributes), 0);
  EXPECT_EQ(load_be64(batch.data() + batch::kProducerId), -1);
  EXPECT_EQ(load_be32(batch.data() + batch::kRecordCount), 1);
  const uint32_t stored_crc = static_cast<uint32_t>(load_be32(batch.data() + batch::kCrc));
  EXPECT_EQ(crc32c(batch.data() + batch::kAttributes, batch.size() - batch::kAttributes), stored_crc);

  expect_reencodes_to(req, 7, f.body);
  expect_prefixes_fail<ProduceRequest>(f.body, 7);
}

TEST(GoldenRequests, MetadataV1FromKafkaPython) {
  const Bytes frame = from_hex(
      "0000002d"
      "0003 0001 00000001"
      "0017 6b61666b612d707974686f6e2d70726f64756365722d31"  // "kafka-python-producer-1"
      "00000001 0006 676f6c64656e");    // topics: ["golden"]
  Frame f = split_frame(frame, false);
  EXPECT_EQ(f.api_version, 1);
  EXPECT_EQ(f.client_id, "kafka-python-producer-1");
  auto req = decode_body<MetadataRequest>(f.body, 1);
  ASSERT_TRUE(req.topics.has_value());
  ASSERT_EQ(req.topics->size(), 1u);
  EXPECT_EQ((*req.topics)[0].name, "golden");
  EXPECT_TRUE(req.allow_auto_topic_creation);  // absent before v4: the default applies
  expect_reencodes_to(req, 1, f.body);
}

TEST(GoldenRequests, FetchV11FromLibrdkafka) {
  const Bytes frame = from_hex(
      "0000005c"
      "0001 000b 00000004"              // api_key 1, version 11, correlation id 4
      "0007 72646b61666b61"             // client_id "rdkafka"
      "ffffffff"                        // replica_id -1 (consumer)
      "000001f4"                        // max_wait_ms 500
      "00000001"                        // min_bytes 1
      "03200000"                        // max_bytes 52428800
      "01"                              // isolation_level read_committed
      "00000000"                        // session_id 0
      "ffffffff"                        // session_epoch -1 (no session)
      "00000001 0006 676f6c64656e"      // topics: ["golden"
      "00000001 00000000"               //   partitions: [partition 0
      "ffffffff"                        //     current_leader_epoch -1
      "0000000000000005"                //     fetch_offset 5
      "ffffffffffffffff"                //     log_start_offset -1
      "00100000"                        //     partition_max_bytes 1048576
      "00000000"                        // forgotten_topics_data: []
      "0000");                          // rack_id ""
  Frame f = split_frame(frame, false);
  EXPECT_EQ(f.api_key, FetchRequest::api_key);
  EXPECT_EQ(f.api_version, 11);
  ASSERT_FALSE(FetchRequest::is_flexible(11));

  auto req = decode_body<FetchRequest>(f.body, 11);
  EXPECT_FALSE(req.cluster_id.has_value());
  EXPECT_EQ(req.replica_id, -1);
  EXPECT_EQ(req.max_wait_ms, 500);
  EXPECT_EQ(req.min_bytes, 1);
  EXPECT_EQ(req.max_bytes, 52428800);
  EXPECT_EQ(req.isolation_level, 1);
  EXPECT_EQ(req.session_id, 0);
  EXPECT_EQ(req.session_epoch, -1);
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].topic, "golden");
  ASSERT_EQ(req.topics[0].partitions.size(), 1u);
  const auto& p = req.topics[0].partitions[0];
  EXPECT_EQ(p.partition, 0);
  EXPECT_EQ(p.current_leader_epoch, -1);
  EXPECT_EQ(p.fetch_offset, 5);
  EXPECT_EQ(p.last_fetched_epoch, -1);  // v12+ only: default
  EXPECT_EQ(p.log_start_offset, -1);
  EXPECT_EQ(p.partition_max_bytes, 1048576);
  EXPECT_TRUE(req.forgotten_topics_data.empty());
  EXPECT_EQ(req.rack_id, "");
  expect_reencodes_to(req, 11, f.body);
  expect_prefixes_fail<FetchRequest>(f.body, 11);
}

// Hand-assembled: a flexible FetchResponse v12 carrying tagged fields, one known struct
// (diverging_epoch, tag 0) and one unknown tag (7) inside a partition.
TEST(GoldenRequests, FetchResponseV12TaggedFields) {
  const Bytes body = from_hex(
      "00000000"                        // throttle_time_ms 0
      "0000"                            // error_code 0
      "00000007"                        // session_id 7
      "02"                              // responses: 1 (compact)
      "07 676f6c64656e"                 //   topic "golden" (compact)
      "02"                              //   partitions: 1
      "00000000"                        //     partition_index 0
      "0000"                            //     error_code 0
      "000000000000000a"                //     high_watermark 10
      "0000000000000009"                //     last_stable_offset 9
      "0000000000000000"                //     log_start_offset 0
      "00"                              //     aborted_transactions: null (compact)
      "ffffffff"                        //     preferred_read_replica -1
      "01"                              //     records: 0 bytes (compact length + 1)
      "02"                              //     2 tagged fields:
      "00 0d 00000003 0000000000000005 00"  //   tag 0 diverging_epoch {epoch 3, end_offset 5}
      "07 02 abcd"                      //       tag 7 unknown, 2 bytes, kept as is
      "00"                              //   topic tagged fields
      "00");                            // response tagged fields
  auto resp = decode_body<FetchResponse>(body, 12);
  EXPECT_EQ(resp.session_id, 7);
  ASSERT_EQ(resp.responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].topic, "golden");
  ASSERT_EQ(resp.responses[0].partitions.size(), 1u);
  const auto& p = resp.responses[0].partitions[0];
  EXPECT_EQ(p.high_watermark, 10);
  EXPECT_EQ(p.last_stable_offset, 9);
  EXPECT_EQ(p.log_start_offset, 0);
  EXPECT_FALSE(p.aborted_transactions.has_value());
  EXPECT_EQ(p.preferred_read_replica, -1);
  EXPECT_FALSE(p.records.is_null);
  EXPECT_EQ(p.records.size(), 0u);
  EXPECT_EQ(p.diverging_epoch.epoch, 3);
  EXPECT_EQ(p.diverging_epoch.end_offset, 5);
  EXPECT_EQ(p.current_leader.leader_id, -1);  // absent tag keeps its default
  EXPECT_EQ(p.current_leader.leader_epoch, -1);
  EXPECT_EQ(p.snapshot_id.end_offset, -1);
  ASSERT_EQ(p.unknown_tagged_fields.size(), 1u);
  EXPECT_EQ(p.unknown_tagged_fields[0].tag, 7u);
  EXPECT_EQ(p.unknown_tagged_fields[0].data, from_hex("abcd"));
  expect_reencodes_to(resp, 12, body);
  expect_prefixes_fail<FetchResponse>(body, 12);
}

// Default-valued tagged fields are left out entirely: a fresh partition encodes with an
// empty tagged-field section.
TEST(GoldenRequests, FetchResponseV12DefaultTagsOmitted) {
  FetchResponse resp;
  auto& part = resp.responses.emplace_back().partitions.emplace_back();
  part.high_watermark = 1;
  Writer w;
  resp.encode(w, 12);
  const Bytes expected = from_hex(
      "00000000 0000 00000000"          // throttle, error_code, session_id
      "02 01 02"                        // 1 topic "" with 1 partition
      "00000000 0000 0000000000000001"  // partition 0, no error, high watermark 1
      "ffffffffffffffff ffffffffffffffff"  // last stable offset / log start offset: -1
      "00 ffffffff 01"                  // aborted null, preferred replica -1, empty records
      "00 00 00");                      // no tagged fields at any level
  EXPECT_EQ(w.buffer(), expected);
}

// Produce v10 (KIP-951): the partition's CurrentLeader (tag 0, a struct with its own tagged
// section) and the response's NodeEndpoints (tag 0), assembled from the protocol guide.
TEST(GoldenRequests, ProduceResponseV10LeaderHints) {
  const Bytes body = from_hex(
      "02 02 74"                        // 1 topic "t"
      "02 00000001 0006"                //   partition 1: NOT_LEADER_OR_FOLLOWER
      "ffffffffffffffff ffffffffffffffff ffffffffffffffff"  // base offset, append time, log start: -1
      "01 00"                           //   no record errors, error message null
      "01 00 09 00000002 00000005 00"   //   tag 0 current_leader {leader 2, epoch 5}
      "00"                              //   topic tagged fields
      "00000000"                        // throttle 0
      "01 00 0d"                        // tag 0 node_endpoints, 13 bytes:
      "02 00000002 02 68 00002384 00 00");  // node 2, host "h", port 9092, rack null
  auto resp = decode_body<ProduceResponse>(body, 10);
  ASSERT_EQ(resp.responses.size(), 1u);
  const auto& p = resp.responses[0].partition_responses.at(0);
  EXPECT_EQ(p.error_code, 6);
  EXPECT_EQ(p.current_leader.leader_id, 2);
  EXPECT_EQ(p.current_leader.leader_epoch, 5);
  ASSERT_EQ(resp.node_endpoints.size(), 1u);
  EXPECT_EQ(resp.node_endpoints[0].node_id, 2);
  EXPECT_EQ(resp.node_endpoints[0].host, "h");
  EXPECT_EQ(resp.node_endpoints[0].port, 9092);
  EXPECT_FALSE(resp.node_endpoints[0].rack.has_value());
  expect_reencodes_to(resp, 10, body);
  expect_prefixes_fail<ProduceResponse>(body, 10);
  // v9 has no such tags: the same answer leaves them out.
  Writer w;
  resp.encode(w, 9);
  EXPECT_EQ(w.buffer(), from_hex("02 02 74 02 00000001 0006 ffffffffffffffff ffffffffffffffff ffffffffffffffff"
                                 "01 00 00 00 00000000 00"));
}

// Metadata v13 appends the top-level error code after the topics; ListOffsets v10 the timeout.
TEST(GoldenRequests, MetadataV13ErrorCodeAndListOffsetsV10Timeout) {
  MetadataResponse md;
  md.cluster_id = "c";
  md.error_code = 129;  // REBOOTSTRAP_REQUIRED
  Writer w;
  md.encode(w, 13);
  EXPECT_EQ(w.buffer(), from_hex("00000000 01 02 63 ffffffff 01 0081 00"));
  auto back = decode_body<MetadataResponse>(w.buffer(), 13);
  EXPECT_EQ(back.error_code, 129);
  Writer w12;
  md.encode(w12, 12);
  EXPECT_EQ(w12.buffer(), from_hex("00000000 01 02 63 ffffffff 01 00"));

  const Bytes lo = from_hex("ffffffff 00 02 02 74 02 00000000 ffffffff fffffffffffffffc 00 00 000005dc 00");
  auto req = decode_body<ListOffsetsRequest>(lo, 10);
  EXPECT_EQ(req.timeout_ms, 1500);
  EXPECT_EQ(req.topics.at(0).partitions.at(0).timestamp, -4);
  expect_reencodes_to(req, 10, lo);
  expect_prefixes_fail<ListOffsetsRequest>(lo, 10);
}

// DescribeTopicPartitions v0 (KIP-966): a request with a cursor, an answer with a next cursor,
// null and empty ELR lists.
TEST(GoldenRequests, DescribeTopicPartitionsV0) {
  const Bytes req_body = from_hex(
      "03 02 61 00 02 62 00"            // topics "a", "b"
      "00000002"                        // response_partition_limit 2
      "01 02 61 00000001 00"            // cursor {"a", 1}
      "00");
  auto req = decode_body<DescribeTopicPartitionsRequest>(req_body, 0);
  ASSERT_EQ(req.topics.size(), 2u);
  EXPECT_EQ(req.response_partition_limit, 2);
  ASSERT_TRUE(req.cursor.has_value());
  EXPECT_EQ(req.cursor->topic_name, "a");
  EXPECT_EQ(req.cursor->partition_index, 1);
  expect_reencodes_to(req, 0, req_body);
  expect_prefixes_fail<DescribeTopicPartitionsRequest>(req_body, 0);
  auto no_cursor = decode_body<DescribeTopicPartitionsRequest>(from_hex("01 000007d0 ff 00"), 0);
  EXPECT_FALSE(no_cursor.cursor.has_value());
  EXPECT_TRUE(no_cursor.topics.empty());

  const Bytes resp_body = from_hex(
      "00000000"                        // throttle
      "02 0000 02 61"                   // 1 topic: error 0, name "a"
      "000102030405060708090a0b0c0d0e0f 00"  // topic id, not internal
      "02 0000 00000001 00000001 00000003"  // partition 1: leader 1, epoch 3
      "02 00000001 02 00000001"         //   replicas [1], isr [1]
      "01 00"                           //   eligible leader replicas [], last known ELR null
      "01 00"                           //   offline [], tags
      "00000df8 00"                     // authorized operations 3576, tags
      "01 02 62 00000000 00"            // next cursor {"b", 0}
      "00");
  auto resp = decode_body<DescribeTopicPartitionsResponse>(resp_body, 0);
  const auto& t = resp.topics.at(0);
  EXPECT_EQ(t.name, "a");
  EXPECT_EQ(t.topic_authorized_operations, 3576);
  const auto& p = t.partitions.at(0);
  EXPECT_EQ(p.leader_epoch, 3);
  ASSERT_TRUE(p.eligible_leader_replicas.has_value());
  EXPECT_TRUE(p.eligible_leader_replicas->empty());
  EXPECT_FALSE(p.last_known_elr.has_value());
  ASSERT_TRUE(resp.next_cursor.has_value());
  EXPECT_EQ(resp.next_cursor->topic_name, "b");
  expect_reencodes_to(resp, 0, resp_body);
  expect_prefixes_fail<DescribeTopicPartitionsResponse>(resp_body, 0);
}

}  // namespace
}  // namespace samsa::protocol
