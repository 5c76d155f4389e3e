"""The operator views of producers and transactions (KIP-664: DescribeProducers,
DescribeTransactions, ListTransactions) and WriteTxnMarkers, spoken raw over the wire (the
Debian clients have no calls for them), while confluent-kafka producers create the state."""

import time

from confluent_kafka import Producer

import rawkafka as rk
from helpers import base_conf, create_topic, read_to_end, unique_topic


def flexible_request(api_key, version, body):
    return rk.frame(rk.request_header(api_key, version, 11, flexible=True) + body)


def carray(items):
    return rk.uvarint(len(items) + 1) + b"".join(items)


class FlexReader(rk.Reader):
    def cstring(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def carray(self, fn):
        n = self.uvarint()
        return [] if n == 0 else [fn() for _ in range(n - 1)]


def call(port, api_key, version, body):
    with rk.Conn(port) as c:
        frame = c.request(flexible_request(api_key, version, body))
    r = FlexReader(frame)
    r.i32()  # correlation id
    r.skip_tags()
    return r


def describe_producers(port, topic, partition):
    body = carray([rk.compact_string(topic) + carray([rk.i32(partition)]) + b"\x00"]) + b"\x00"
    r = call(port, 61, 0, body)
    r.i32()

    def producer():
        p = dict(id=r.i64(), epoch=r.i32(), last_sequence=r.i32(), last_timestamp=r.i64(),
                 coordinator_epoch=r.i32(), txn_start=r.i64())
        r.skip_tags()
        return p

    def part():
        out = dict(partition=r.i32(), error=r.i16(), message=r.cstring(), producers=r.carray(producer))
        r.skip_tags()
        return out

    def top():
        out = dict(name=r.cstring(), partitions=r.carray(part))
        r.skip_tags()
        return out

    topics = r.carray(top)
    return topics[0]["partitions"][0]


def list_transactions(port, states=()):
    body = carray([rk.compact_string(s) for s in states]) + carray([]) + b"\x00"
    r = call(port, 66, 0, body)
    r.i32()
    err = r.i16()
    unknown = r.carray(r.cstring)

    def state():
        out = (r.cstring(), r.i64(), r.cstring())
        r.skip_tags()
        return out

    return err, unknown, r.carray(state)


def describe_transactions(port, ids):
    r = call(port, 65, 0, carray([rk.compact_string(i) for i in ids]) + b"\x00")
    r.i32()

    def topic():
        out = (r.cstring(), r.carray(r.i32))
        r.skip_tags()
        return out

    def state():
        out = dict(error=r.i16(), id=r.cstring(), state=r.cstring(), timeout=r.i32(), start=r.i64(),
                   producer_id=r.i64(), epoch=r.i16(), topics=r.carray(topic))
        r.skip_tags()
        return out

    return r.carray(state)


def test_describe_producers_lists_idempotent_producers(broker):
    topic = unique_topic("dp")
    create_topic(broker.bootstrap, topic, 1)
    p = Producer({**base_conf(broker.bootstrap), "enable.idempotence": True})
    for i in range(7):
        p.produce(topic, value=b"x", partition=0)
        p.flush(10)
    part = describe_producers(broker.port, topic, 0)
    assert part["error"] == 0
    assert len(part["producers"]) == 1
    prod = part["producers"][0]
    assert prod["id"] >= 0 and prod["epoch"] == 0
    assert prod["last_sequence"] == 6
    assert prod["txn_start"] == -1
    assert describe_producers(broker.port, "no-such-topic-xyz", 0)["error"] == 3


def test_transactions_are_listed_and_described(broker):
    topic = unique_topic("dt")
    create_topic(broker.bootstrap, topic, 2)
    txn_id = unique_topic("dtx")
    p = Producer({**base_conf(broker.bootstrap), "transactional.id": txn_id})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"a", partition=0)
    p.produce(topic, value=b"b", partition=1)
    p.flush(10)
    [d] = describe_transactions(broker.port, [txn_id])
    assert d["error"] == 0 and d["state"] == "Ongoing"
    assert d["topics"] == [(topic, [0, 1])]
    assert d["start"] > 0
    err, unknown, states = list_transactions(broker.port, ["Ongoing", "Bogus"])
    assert err == 0 and unknown == ["Bogus"]
    assert (txn_id, d["producer_id"], "Ongoing") in states
    # The open transaction shows on the partitions too.
    part = describe_producers(broker.port, topic, 0)
    assert [x["txn_start"] for x in part["producers"] if x["id"] == d["producer_id"]] == [0]
    p.commit_transaction(30)
    [d] = describe_transactions(broker.port, [txn_id])
    assert d["state"] == "CompleteCommit" and d["topics"] == []
    [missing] = describe_transactions(broker.port, ["never-used"])
    assert missing["error"] == 105  # TRANSACTIONAL_ID_NOT_FOUND


