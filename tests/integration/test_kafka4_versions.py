"""Raw-protocol tests of the API versions Kafka 4.x clients use (issue 17): Produce v10-v12
(KIP-951 leader hints), Metadata v13 (top-level error code, KIP-1102), ListOffsets v8-v10
(KIP-405 / KIP-1005 special timestamps, KIP-1075 timeout) and DescribeTopicPartitions v0
(KIP-966, with its cursor pagination). Request bytes are built by hand and checked against hex;
responses are compared byte for byte where only the port, cluster id and topic ids vary.
A two-node cluster checks the leader hints of a Produce sent to the wrong broker, and
confluent-kafka checks that produce / offsets lookups still work.
"""

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST
from rawkafka import Conn, Reader, compact_string, frame, i8, i16, i32, i64, parse_api_versions, \
    record_batch, request_header, uvarint
from test_new_versions import call, hexb
from test_acls import secured  # noqa: F401 (the standard-authorizer broker fixture)
from test_quorum_cluster import Cluster

UNKNOWN_TOPIC_OR_PARTITION = 3
NOT_LEADER_OR_FOLLOWER = 6
UNSUPPORTED_VERSION = 35
INVALID_REQUEST = 42
NO_AUTHORIZED_OPERATIONS = -2147483648


def create_topics(bootstrap, spec, bound=30.0):
    """{name: partitions}; waits until Metadata shows every partition with a leader."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futs = admin.create_topics([NewTopic(n, num_partitions=p, replication_factor=1) for n, p in spec.items()],
                               operation_timeout=20)
    for f in futs.values():
        f.result(timeout=30)
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        md = admin.list_topics(timeout=10)
        if all(n in md.topics and md.topics[n].error is None and len(md.topics[n].partitions) == p
               and all(pm.leader >= 0 for pm in md.topics[n].partitions.values()) for n, p in spec.items()):
            return md
        time.sleep(0.2)
    pytest.fail(f"topics {spec} not ready in {bound} s")


def topic_id(bootstrap, name):
    """The topic's id from Metadata v12 (16 bytes)."""
    return metadata_v12(int(bootstrap.rsplit(":", 1)[1]), name)[0]


def metadata_v12(port, topic):
    """(topic id, {partition: (leader, leader epoch)}) from a Metadata v12 answer for one topic;
    (None, {}) while the topic is unknown."""
    with Conn(port) as conn:
        resp = call(conn, 3, 12, 5, b"\x02" + bytes(16) + compact_string(topic) + b"\x00" + b"\x00\x00\x00")
    r = Reader(resp)
    r.i32()
    for _ in range(r.uvarint() - 1):  # brokers
        r.i32(); r.take(r.uvarint() - 1); r.i32(); n = r.uvarint(); r.take(max(n - 1, 0)); r.skip_tags()
    n = r.uvarint(); r.take(max(n - 1, 0))  # cluster id
    r.i32()
    assert r.uvarint() == 2
    if r.i16() != 0:
        return None, {}
    r.take(r.uvarint() - 1)
    tid = r.take(16)
    r.take(1)
    out = {}
    for _ in range(r.uvarint() - 1):
        r.i16()
        index, leader, epoch = r.i32(), r.i32(), r.i32()
        for _ in range(3):
            r.take(4 * (r.uvarint() - 1))
        r.skip_tags()
        out[index] = (leader, epoch)
    return tid, out


# ---- ApiVersions --------------------------------------------------------------------------------

def test_api_versions_advertise_the_kafka4_ranges(broker):
    with Conn(broker.port) as conn:
        body = call_v0_header(conn, request_header(18, 3, 1, flexible=True)
                              + compact_string("samsa-it") + compact_string("0.1") + b"\x00")
    error, apis = parse_api_versions(body, 3)
    assert error == 0
    # New maxima; the old minima stay (clients older than Kafka 4 keep working).
    assert apis[0] == (0, 12) and apis[3] == (0, 13) and apis[2] == (0, 10) and apis[75] == (0, 0)
    assert apis[1] == (0, 17)


def call_v0_header(conn, payload):
    resp = conn.request(frame(payload))
    return resp[4:]  # ApiVersions answers with response header v0


# ---- Produce v10-v12 ----------------------------------------------------------------------------

