"""Fetch sessions (KIP-227) and Fetch v13-v17 for clients (issue 17), by raw protocol.

A full fetch with epoch 0 opens a session; incremental fetches (epoch 1, 2, ...) add partitions,
move fetch offsets, forget partitions (forgotten_topics_data), and get back only the partitions
with something new; a wrong epoch is INVALID_FETCH_SESSION_EPOCH (71), an unknown session id
FETCH_SESSION_ID_NOT_FOUND (70); with max.incremental.fetch.session.cache.slots=1 a second
consumer gets no session and a follower's session evicts the consumer's (Kafka's rules).
Fetch v13 names topics by id (UNKNOWN_TOPIC_ID for an unknown one), v16+ answers a
NOT_LEADER_OR_FOLLOWER partition with the current leader and that leader's endpoint, golden
bytes per version. 1,000 partitions are consumed through a session (fetchsess.SessionConsumer,
which behaves as the Java client's FetchSessionHandler), and by confluent-kafka: librdkafka
2.0.2 does not implement KIP-227 (it always fetches sessionless, epoch -1), nor does
kafka-python 2.0.2 (its fetch sessions came in 2.1), so no installed client library exercises
sessions; the confluent-kafka check is that the same topic still consumes sessionless.
"""

import time

from conftest import HOST
from fetchsess import (SessionConsumer, fetch_body, fetch_frame, metadata_topic_id, parse_fetch,
                       partitions_of, records_of)
from helpers import Msg, consume_all, create_topic, produce, unique_topic
from rawkafka import (Conn, compact_string, frame, i32, parse_api_versions, parse_produce_partition,
                      produce_request, record_batch, request_header, uvarint)

NONE, NOT_LEADER_OR_FOLLOWER = 0, 6
FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH = 70, 71
UNKNOWN_TOPIC_ID = 100


