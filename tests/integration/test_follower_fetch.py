"""The leader's side of replication as a raw client sees it on one broker (issue 13):
OffsetForLeaderEpoch (key 23) answers from the leader-epoch cache as Kafka does, and Fetch
checks current_leader_epoch, answers a last fetched epoch that the leader's log contradicts with
a DivergingEpoch and no records, and refuses a replica id that is not a replica of the partition.
Requests are built by hand (flexible Fetch v12, OffsetForLeaderEpoch v0/v2/v4) so every field is
what the test says."""

from confluent_kafka.admin import AdminClient

from helpers import Msg, create_topic, produce, unique_topic
from rawkafka import Conn, Reader, compact_string, frame, i8, i32, i64, request_header, string, uvarint

NONE, OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION = 0, 1, 3
NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH = 6, 74, 75


def fetch_v12(topic, offset, replica_id=-1, current_leader_epoch=-1, last_fetched_epoch=-1):
    body = (i32(replica_id) + i32(0) + i32(0) + i32(1 << 20) + i8(0) + i32(0) + i32(-1)
            + uvarint(2) + compact_string(topic)
            + uvarint(2) + i32(0) + i32(current_leader_epoch) + i64(offset) + i32(last_fetched_epoch)
            + i64(-1) + i32(1 << 20) + uvarint(0)  # partition tags
            + uvarint(0)  # topic tags
            + uvarint(1)  # no forgotten topics
            + compact_string("") + uvarint(0))
    return frame(request_header(1, 12, 11, flexible=True) + body)


def parse_fetch_v12(frame_bytes):
    """-> dict of the one partition: error, hw, diverging (epoch, end_offset) or None, records."""
    r = Reader(frame_bytes)
    r.i32()  # correlation id
    r.skip_tags()
    r.i32()  # throttle
    assert r.i16() == NONE
    r.i32()  # session id
    assert r.uvarint() == 2
    r.take(r.uvarint() - 1)  # topic
    assert r.uvarint() == 2
    out = {"partition": r.i32(), "error": r.i16(), "hw": r.i64()}
    r.i64()  # last stable offset
    out["log_start"] = r.i64()
    n = r.uvarint()  # aborted transactions (compact nullable array)
    for _ in range(max(n - 1, 0)):
        r.i64(), r.i64(), r.skip_tags()
    r.i32()  # preferred read replica
    size = r.uvarint()
    out["records"] = r.take(size - 1) if size > 1 else b""
    out["diverging"] = None
    for _ in range(r.uvarint()):
        tag, length = r.uvarint(), r.uvarint()
        data = Reader(r.take(length))
        if tag == 0:
            out["diverging"] = (data.i32(), data.i64())
    return out


def offset_for_leader_epoch(version, topic, leader_epoch, current_leader_epoch=-1, partition=0):
    flexible = version >= 4
    if flexible:
        body = (i32(-1) + uvarint(2) + compact_string(topic) + uvarint(2) + i32(partition)
                + i32(current_leader_epoch) + i32(leader_epoch) + uvarint(0) + uvarint(0) + uvarint(0))
    else:
        body = (i32(-1) if version >= 3 else b"") + i32(1) + string(topic) + i32(1) + i32(partition)
        body += (i32(current_leader_epoch) if version >= 2 else b"") + i32(leader_epoch)
    return frame(request_header(23, version, 12, flexible=flexible) + body)


def parse_offset_for_leader_epoch(version, frame_bytes):
    """-> (error, leader_epoch or None before v1, end_offset)"""
    flexible = version >= 4
    r = Reader(frame_bytes)
    r.i32()
    if flexible:
        r.skip_tags()
    if version >= 2:
        r.i32()  # throttle
    assert (r.uvarint() - 1 if flexible else r.i32()) == 1
    if flexible:
        r.take(r.uvarint() - 1)
        assert r.uvarint() - 1 == 1
    else:
        r.string()
        assert r.i32() == 1
    err = r.i16()
    r.i32()  # partition
    epoch = r.i32() if version >= 1 else None
    return err, epoch, r.i64()


def leader_of(bootstrap, topic):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    p = md.topics[topic].partitions[0]
    return p.leader, list(p.replicas)