def produce_body(topic, partition, batch, acks=-1):
    return (b"\x00" + i16(acks) + i32(5000)  # transactional id null, acks, timeout
            + b"\x02" + compact_string(topic) + b"\x02" + i32(partition)
            + uvarint(len(batch) + 1) + batch + b"\x00" + b"\x00" + b"\x00")


def produce_answer(topic, partition, error, base_offset, log_start, tags=b"\x00", top_tags=b"\x00"):
    return (b"\x02" + compact_string(topic) + b"\x02" + i32(partition) + i16(error) + i64(base_offset)
            + i64(-1) + i64(log_start) + b"\x01" + b"\x00" + tags  # append time, start, no record errors, msg null
            + b"\x00" + i32(0) + top_tags)  # topic tags, throttle, top-level tags


def test_produce_v10_to_v12_golden(broker):
    topic = "k4-produce"
    create_topics(broker.bootstrap, {topic: 1})
    batch = record_batch([(b"k", b"v")])
    body = produce_body(topic, 0, batch)
    assert body[:9 + len(topic)] == hexb("00 ffff 00001388 02 0b") + topic.encode()  # null txn id, acks -1, 5000 ms
    with Conn(broker.port) as conn:
        for i, version in enumerate((10, 11, 12)):
            resp = call(conn, 0, version, 20 + version, body)
            assert resp == produce_answer(topic, 0, 0, i, 0), (version, resp.hex())
        # An unknown partition is not a leader hint case: no tagged fields.
        resp = call(conn, 0, 12, 30, produce_body(topic, 7, batch))
        assert resp == produce_answer(topic, 7, UNKNOWN_TOPIC_OR_PARTITION, -1, -1), resp.hex()


def test_produce_v10_to_the_wrong_broker_names_the_leader(tmp_path):
    """KIP-951 in a two-node cluster: a partition led by node 2, produced to node 1, is answered
    NOT_LEADER_OR_FOLLOWER with CurrentLeader (node 2, its epoch) and node 2's endpoint (v10+);
    v9 has neither."""
    cluster = Cluster(tmp_path, 2)
    cluster.start()
    try:
        topic = "k4-hint"
        cluster.wait_brokers([1, 2])  # both unfenced, or every partition lands on the first one
        cluster.create_topic(topic, partitions=4)
        node1, node2 = cluster.node(1), cluster.node(2)
        deadline, leaders = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            leaders = metadata_v12(node1.port, topic)[1]
            if len(leaders) == 4 and all(l > 0 for l, _ in leaders.values()):
                break
            time.sleep(0.2)
        elsewhere = [p for p, (l, _) in sorted(leaders.items()) if l == 2]
        assert elsewhere, f"no partition led by node 2: {leaders}\n{cluster.logs()}"
        p = elsewhere[0]
        epoch = leaders[p][1]
        batch = record_batch([(None, b"x")])
        endpoint = b"\x02" + i32(2) + compact_string(HOST) + i32(node2.port) + b"\x00" + b"\x00"
        with Conn(node1.port) as conn:
            for version in (10, 11, 12):
                resp = call(conn, 0, version, 3, produce_body(topic, p, batch))
                assert resp == produce_answer(topic, p, NOT_LEADER_OR_FOLLOWER, -1, -1,
                                              tags=hexb("01 00 09") + i32(2) + i32(epoch) + b"\x00",
                                              top_tags=hexb("01 00") + uvarint(len(endpoint)) + endpoint), \
                    (version, resp.hex())
            resp = call(conn, 0, 9, 4, produce_body(topic, p, batch))
            assert resp == produce_answer(topic, p, NOT_LEADER_OR_FOLLOWER, -1, -1), resp.hex()
        # The hint is right: node 2 takes the record.
        with Conn(node2.port) as conn:
            assert call(conn, 0, 12, 5, produce_body(topic, p, batch)) == produce_answer(topic, p, 0, 0, 0)
    finally:
        cluster.stop()


# ---- Metadata v13 -------------------------------------------------------------------------------