def test_write_txn_markers_ends_a_transaction_on_a_partition(broker):
    topic = unique_topic("wtm")
    create_topic(broker.bootstrap, topic, 1)
    with rk.Conn(broker.port) as c:
        pid, epoch, err = c.init_producer_id()
        assert err == 0
        batch = rk.record_batch([(None, b"t1"), (None, b"t2")], attributes=0x10, producer=(pid, epoch, 0))
        body = c.request(rk.produce_request(7, 3, topic, 0, batch, acks=-1))
        assert rk.parse_produce_partition(body[4:], 7) == (0, 0)
    assert read_to_end(broker.bootstrap, topic, 1, "read_committed")[0] == []
    # An abort marker, as a coordinator on another broker would send it.
    marker = (rk.i64(pid) + rk.i16(epoch) + b"\x00" + carray([rk.compact_string(topic) + carray([rk.i32(0)]) + b"\x00"])
              + rk.i32(0) + b"\x00")
    r = call(broker.port, 27, 1, carray([marker]) + b"\x00")

    def part():
        out = (r.i32(), r.i16())
        r.skip_tags()
        return out

    def top():
        out = (r.cstring(), r.carray(part))
        r.skip_tags()
        return out

    def res():
        out = (r.i64(), r.carray(top))
        r.skip_tags()
        return out

    assert r.carray(res) == [(pid, [(topic, [(0, 0)])])]
    assert read_to_end(broker.bootstrap, topic, 1, "read_committed")[0] == []
    assert read_to_end(broker.bootstrap, topic, 1, "read_uncommitted")[0] == [b"t1", b"t2"]
    # The LSO moved past the aborted records and the marker.
    with rk.Conn(broker.port) as c:
        batch = rk.record_batch([(None, b"plain")])
        assert rk.parse_produce_partition(c.request(rk.produce_request(7, 4, topic, 0, batch))[4:], 7) == (0, 3)
    assert read_to_end(broker.bootstrap, topic, 1, "read_committed")[0] == [b"plain"]


def test_idle_transactional_ids_expire(make_broker):
    b = make_broker(overrides={"transactional.id.expiration.ms": "1500",
                               "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"})
    topic = unique_topic("exp")
    create_topic(b.bootstrap, topic, 1)
    txn_id = unique_topic("exp-tx")
    p = Producer({**base_conf(b.bootstrap), "transactional.id": txn_id})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"x", partition=0)
    p.commit_transaction(30)
    [d] = describe_transactions(b.port, [txn_id])
    assert d["state"] == "CompleteCommit"
    first_pid = d["producer_id"]
    deadline = time.monotonic() + 20
    while describe_transactions(b.port, [txn_id])[0]["error"] != 105:
        assert time.monotonic() < deadline, "the idle transactional id never expired"
        time.sleep(0.2)
    # Forgotten for good (the tombstone is replayed), and a new producer starts afresh.
    b.restart()
    assert describe_transactions(b.port, [txn_id])[0]["error"] == 105
    p2 = Producer({**base_conf(b.bootstrap), "transactional.id": txn_id})
    p2.init_transactions(30)
    [d2] = describe_transactions(b.port, [txn_id])
    assert d2["state"] == "Empty" and d2["producer_id"] != first_pid and d2["epoch"] == 0