def topic_with_records(broker, n=5):
    topic = unique_topic("follower-fetch")
    create_topic(broker.bootstrap, topic, 1)
    results = produce(broker.bootstrap, topic, [Msg(value=f"v{i}".encode(), partition=0) for i in range(n)])
    assert all(r.error is None for r in results)
    return topic


def test_offset_for_leader_epoch_answers_from_the_epoch_cache(broker):
    topic = topic_with_records(broker)
    with Conn(broker.port) as c:
        for v in (0, 1, 2, 3, 4):
            # One node leads in epoch 0: that epoch ends at the log end.
            err, epoch, end = parse_offset_for_leader_epoch(v, c.request(offset_for_leader_epoch(v, topic, 0)))
            assert (err, end) == (NONE, 5), v
            assert epoch == (None if v == 0 else 0)
            # An epoch above the latest is UNDEFINED, without an error.
            err, epoch, end = parse_offset_for_leader_epoch(v, c.request(offset_for_leader_epoch(v, topic, 3)))
            assert (err, end) == (NONE, -1)
            assert epoch == (None if v == 0 else -1)
        # current_leader_epoch is checked (v2+): newer than the leader's is UNKNOWN_LEADER_EPOCH.
        for v in (2, 4):
            err, _, _ = parse_offset_for_leader_epoch(v, c.request(offset_for_leader_epoch(v, topic, 0, 1)))
            assert err == UNKNOWN_LEADER_EPOCH
            err, _, end = parse_offset_for_leader_epoch(v, c.request(offset_for_leader_epoch(v, topic, 0, 0)))
            assert (err, end) == (NONE, 5)
        err, _, _ = parse_offset_for_leader_epoch(4, c.request(offset_for_leader_epoch(4, topic, 0, partition=9)))
        assert err == UNKNOWN_TOPIC_OR_PARTITION
        err, _, _ = parse_offset_for_leader_epoch(4, c.request(offset_for_leader_epoch(4, "no-such-topic", 0)))
        assert err == UNKNOWN_TOPIC_OR_PARTITION


def test_fetch_checks_the_current_leader_epoch(broker):
    topic = topic_with_records(broker)
    with Conn(broker.port) as c:
        p = parse_fetch_v12(c.request(fetch_v12(topic, 0, current_leader_epoch=1)))
        assert p["error"] == UNKNOWN_LEADER_EPOCH and p["records"] == b""
        p = parse_fetch_v12(c.request(fetch_v12(topic, 0, current_leader_epoch=0)))
        assert p["error"] == NONE and p["records"] and p["hw"] == 5


def test_fetch_answers_a_diverging_epoch_without_records(broker):
    topic = topic_with_records(broker)
    with Conn(broker.port) as c:
        # The fetcher's log goes past where epoch 0 ends here (5): truncate to 5 first.
        p = parse_fetch_v12(c.request(fetch_v12(topic, 7, last_fetched_epoch=0)))
        assert (p["error"], p["diverging"], p["records"]) == (NONE, (0, 5), b"")
        assert p["hw"] == 5
        # A last fetched epoch that never wrote here, fetched from beyond: the epoch
        # before it and where that ended.
        p = parse_fetch_v12(c.request(fetch_v12(topic, 5, last_fetched_epoch=0)))
        assert (p["error"], p["diverging"]) == (NONE, None)
        p = parse_fetch_v12(c.request(fetch_v12(topic, 3, last_fetched_epoch=0)))
        assert (p["error"], p["diverging"]) == (NONE, None)
        assert p["records"]
        # An epoch above any the leader knows: it cannot say where that ended.
        p = parse_fetch_v12(c.request(fetch_v12(topic, 3, last_fetched_epoch=4)))
        assert p["error"] == OFFSET_OUT_OF_RANGE and p["diverging"] is None


def test_fetch_from_a_replica_id_that_is_not_a_replica_is_refused(broker):
    topic = topic_with_records(broker)
    leader, replicas = leader_of(broker.bootstrap, topic)
    assert replicas == [leader]
    with Conn(broker.port) as c:
        for replica_id in (leader + 1, leader):  # a stranger, or the leader itself
            p = parse_fetch_v12(c.request(fetch_v12(topic, 0, replica_id=replica_id)))
            assert p["error"] == NOT_LEADER_OR_FOLLOWER and p["records"] == b""