def test_metadata_v13_appends_the_top_level_error_code(broker):
    topic = "k4-metadata"
    create_topics(broker.bootstrap, {topic: 1})
    tid = topic_id(broker.bootstrap, topic)
    body = b"\x02" + bytes(16) + compact_string(topic) + b"\x00" + b"\x00" + b"\x00" + b"\x00"
    assert body == hexb("02 00000000000000000000000000000000") + compact_string(topic) + hexb("00 00 00 00")
    with Conn(broker.port) as conn:
        v13 = call(conn, 3, 13, 41, body)
        v12 = call(conn, 3, 12, 42, body)
    r = Reader(v13)
    r.take(4 + 1 + 4)  # throttle, one broker, its id
    r.take(r.uvarint() - 1)
    r.take(4 + 1 + 1)  # port, rack null, tags
    cluster_id = r.take(r.uvarint() - 1)
    controller = r.i32()
    assert v13 == (hexb("00000000 02") + i32(1) + compact_string(HOST) + i32(broker.port) + hexb("00 00")
                   + compact_string(cluster_id.decode()) + i32(controller)
                   + hexb("02 0000") + compact_string(topic) + tid + hexb("00")  # error 0, name, id, not internal
                   + hexb("02 0000 00000000") + i32(1) + hexb("00000000")  # partition 0: leader 1, epoch 0
                   + hexb("02 00000001 02 00000001 01 00")  # replicas [1], isr [1], offline [], tags
                   + i32(NO_AUTHORIZED_OPERATIONS) + hexb("00")
                   + hexb("0000 00")), v13.hex()  # the top-level error code (v13), tags
    assert v13 == v12[:-1] + hexb("0000 00")  # v12's answer plus the error code


# ---- ListOffsets v8-v10 -------------------------------------------------------------------------

def list_offsets_body(version, topic, timestamp, partition=0):
    body = (i32(-1) + i8(0) + b"\x02" + compact_string(topic) + b"\x02" + i32(partition) + i32(-1)
            + i64(timestamp) + b"\x00" + b"\x00")
    if version >= 10:
        body += i32(1500)  # timeout_ms (KIP-1075)
    return body + b"\x00"


def list_offsets_answer(topic, error, timestamp, offset, epoch, partition=0):
    return (i32(0) + b"\x02" + compact_string(topic) + b"\x02" + i32(partition) + i16(error)
            + i64(timestamp) + i64(offset) + i32(epoch) + b"\x00" + b"\x00" + b"\x00")


def test_list_offsets_v8_to_v10_special_timestamps(broker):
    topic = "k4-offsets"
    create_topics(broker.bootstrap, {topic: 1})
    with Conn(broker.port) as conn:
        body = produce_body(topic, 0, record_batch([(None, b"a"), (None, b"b"), (None, b"c")]))
        assert call(conn, 0, 12, 1, body) == produce_answer(topic, 0, 0, 0, 0)
        req = list_offsets_body(10, topic, -4)
        assert req == (hexb("ffffffff 00 02") + compact_string(topic)
                       + hexb("02 00000000 ffffffff fffffffffffffffc 00 00 000005dc 00"))
        # -4 (earliest local): the log start offset, the whole log being local.
        for version in (8, 9, 10):
            assert call(conn, 2, version, 2, list_offsets_body(version, topic, -4)) == \
                list_offsets_answer(topic, 0, -1, 0, 0), version
        # -5 (latest tiered): nothing is tiered: offset -1, epoch -1.
        for version in (9, 10):
            assert call(conn, 2, version, 3, list_offsets_body(version, topic, -5)) == \
                list_offsets_answer(topic, 0, -1, -1, -1), version
        # Latest and earliest are unchanged.
        assert call(conn, 2, 10, 4, list_offsets_body(10, topic, -1)) == list_offsets_answer(topic, 0, -1, 3, 0)
        assert call(conn, 2, 10, 5, list_offsets_body(10, topic, -2)) == list_offsets_answer(topic, 0, -1, 0, 0)
        # A special timestamp older than the version that brought it: UNSUPPORTED_VERSION, as Kafka.
        for version, ts in ((7, -4), (8, -5), (6, -3), (10, -6)):
            assert call(conn, 2, version, 6, list_offsets_body(version, topic, ts)) == \
                list_offsets_answer(topic, UNSUPPORTED_VERSION, -1, -1, -1), (version, ts)


# ---- DescribeTopicPartitions v0 -----------------------------------------------------------------

def dtp_body(topics, limit, cursor=None):
    body = uvarint(len(topics) + 1) + b"".join(compact_string(t) + b"\x00" for t in topics) + i32(limit)
    body += b"\xff" if cursor is None else b"\x01" + compact_string(cursor[0]) + i32(cursor[1]) + b"\x00"
    return body + b"\x00"


