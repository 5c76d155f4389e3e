"""Durability across restarts: clean shutdown (SIGTERM, exit code 0) and crash (SIGKILL). Data
acknowledged with acks=all must be readable afterwards, once per offset, and new writes must
continue after the old log end (no offset reused). Topic metadata survives too."""

import signal
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import ConfigResource, NewPartitions

from helpers import (CLIENT_TIMEOUT_S as ADMIN_TIMEOUT_S, Msg, admin_client, assert_delivered, assert_dense,
                     base_conf, consume_all, contents, create_topic, expected_by_partition,
                     produce, unique_topic, wait_for_topic, wait_for_topic_gone)

PARTITIONS = 3


@pytest.fixture(scope="module")
def broker_config():
    return PARTITIONS, {}


def records(start, n, tag):
    return [Msg(key=f"k{i % 10}".encode(), value=f"{tag}-{i}".encode(),
                headers=[("n", str(i).encode())]) for i in range(start, start + n)]


def log_ends(results):
    """{partition: next offset} after the given (successful) deliveries."""
    ends = {}
    for r in results:
        ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
    return ends


def restart(broker, sig):
    rc = broker.restart(sig)
    if sig == signal.SIGTERM:
        assert rc == 0, f"clean shutdown must exit 0, got {rc}\n{broker.log_tail()}"
    else:
        assert rc == -signal.SIGKILL


def test_sigterm_then_sigkill_keep_acknowledged_data(broker):
    topic = unique_topic("rs")
    create_topic(broker.bootstrap, topic, PARTITIONS)
    conf = {"acks": "all", "compression.type": "lz4", "linger.ms": 5}

    first = records(0, 600, "first")
    r1 = produce(broker.bootstrap, topic, first, conf)
    assert_delivered(r1, first)

    restart(broker, signal.SIGTERM)
    wait_for_topic(admin_client(broker.bootstrap), topic, PARTITIONS)
    got = consume_all(broker.bootstrap, topic, list(range(PARTITIONS)))
    assert_dense(got)
    assert contents(got) == expected_by_partition(first, r1)

    second = records(600, 600, "second")
    r2 = produce(broker.bootstrap, topic, second, conf)
    assert_delivered(r2, second, start=log_ends(r1))

    restart(broker, signal.SIGKILL)
    wait_for_topic(admin_client(broker.bootstrap), topic, PARTITIONS)
    got = consume_all(broker.bootstrap, topic, list(range(PARTITIONS)))
    assert_dense(got)
    assert contents(got) == expected_by_partition(first + second, r1 + r2)

    # The log continues where it ended: no offset handed out twice.
    third = records(1200, 30, "third")
    r3 = produce(broker.bootstrap, topic, third, conf)
    assert_delivered(r3, third, start=log_ends(r1 + r2))


class Acks:
    """Delivery reports of one producer: {(partition, offset): value} acknowledged, errors."""

    def __init__(self):
        self.acked = {}
        self.failed = []

    def on_delivery(self, err, m):
        if err is None:
            self.acked[(m.partition(), m.offset())] = m.value()
        else:
            self.failed.append(err)

    def lost(self, got):
        """The acknowledged records not stored at their offset with their value in `got`
        ({partition: [Rec]}), and what is stored {(partition, offset): value}."""
        stored = {(r.partition, r.offset): r.value for recs in got.values() for r in recs}
        return {po: v for po, v in self.acked.items() if stored.get(po) != v}, stored


def test_sigkill_while_producing(broker):
    """Kill -9 with produce requests in flight. Every record whose delivery was acknowledged
    (before the crash, or after the restart when librdkafka retried it) is at its acknowledged
    offset with its content; unacknowledged records may or may not be there."""
    topic = unique_topic("rs-crash")
    create_topic(broker.bootstrap, topic, 2)
    acks = Acks()
    acked, failed, on_delivery = acks.acked, acks.failed, acks.on_delivery

    p = Producer({**base_conf(broker.bootstrap), "acks": "all", "linger.ms": 2,
                  "message.timeout.ms": 45000, "retry.backoff.ms": 200})
    sent = 0

    def send(n):
        nonlocal sent
        for _ in range(n):
            while True:
                try:
                    p.produce(topic, key=f"k{sent % 7}".encode(), value=f"crash-{sent}".encode(),
                              on_delivery=on_delivery)
                    break
                except BufferError:
                    p.poll(0.05)
            sent += 1
        p.poll(0)

    deadline = time.monotonic() + 30
    while len(acked) < 300:
        assert time.monotonic() < deadline, f"only {len(acked)} acks in 30s; failed: {failed[:5]}"
        send(20)
        p.poll(0.01)
    send(300)  # in flight or queued when the broker dies
    restart(broker, signal.SIGKILL)
    assert p.flush(60) == 0, "producer still has undelivered messages"

    assert len(acked) >= 300
    got = consume_all(broker.bootstrap, topic, [0, 1])
    assert_dense(got)
    lost, stored = acks.lost(got)
    assert not lost, f"{len(lost)} acknowledged records lost or changed, e.g. " \
                     f"{sorted(lost.items())[:5]}"
    produced_values = {f"crash-{i}".encode() for i in range(sent)}
    assert all(v in produced_values for v in stored.values()), "a stored record was never sent"