def hexb(text):
    """Hex digits to bytes; spaces and comments after '#' are ignored."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()).replace(" ", ""))


def put(conn, topic, partition, values, ts=None):
    batch = record_batch([(None, v) for v in values], base_timestamp=ts)
    err, base = parse_produce_partition(conn.request(produce_request(7, 5, topic, partition, batch))[4:], 7)
    assert err == NONE
    return base, batch


def fetch(conn, version, topics, session_id=0, epoch=-1, forgotten=(), max_wait_ms=0, corr=9, **kw):
    body = fetch_body(version, topics, session_id, epoch, forgotten, max_wait_ms=max_wait_ms, **kw)
    resp = parse_fetch(conn.request(fetch_frame(version, corr, body)), version)
    assert resp["corr"] == corr
    return resp


def values(p):
    return [v for _, v in records_of(p["records"])]


def test_api_versions_advertises_fetch_0_to_17(broker):
    with Conn(broker.port) as c:
        resp = c.request(frame(request_header(18, 3, 4, flexible=True) + compact_string("samsa-it")
                               + compact_string("0.1") + b"\x00"))
    error, apis = parse_api_versions(resp[4:], 3)
    assert error == 0 and apis[1] == (0, 17)


def test_full_then_incremental_session(broker):
    topic = unique_topic("fs")
    create_topic(broker.bootstrap, topic, 3)
    with Conn(broker.port) as c:
        put(c, topic, 0, [b"a0", b"a1"])
        put(c, topic, 1, [b"b0"])
        # Full fetch, epoch 0: the broker opens a session and answers every partition.
        r = fetch(c, 12, [(topic, [(0, 0), (1, 0)])], 0, 0)
        assert r["error"] == NONE and r["session_id"] > 0
        sid = r["session_id"]
        ps = partitions_of(r)
        assert set(ps) == {(topic, 0), (topic, 1)}
        assert values(ps[(topic, 0)]) == [b"a0", b"a1"] and values(ps[(topic, 1)]) == [b"b0"]
        # Epoch 1: the new offsets; nothing new anywhere, so nothing comes back (after max wait).
        t0 = time.monotonic()
        r = fetch(c, 12, [(topic, [(0, 2), (1, 1)])], sid, 1, max_wait_ms=200)
        assert (r["error"], r["session_id"], r["topics"]) == (NONE, sid, [])
        assert time.monotonic() - t0 >= 0.15  # it waited: a caught-up session is not an answer
        # Epoch 2 adds partition 2: only it is answered (new to the session, high watermark 0).
        r = fetch(c, 12, [(topic, [(2, 0)])], sid, 2)
        ps = partitions_of(r)
        assert list(ps) == [(topic, 2)] and ps[(topic, 2)]["hw"] == 0 and ps[(topic, 2)]["records"] == b""
        # A record to partition 1: an incremental fetch naming no partition gets only partition 1.
        put(c, topic, 1, [b"b1"])
        r = fetch(c, 12, [], sid, 3, max_wait_ms=2000)
        ps = partitions_of(r)
        assert list(ps) == [(topic, 1)], ps.keys()
        assert records_of(ps[(topic, 1)]["records"]) == [(1, b"b1")] and ps[(topic, 1)]["hw"] == 2
        # Partition 0 forgotten (and partition 1 moved on): new data on 0 is not answered.
        put(c, topic, 0, [b"a2"])
        r = fetch(c, 12, [(topic, [(1, 2)])], sid, 4, forgotten=[(topic, [0])], max_wait_ms=100)
        assert r["topics"] == [], r["topics"]
        # A record to partition 2: still in the session, answered alone.
        put(c, topic, 2, [b"c0"])
        r = fetch(c, 12, [], sid, 5, max_wait_ms=2000)
        ps = partitions_of(r)
        assert list(ps) == [(topic, 2)] and values(ps[(topic, 2)]) == [b"c0"]
        # The same epoch again (a retry) or a future one: INVALID_FETCH_SESSION_EPOCH, nothing else.
        for bad in (5, 9):
            r = fetch(c, 12, [], sid, bad)
            assert (r["error"], r["session_id"], r["topics"]) == (INVALID_FETCH_SESSION_EPOCH, 0, [])
        # The session is still there at epoch 6.
        r = fetch(c, 12, [], sid, 6)
        assert (r["error"], r["session_id"]) == (NONE, sid)
        # An id the broker never gave: FETCH_SESSION_ID_NOT_FOUND.
        r = fetch(c, 12, [], sid ^ 0x5A5A5A, 1)
        assert (r["error"], r["session_id"], r["topics"]) == (FETCH_SESSION_ID_NOT_FOUND, 0, [])
        # Epoch -1 with the id closes it: a sessionless full answer, then the id is unknown.
        r = fetch(c, 12, [(topic, [(0, 0)])], sid, -1)
        assert (r["error"], r["session_id"]) == (NONE, 0)
        assert values(partitions_of(r)[(topic, 0)]) == [b"a0", b"a1", b"a2"]
        r = fetch(c, 12, [], sid, 7)
        assert r["error"] == FETCH_SESSION_ID_NOT_FOUND


def test_session_on_another_connection_and_sessionless_fetches(broker):
    topic = unique_topic("fs2")
    create_topic(broker.bootstrap, topic, 1)
    with Conn(broker.port) as a, Conn(broker.port) as b:
        put(a, topic, 0, [b"x"])
        r = fetch(a, 12, [(topic, [(0, 0)])], 0, 0)
        sid = r["session_id"]
        assert sid > 0
        # Sessions are the broker's, not the connection's (Kafka too): b continues it.
        put(b, topic, 0, [b"y"])
        r = fetch(b, 12, [(topic, [(0, 1)])], sid, 1, max_wait_ms=2000)
        assert values(partitions_of(r)[(topic, 0)]) == [b"y"]
        # Sessionless fetches (epoch -1, id 0) answer everything every time, session id 0.
        for _ in range(2):
            r = fetch(b, 12, [(topic, [(0, 2)])], 0, -1)
            assert r["session_id"] == 0 and list(partitions_of(r)) == [(topic, 0)]


def test_eviction_with_one_slot(make_broker):
    b = make_broker(overrides={"max.incremental.fetch.session.cache.slots": "1"})
    topic = unique_topic("fse")
    create_topic(b.bootstrap, topic, 1)
    with Conn(b.port) as c:
        first = fetch(c, 12, [(topic, [(0, 0)])], 0, 0)["session_id"]
        assert first > 0
        # The only slot is taken by a recent consumer session: a second consumer gets none.
        r = fetch(c, 12, [(topic, [(0, 0)])], 0, 0)
        assert (r["error"], r["session_id"]) == (NONE, 0)
        assert fetch(c, 12, [], first, 1)["error"] == NONE
        # A follower's session (privileged) evicts a consumer's (Kafka's rule), even though this
        # replica id is refused for the partition itself.
        r = fetch(c, 12, [(topic, [(0, 0)])], 0, 0, replica_id=77)
        ps = partitions_of(r)
        assert ps[(topic, 0)]["error"] == NOT_LEADER_OR_FOLLOWER and r["session_id"] > 0
        assert fetch(c, 12, [], first, 2)["error"] == FETCH_SESSION_ID_NOT_FOUND
        # Closing the follower's session frees the slot for a consumer again.
        fetch(c, 12, [], r["session_id"], -1, replica_id=77)
        assert fetch(c, 12, [(topic, [(0, 0)])], 0, 0)["session_id"] > 0


def test_fetch_v13_names_topics_by_id_golden(broker):
    topic = unique_topic("fs13")
    create_topic(broker.bootstrap, topic, 1)
    with Conn(broker.port) as c:
        tid = metadata_topic_id(c, topic)
        assert tid and len(tid) == 16 and tid != bytes(16)
        _, batch = put(c, topic, 0, [b"v13"], ts=1_700_000_000_000)
        unknown = bytes(range(1, 17))
        body = fetch_body(13, [(tid, [(0, 0)]), (unknown, [(0, 0)])], 0, -1)
        assert body == hexb("""
            ffffffff 00000000 00000000 03200000 00   # replica -1, max wait 0, min bytes 0, max bytes 50 MiB, read uncommitted
            00000000 ffffffff                        # session id 0, epoch -1 (sessionless)
            03""") + tid + hexb("""                  # two topics; the first by its id
            02 00000000 ffffffff 0000000000000000 ffffffff ffffffffffffffff 00100000 00 00
            """) + unknown + hexb("""
            02 00000000 ffffffff 0000000000000000 ffffffff ffffffffffffffff 00100000 00 00
            01 01 00                                 # no forgotten topics, rack "", tags""")
        resp = c.request(fetch_frame(13, 21, body))
        at = 68 + len(uvarint(len(batch) + 1))  # where the records start in the answer
        records = batch[:12] + resp[at + 12:at + 16] + batch[16:]  # the leader epoch is the broker's
        assert resp == i32(21) + hexb("""
            00 00000000 0000 00000000                # header tags, throttle 0, error 0, session 0
            03""") + tid + hexb("""
            02 00000000 0000                         # partition 0, no error
            0000000000000001 0000000000000001 0000000000000000   # high watermark 1, LSO 1, log start 0
            00 ffffffff                              # no aborted transactions, no preferred replica
            """) + uvarint(len(records) + 1) + records + hexb("""
            00 00""") + unknown + hexb("""
            02 00000000 0064                         # partition 0, UNKNOWN_TOPIC_ID (100)
            ffffffffffffffff ffffffffffffffff ffffffffffffffff 00 ffffffff 01 00
            00 00                                    # topic tags, response tags"""), resp.hex()
        assert resp[at + 12:at + 16] == i32(0)  # the partition's first leader epoch
        # The same by name at v12 is the same answer but for the topic's key.
        r12 = fetch(c, 12, [(topic, [(0, 0)])])
        assert partitions_of(r12)[(topic, 0)]["records"] == records