def parse_dtp(resp):
    """-> ([(error, name, topic id, internal, [(error, index, leader, epoch, replicas, isr, elr, last elr,
    offline)], authorized operations)], next cursor or None). The whole body must be consumed."""
    r = Reader(resp)
    assert r.i32() == 0

    def ints():
        n = r.uvarint()
        return None if n == 0 else [r.i32() for _ in range(n - 1)]

    topics = []
    for _ in range(r.uvarint() - 1):
        error = r.i16()
        n = r.uvarint()
        name = r.take(n - 1).decode() if n else None
        tid, internal = r.take(16), r.take(1) == b"\x01"
        parts = []
        for _ in range(r.uvarint() - 1):
            parts.append((r.i16(), r.i32(), r.i32(), r.i32(), ints(), ints(), ints(), ints(), ints()))
            r.skip_tags()
        ops = r.i32()
        r.skip_tags()
        topics.append((error, name, tid, internal, parts, ops))
    cursor = None
    if r.take(1) == b"\x01":
        cursor = (r.take(r.uvarint() - 1).decode(), r.i32())
        r.skip_tags()
    r.skip_tags()
    assert r.remaining() == 0
    return topics, cursor


def test_describe_topic_partitions_pages_across_topics(broker):
    spec = {"k4-dtp-a": 3, "k4-dtp-b": 2, "k4-dtp-c": 1}
    create_topics(broker.bootstrap, spec)
    ids = {t: topic_id(broker.bootstrap, t) for t in spec}
    listed = ["k4-dtp-c", "k4-dtp-zz-missing", "k4-dtp-a", "k4-dtp-b", "k4-dtp-a"]
    body = dtp_body(listed, 2)
    assert body[:1] == b"\x06" and body[-6:] == hexb("00000002 ff 00")  # 5 names, limit 2, no cursor, tags
    pages, cursor, seen = [], None, []
    with Conn(broker.port) as conn:
        for _ in range(10):  # bounded: 4 pages are expected
            topics, cursor = parse_dtp(call(conn, 75, 0, 7, dtp_body(listed, 2, cursor)))
            pages.append(([(t[1], [p[1] for p in t[4]]) for t in topics], cursor))
            seen += topics
            if cursor is None:
                break
    # Name order, at most two partitions a page; the cursor resumes where the page stopped.
    assert pages == [
        ([("k4-dtp-a", [0, 1])], ("k4-dtp-a", 2)),
        ([("k4-dtp-a", [2]), ("k4-dtp-b", [0])], ("k4-dtp-b", 1)),
        ([("k4-dtp-b", [1]), ("k4-dtp-c", [0])], ("k4-dtp-zz-missing", 0)),
        ([("k4-dtp-zz-missing", [])], None),
    ], pages
    for error, name, tid, internal, parts, ops in seen:
        if name == "k4-dtp-zz-missing":
            assert (error, tid, internal) == (UNKNOWN_TOPIC_OR_PARTITION, bytes(16), False)
            continue
        assert (error, tid, internal) == (0, ids[name], False)
        assert ops != NO_AUTHORIZED_OPERATIONS and ops & (1 << 8)  # DESCRIBE among the operations
        for p in parts:  # no ELR in Samsa: empty lists, as Kafka without the feature
            assert p == (0, p[1], 1, 0, [1], [1], [], [], []), p

    # Byte for byte: the last page (an unknown topic, then no cursor).
    with Conn(broker.port) as conn:
        resp = call(conn, 75, 0, 8, dtp_body(["k4-dtp-zz-missing"], 2000))
    ops = Reader(resp[4 + 1 + 2 + len(compact_string("k4-dtp-zz-missing")) + 16 + 1 + 1:]).i32()
    assert resp == (hexb("00000000 02 0003") + compact_string("k4-dtp-zz-missing") + bytes(16)
                    + hexb("00 01") + i32(ops) + hexb("00 ff 00")), resp.hex()