def _topic_config(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([res], request_timeout=ADMIN_TIMEOUT_S)[res].result(
        timeout=ADMIN_TIMEOUT_S)


def test_topic_metadata_survives_restarts(broker):
    admin = admin_client(broker.bootstrap)
    with_config = unique_topic("rs-cfg")
    create_topic(broker.bootstrap, with_config, 4, config={"retention.ms": "1234567"})
    grown = unique_topic("rs-grown")
    create_topic(broker.bootstrap, grown, 2)
    admin.create_partitions([NewPartitions(grown, 3)],
                            request_timeout=ADMIN_TIMEOUT_S)[grown].result(timeout=ADMIN_TIMEOUT_S)
    wait_for_topic(admin, grown, 3)
    deleted = unique_topic("rs-deleted")
    create_topic(broker.bootstrap, deleted, 1)
    admin.delete_topics([deleted], request_timeout=ADMIN_TIMEOUT_S)[deleted].result(
        timeout=ADMIN_TIMEOUT_S)
    wait_for_topic_gone(admin, deleted)
    auto = unique_topic("rs-auto")
    msgs = [Msg(value=b"x")]
    assert_delivered(produce(broker.bootstrap, auto, msgs), msgs, check_offsets=False)

    for sig in (signal.SIGTERM, signal.SIGKILL):
        restart(broker, sig)
        admin = admin_client(broker.bootstrap)
        wait_for_topic(admin, with_config, 4)
        assert _topic_config(admin, with_config)["retention.ms"].value == "1234567"
        wait_for_topic(admin, grown, 3)
        wait_for_topic(admin, auto, PARTITIONS)
        assert deleted not in admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics, \
            f"deleted topic came back after {signal.Signals(sig).name}"


def test_repeated_sigkill_with_idempotent_producer_keeps_everything_once(broker):
    """kill -9 the broker five times while an idempotent acks=all producer streams: every
    record is stored exactly once, in order, and every acknowledged one at its acknowledged
    offset (the producer state comes back from snapshots and the log after each crash, so
    the retried batches are recognised)."""
    topic = unique_topic("rs-loop")
    create_topic(broker.bootstrap, topic, 2)
    acks = Acks()
    acked, failed, on_delivery = acks.acked, acks.failed, acks.on_delivery

    p = Producer({**base_conf(broker.bootstrap), "enable.idempotence": True, "linger.ms": 2,
                  "message.timeout.ms": 60000, "retry.backoff.ms": 100,
                  "reconnect.backoff.max.ms": 500})
    sent = 0
    for crash in range(5):
        target = len(acked) + 200
        deadline = time.monotonic() + 30
        while len(acked) < target:
            assert time.monotonic() < deadline, f"only {len(acked)} acks; failed: {failed[:5]}"
            for _ in range(20):
                p.produce(topic, value=f"loop-{sent:06d}".encode(), partition=sent % 2,
                          on_delivery=on_delivery)
                sent += 1
            p.poll(0.005)
        for _ in range(100):  # in flight when the broker dies
            p.produce(topic, value=f"loop-{sent:06d}".encode(), partition=sent % 2, on_delivery=on_delivery)
            sent += 1
        p.poll(0)
        restart(broker, signal.SIGKILL)
    assert p.flush(90) == 0, "producer still has undelivered messages"
    assert not failed, failed[:5]
    got = consume_all(broker.bootstrap, topic, [0, 1])
    assert_dense(got)
    for part in (0, 1):
        values = [r.value for r in got[part]]
        assert values == [f"loop-{i:06d}".encode() for i in range(part, sent, 2)], \
            f"partition {part}: {len(values)} records for {len(range(part, sent, 2))} sent"
    lost, _ = acks.lost(got)
    assert not lost, f"{len(lost)} acknowledged records lost or changed, e.g. {sorted(lost.items())[:5]}"