def test_fetch_session_by_topic_id_v17(broker):
    topic = unique_topic("fs17")
    create_topic(broker.bootstrap, topic, 2)
    with Conn(broker.port) as c:
        tid = metadata_topic_id(c, topic)
        put(c, topic, 0, [b"p0"])
        r = fetch(c, 17, [(tid, [(0, 0), (1, 0)])], 0, 0)
        sid = r["session_id"]
        assert sid > 0 and [t for t, _ in r["topics"]] == [tid]
        # A session made by id cannot be continued by name (FETCH_SESSION_TOPIC_ID_ERROR, 106).
        assert fetch(c, 12, [], sid, 1)["error"] == 106
        put(c, topic, 1, [b"p1"])
        r = fetch(c, 17, [(tid, [(0, 1)])], sid, 1, max_wait_ms=2000)
        ps = partitions_of(r)
        assert list(ps) == [(tid, 1)] and values(ps[(tid, 1)]) == [b"p1"]
        # Forgotten by id (v13+).
        put(c, topic, 1, [b"p1b"])
        r = fetch(c, 17, [], sid, 2, forgotten=[(tid, [1])], max_wait_ms=100)
        assert r["topics"] == []


def test_fetch_v16_names_the_current_leader_and_its_endpoint(broker):
    """A partition answered NOT_LEADER_OR_FOLLOWER (here: a follower fetch from a replica id that
    is not a replica) carries the current leader (KIP-951) and, v16+, its endpoint."""
    topic = unique_topic("fs16")
    create_topic(broker.bootstrap, topic, 1)
    with Conn(broker.port) as c:
        tid = metadata_topic_id(c, topic)
        # v15 has the leader (this broker, first epoch) but no node endpoints.
        r = fetch(c, 15, [(tid, [(0, 0)])], replica_id=42)
        leader, epoch = partitions_of(r)[(tid, 0)]["leader"]
        assert leader >= 0 and epoch == 0 and r["node_endpoints"] == []
        for version in (16, 17):
            body = fetch_body(version, [(tid, [(0, 0)])], 0, -1, replica_id=42)
            assert body[-17:] == hexb("""
                01                      # rack id "" (compact)
                01 01 0d                # one tag: 1 (replica state), 13 bytes
                0000002a ffffffffffffffff 00   # replica id 42, broker epoch -1, tags""")
            resp = c.request(fetch_frame(version, 23, body))
            host = HOST.encode()
            assert resp == i32(23) + hexb("00 00000000 0000 00000000 02") + tid + hexb("""
                02 00000000 0006        # partition 0, NOT_LEADER_OR_FOLLOWER
                ffffffffffffffff ffffffffffffffff ffffffffffffffff 00 ffffffff 01   # no records
                01 01 09""") + i32(leader) + i32(epoch) + hexb("""   # tag 1: the current leader
                00                      # the leader's tags (the tag's 9th byte)
                00                      # topic tags
                01 00""") + uvarint(1 + 4 + 1 + len(host) + 4 + 1 + 1) + hexb("02") + i32(leader) \
                + uvarint(len(host) + 1) + host + i32(broker.port) + hexb("00 00"), resp.hex()