def test_describe_topic_partitions_all_topics_and_bad_cursors(broker):
    spec = {"k4-all-x": 2, "k4-all-y": 1}
    create_topics(broker.bootstrap, spec)
    with Conn(broker.port) as conn:
        topics, cursor = parse_dtp(call(conn, 75, 0, 9, dtp_body([], 2000)))
        names = [t[1] for t in topics]
        assert cursor is None and names == sorted(names) and {"k4-all-x", "k4-all-y"} <= set(names)
        assert [p[1] for p in topics[names.index("k4-all-x")][4]] == [0, 1]
        # All topics from a cursor: only names from the cursor's on, its topic from its partition on.
        topics, cursor = parse_dtp(call(conn, 75, 0, 10, dtp_body([], 1, ("k4-all-x", 1))))
        assert [(t[1], [p[1] for p in t[4]]) for t in topics] == [("k4-all-x", [1])]
        assert cursor == ("k4-all-y", 0)
        # A cursor whose topic is not listed, or with a negative partition: INVALID_REQUEST for each listed topic.
        for listed, cur in ((["k4-all-y"], ("k4-all-x", 0)), (["k4-all-x"], ("k4-all-x", -1))):
            resp = call(conn, 75, 0, 11, dtp_body(listed, 10, cur))
            assert resp == (hexb("00000000 02") + i16(INVALID_REQUEST) + compact_string(listed[0]) + bytes(16)
                            + hexb("00 01") + i32(NO_AUTHORIZED_OPERATIONS) + hexb("00 ff 00")), resp.hex()


def test_describe_topic_partitions_authorization(secured):
    """With the standard authorizer (test_acls' broker; its PLAINTEXT listener is User:ANONYMOUS):
    a named topic without DESCRIBE is answered TOPIC_AUTHORIZATION_FAILED after the others, with
    no id; an all-topics listing leaves it out; the authorized operations are the granted ones."""
    from test_acls import acls, create_topic as acl_create_topic
    ok, denied = "k4-authz-ok", "k4-authz-no"
    for t in (ok, denied):
        acl_create_topic(secured, t)
    acls(secured, "--add", "--allow-principal", "User:ANONYMOUS", "--operation", "Describe", "--topic", ok)
    deadline = time.monotonic() + 20
    with Conn(secured.port) as conn:
        while True:  # bounded: the ACL reaches the image shortly
            topics, cursor = parse_dtp(call(conn, 75, 0, 12, dtp_body([denied, ok], 100)))
            if topics[0][0] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert cursor is None
        assert [(t[0], t[1]) for t in topics] == [(0, ok), (29, denied)], topics  # 29: TOPIC_AUTHORIZATION_FAILED
        assert topics[0][5] == 1 << 8  # DESCRIBE only
        assert topics[1][2:] == (bytes(16), False, [], NO_AUTHORIZED_OPERATIONS)
        topics, _ = parse_dtp(call(conn, 75, 0, 13, dtp_body([], 100)))
        assert [t[1] for t in topics] == [ok], topics


# ---- a real client --------------------------------------------------------------------------------

def test_confluent_kafka_produces_and_lists_offsets(broker):
    topic = "k4-client"
    create_topics(broker.bootstrap, {topic: 1})
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(5):
        p.produce(topic, value=f"m{i}".encode(), partition=0)
    assert p.flush(20) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "k4-client-g"})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 5)
        found = c.offsets_for_times([TopicPartition(topic, 0, 0)], timeout=10)
        assert found[0].offset == 0 and found[0].error is None
    finally:
        c.close()


def test_librdkafka_2_15_uses_the_new_versions(broker):
    """@confluentinc/kafka-javascript's librdkafka 2.15 (tests/integration/js) picks the newest
    versions it knows of those Samsa now advertises, and produce / offset lookups work."""
    from test_kafkajs import JS_DIR, run_node
    if not (JS_DIR / "node_modules" / "@confluentinc" / "kafka-javascript" / "build").exists():
        pytest.skip("tests/integration/js/setup.sh has not built @confluentinc/kafka-javascript")
    topic = "k4-librdkafka"
    create_topics(broker.bootstrap, {topic: 1})
    res = run_node("kafka4_versions.js", {"brokers": [broker.bootstrap], "topic": topic, "count": 5})
    assert sorted(res["offsets"]) == [0, 1, 2, 3, 4], res
    assert res["marks"] == {"lowOffset": 0, "highOffset": 5} and res["forTime"] == 0, res
    print("librdkafka 2.15 request versions:", res["versions"])
    assert res["versions"]["Produce"] >= 10 and res["versions"]["Metadata"] == 13, res["versions"]
