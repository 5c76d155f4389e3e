"""kafka-python 2.0.2 against the broker: version detection from ApiVersions v0, KafkaProducer
with each compression type and acks setting, KafkaConsumer with assign()+seek_to_beginning (no
group), and KafkaAdminClient topic administration.

kafka-python's blocking loops have no timeouts of their own in places; the conftest watchdog
turns such a hang into a failure."""

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from helpers import consume_all, contents, unique_topic

TIMEOUT_MS = 15000


@pytest.fixture(scope="module")
def broker_config():
    return 1, {}


@pytest.fixture(scope="module")
def admin(broker):
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_MS,
                         api_version_auto_timeout_ms=10000, client_id="samsa-it-admin")
    yield a
    a.close()


def wait_partitions(admin, topic, count, timeout=15):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        (last,) = admin.describe_topics([topic])
        if last["error_code"] == 0 and len(last["partitions"]) == count and \
                all(p["leader"] >= 0 for p in last["partitions"]):
            return last
        time.sleep(0.1)
    raise AssertionError(f"{topic}: expected {count} partitions with leaders, got {last}")


def create(admin, topic, partitions, configs=None):
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                  topic_configs=configs or {})], timeout_ms=TIMEOUT_MS)
    return wait_partitions(admin, topic, partitions)


def producer(broker, **conf):
    return KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_MS,
                         max_block_ms=TIMEOUT_MS, api_version_auto_timeout_ms=10000,
                         retries=0, **conf)


def kp_consume_all(broker, topic, partitions, timeout=30):
    """{partition: [ConsumerRecord]} from the beginning up to the end offsets read first."""
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, auto_offset_reset="earliest",
                      request_timeout_ms=20000, fetch_max_wait_ms=100,
                      api_version_auto_timeout_ms=10000)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        out = {p: [] for p in partitions}
        done = {tp.partition for tp in tps if ends[tp] == 0}
        deadline = time.monotonic() + timeout
        while len(done) < len(partitions):
            assert time.monotonic() < deadline, \
                f"timed out: got {[len(v) for v in out.values()]}, end offsets {ends}"
            for tp, recs in c.poll(timeout_ms=500, max_records=1000).items():
                for r in recs:
                    out[tp.partition].append(r)
                    if r.offset >= ends[tp] - 1:
                        done.add(tp.partition)
        return out
    finally:
        c.close(autocommit=False)


def test_broker_version_detected_as_modern(broker):
    p = producer(broker)
    try:
        # kafka-python guesses the broker's release from the ApiVersions v0 answer; anything
        # below 0.11 would mean no record batches, headers or Produce v3+.
        assert p.config["api_version"] >= (0, 11, 0), p.config["api_version"]
    finally:
        p.close(timeout=10)


def messages(n, tag):
    out = []
    for i in range(n):
        key = None if i % 9 == 0 else f"key-{i % 6}".encode()
        # kafka-python refuses a record with neither key nor value: NULL values only where
        # there is a key.
        value = None if i % 10 == 5 and key is not None else \
            f"{tag}-{i}-".encode() + b"q" * (i % 64)
        headers = [("i", str(i).encode()), ("tag", tag.encode())] if i % 2 else []
        partition = i % 3 if i % 4 == 0 else None
        out.append((key, value, headers, partition))
    return out


@pytest.mark.parametrize("compression", [None, "gzip", "snappy", "lz4"])
@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_produce_and_read_back(broker, admin, acks, compression):
    topic = unique_topic(f"kp-{acks}-{compression}")
    create(admin, topic, 3)
    msgs = messages(150, f"{acks}/{compression}")
    p = producer(broker, acks=acks, compression_type=compression, linger_ms=10)
    try:
        futures = [p.send(topic, key=k, value=v, headers=h, partition=part)
                   for k, v, h, part in msgs]
        p.flush(timeout=30)
        metas = [f.get(timeout=20) for f in futures]
    finally:
        p.close(timeout=10)

    expected = {}
    for (k, v, h, part), md in zip(msgs, metas):
        if part is not None:
            assert md.partition == part
        expected.setdefault(md.partition, []).append((k, v, h))
    if acks != 0:
        per_partition = {}
        for md in metas:
            per_partition.setdefault(md.partition, []).append(md.offset)
        for part, offsets in per_partition.items():
            assert offsets == list(range(len(offsets))), f"partition {part}: {offsets[:20]}"

    got = kp_consume_all(broker, topic, [0, 1, 2])
    for part, recs in got.items():
        assert [r.offset for r in recs] == list(range(len(recs)))
    assert {part: [(r.key, r.value, list(r.headers)) for r in recs]
            for part, recs in got.items() if recs} == expected

    # The same data as librdkafka sees it (CRCs checked by the client).
    assert contents(consume_all(broker.bootstrap, topic, [0, 1, 2])) == expected


def test_seek_to_offset_and_end_offsets(broker, admin):
    topic = unique_topic("kp-seek")
    create(admin, topic, 1)
    p = producer(broker, acks="all")
    try:
        for i in range(40):
            p.send(topic, value=f"v{i}".encode(), partition=0)
        p.flush(timeout=30)
    finally:
        p.close(timeout=10)
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, request_timeout_ms=20000, fetch_max_wait_ms=100)
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        assert c.end_offsets([tp]) == {tp: 40}
        assert c.beginning_offsets([tp]) == {tp: 0}
        c.seek(tp, 25)
        seen = []
        deadline = time.monotonic() + 20
        while len(seen) < 15 and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                seen += [(r.offset, r.value) for r in recs]
        assert seen == [(o, f"v{o}".encode()) for o in range(25, 40)]
    finally:
        c.close(autocommit=False)


def test_admin_topics(broker, admin):
    topic = unique_topic("kp-admin")
    md = create(admin, topic, 3, {"retention.ms": "7200000"})
    assert sorted(p["partition"] for p in md["partitions"]) == [0, 1, 2]
    assert topic in admin.list_topics()

    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)],
                            timeout_ms=TIMEOUT_MS)

    admin.create_partitions({topic: NewPartitions(total_count=5)}, timeout_ms=TIMEOUT_MS)
    wait_partitions(admin, topic, 5)

    (resp,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    (resource,) = resp.resources
    error_code, _msg, _rtype, name, entries = resource[:5]
    assert error_code == 0 and name == topic
    values = {e[0]: e[1] for e in entries}
    assert values.get("retention.ms") == "7200000", values

    admin.delete_topics([topic], timeout_ms=TIMEOUT_MS)
    deadline = time.monotonic() + 15
    while topic in admin.list_topics():
        assert time.monotonic() < deadline, f"{topic} still listed after delete"
        time.sleep(0.1)
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics([topic], timeout_ms=TIMEOUT_MS)