def test_1000_partitions_through_a_session(broker):
    topic = unique_topic("fs1k")
    n = 1000
    create_topic(broker.bootstrap, topic, n, timeout=120)
    msgs = [Msg(value=f"{p}:{i}".encode(), partition=p) for i in range(3) for p in range(n)]
    results = produce(broker.bootstrap, topic, msgs, flush_timeout=60)
    assert all(r.error is None for r in results)
    with Conn(broker.port, timeout=30) as c:
        tid = metadata_topic_id(c, topic)
        consumer = SessionConsumer(c, 17, {(tid, p): 0 for p in range(n)})
        got = {p: [] for p in range(n)}
        deadline = time.monotonic() + 60
        fetches = 0
        while sum(len(v) for v in got.values()) < 3 * n:
            assert time.monotonic() < deadline, f"timed out: {sum(len(v) for v in got.values())} records"
            for (_, p), recs in consumer.fetch().items():
                got[p] += recs
            fetches += 1
            if fetches > 1:  # incremental answers carry only partitions with records
                assert all(pd["records"] for _, ps in consumer.last["topics"] for pd in ps)
        for p in range(n):
            assert got[p] == [(i, f"{p}:{i}".encode()) for i in range(3)], p
        # Caught up: an incremental fetch answers nothing; five new records, five partitions.
        consumer.fetch()
        assert consumer.fetch() == {} and consumer.last["topics"] == []
        produce(broker.bootstrap, topic, [Msg(value=b"late", partition=p) for p in (3, 99, 500, 501, 999)])
        consumer.max_wait_ms = 2000
        seen = {}
        for _ in range(5):
            for (_, p), recs in consumer.fetch().items():
                seen[p] = recs
            if len(seen) == 5:
                break
        assert seen == {p: [(3, b"late")] for p in (3, 99, 500, 501, 999)}
        consumer.close()
    # librdkafka 2.0.2 fetches sessionless: the same topic consumes completely.
    out = consume_all(broker.bootstrap, topic, range(n), timeout=90)
    assert sum(len(v) for v in out.values()) == 3 * n + 5
