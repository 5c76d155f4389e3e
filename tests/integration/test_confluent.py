"""confluent-kafka Python (librdkafka 2.0.2): producing under every acks setting and compression
type, reading back with assign() (no consumer group), the admin API, offsets by time and
watermarks, and the message size limit."""

import os
import time

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import ConfigResource, ConfigSource, NewPartitions, NewTopic

from helpers import (Msg, admin_client, assert_delivered, assert_dense, consume_all, consumer,
                     contents, create_topic, error_code, expected_by_partition, produce, unique_topic,
                     wait_for_topic, wait_for_topic_gone, watermarks)

NUM_PARTITIONS_DEFAULT = 2
ADMIN_TIMEOUT_S = 15


@pytest.fixture(scope="module")
def broker_config():
    return NUM_PARTITIONS_DEFAULT, {}


def mixed_messages(n, tag):
    """Keys (some NULL), values (some NULL, some empty), headers (some absent, some repeated
    names, some binary), a few explicit partitions. (No NULL header values: the
    confluent-kafka 1.7.0 binding mis-counts references to None when it reads them back and
    crashes the interpreter.)"""
    msgs = []
    for i in range(n):
        key = None if i % 11 == 0 else f"key-{i % 7}".encode()
        if i % 13 == 0:
            value = None
        elif i % 17 == 0:
            value = b""
        else:
            value = f"{tag}-{i}-".encode() + b"xyz" * (i % 30)
        if i % 5 == 0:
            headers = None
        elif i % 5 == 1:
            headers = [("idx", str(i).encode()), ("tag", tag.encode())]
        elif i % 5 == 2:
            headers = [("dup", b"a"), ("dup", b"b"), ("empty", b"")]
        else:
            headers = [("idx", str(i).encode()), ("bin", bytes(range(256)))]
        partition = (i // 3) % 3 if i % 4 == 0 else None
        msgs.append(Msg(key=key, value=value, headers=headers, partition=partition))
    return msgs


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("acks", ["all", "1", "0"])
def test_produce_and_read_back(broker, acks, compression):
    topic = unique_topic(f"cf-{acks}-{compression}")
    create_topic(broker.bootstrap, topic, 3)
    msgs = mixed_messages(240, f"{acks}/{compression}")
    results = produce(broker.bootstrap, topic, msgs,
                      {"acks": acks, "compression.type": compression, "linger.ms": 20})
    assert_delivered(results, msgs, acks_zero=(acks == "0"))

    got = consume_all(broker.bootstrap, topic, [0, 1, 2])
    assert_dense(got)
    assert contents(got) == expected_by_partition(msgs, results)
    for recs in got.values():
        for r in recs:
            assert r.timestamp[0] == 1, "TIMESTAMP_CREATE_TIME expected"  # CreateTime
            assert r.timestamp[1] > 0


def test_producer_batches_across_partitions_in_one_request(broker):
    """Many partitions in one Produce request, several batches per partition over time."""
    topic = unique_topic("cf-multi")
    create_topic(broker.bootstrap, topic, 8)
    msgs = [Msg(key=None, value=f"v{i}".encode(), partition=i % 8) for i in range(2000)]
    results = produce(broker.bootstrap, topic, msgs, {"acks": "all", "linger.ms": 50,
                                                      "batch.num.messages": 37})
    assert_delivered(results, msgs)
    got = consume_all(broker.bootstrap, topic, list(range(8)))
    assert_dense(got)
    assert contents(got) == expected_by_partition(msgs, results)
    assert watermarks(broker.bootstrap, topic, range(8)) == {p: (0, 250) for p in range(8)}


def test_consumer_starts_at_explicit_offset(broker):
    topic = unique_topic("cf-seek")
    create_topic(broker.bootstrap, topic, 1)
    msgs = [Msg(value=f"m{i}".encode(), partition=0) for i in range(100)]
    assert_delivered(produce(broker.bootstrap, topic, msgs), msgs)

    c = consumer(broker.bootstrap)
    try:
        c.assign([TopicPartition(topic, 0, 60)])
        seen = []
        deadline = time.monotonic() + 20
        while len(seen) < 40 and time.monotonic() < deadline:
            for m in c.consume(num_messages=100, timeout=0.5):
                if m.error() is None:
                    seen.append((m.offset(), m.value()))
        assert seen == [(o, f"m{o}".encode()) for o in range(60, 100)]
    finally:
        c.close()


def test_fetch_out_of_range_offset(broker):
    """Fetching past the log end gets OFFSET_OUT_OF_RANGE from the broker: with
    auto.offset.reset=error librdkafka surfaces it, with earliest it restarts at 0."""
    topic = unique_topic("cf-oor")
    create_topic(broker.bootstrap, topic, 1)
    msgs = [Msg(value=f"m{i}".encode(), partition=0) for i in range(10)]
    assert_delivered(produce(broker.bootstrap, topic, msgs), msgs)

    c = consumer(broker.bootstrap, {"auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, 0, 500)])
        errors = []
        deadline = time.monotonic() + 20
        while not errors and time.monotonic() < deadline:
            for m in c.consume(num_messages=10, timeout=0.5):
                assert m.error() is not None, f"got a record at offset {m.offset()}"
                if m.error().code() != KafkaError._PARTITION_EOF:
                    errors.append(m.error())
        assert errors, "no error for a fetch far past the log end"
        assert errors[0].code() == KafkaError._AUTO_OFFSET_RESET, errors[0]
        assert "out of range" in errors[0].str().lower(), errors[0]
    finally:
        c.close()

    c = consumer(broker.bootstrap, {"auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, 0, 500)])
        seen = []
        deadline = time.monotonic() + 20
        while len(seen) < 10 and time.monotonic() < deadline:
            for m in c.consume(num_messages=100, timeout=0.5):
                if m.error() is None:
                    seen.append((m.offset(), m.value()))
        assert seen == [(o, f"m{o}".encode()) for o in range(10)]
    finally:
        c.close()


def test_small_fetch_size_still_makes_progress(broker):
    """Records larger than the consumer's per-partition fetch size: the broker still returns
    the first batch whole (KIP-74), so the consumer gets every record."""
    topic = unique_topic("cf-smallfetch")
    create_topic(broker.bootstrap, topic, 1)
    msgs = [Msg(key=f"k{i}".encode(), value=bytes([65 + i]) * 10_000, partition=0)
            for i in range(20)]
    results = produce(broker.bootstrap, topic, msgs, {"linger.ms": 0, "compression.type": "none"})
    assert_delivered(results, msgs)
    got = consume_all(broker.bootstrap, topic, [0], extra={"fetch.message.max.bytes": 1024})
    assert_dense(got)
    assert contents(got) == expected_by_partition(msgs, results)


def test_auto_create_disabled(make_broker):
    b = make_broker(1, {"auto.create.topics.enable": "false"})
    topic = unique_topic("cf-noauto")
    results = produce(b.bootstrap, topic, [Msg(value=b"x")],
                      {"message.timeout.ms": 5000, "topic.metadata.propagation.max.ms": 1000})
    assert results[0].error is not None, "produce to a missing topic succeeded"
    assert topic not in admin_client(b.bootstrap).list_topics(timeout=ADMIN_TIMEOUT_S).topics
    # Explicit creation still works.
    create_topic(b.bootstrap, topic, 1)
    msgs = [Msg(value=b"y", partition=0)]
    assert_delivered(produce(b.bootstrap, topic, msgs), msgs)


def test_metadata(broker):
    admin = admin_client(broker.bootstrap)
    md = admin.list_topics(timeout=ADMIN_TIMEOUT_S)
    assert len(md.brokers) == 1
    (b,) = md.brokers.values()
    assert (b.host, b.port) == ("127.0.0.1", broker.port)
    assert md.controller_id == b.id
    assert md.orig_broker_id == b.id


def test_auto_create_uses_num_partitions(broker):
    topic = unique_topic("cf-auto")
    msgs = [Msg(key=f"k{i}".encode(), value=b"v") for i in range(20)]
    assert_delivered(produce(broker.bootstrap, topic, msgs), msgs)
    t = wait_for_topic(admin_client(broker.bootstrap), topic, NUM_PARTITIONS_DEFAULT)
    assert len(t.partitions) == NUM_PARTITIONS_DEFAULT


def _source(entry):
    src = entry.source
    return ConfigSource(src.value if isinstance(src, ConfigSource) else int(src))


def _topic_config(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    fs = admin.describe_configs([res], request_timeout=ADMIN_TIMEOUT_S)
    return fs[res].result(timeout=ADMIN_TIMEOUT_S)


def test_admin_create_describe_delete(broker):
    admin = admin_client(broker.bootstrap)
    topic = unique_topic("cf-admin")
    fs = admin.create_topics(
        [NewTopic(topic, num_partitions=4, replication_factor=1,
                  config={"retention.ms": "3600000", "cleanup.policy": "delete"})],
        operation_timeout=ADMIN_TIMEOUT_S, request_timeout=ADMIN_TIMEOUT_S)
    assert fs[topic].result(timeout=ADMIN_TIMEOUT_S) is None
    t = wait_for_topic(admin, topic, 4)
    assert sorted(t.partitions) == [0, 1, 2, 3]

    configs = _topic_config(admin, topic)
    assert configs["retention.ms"].value == "3600000"
    assert _source(configs["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert configs["cleanup.policy"].value == "delete"
    assert "segment.bytes" in configs and configs["segment.bytes"].value.isdigit()
    assert _source(configs["segment.bytes"]) != ConfigSource.DYNAMIC_TOPIC_CONFIG

    # Creating it again fails with TOPIC_ALREADY_EXISTS and changes nothing.
    fs = admin.create_topics([NewTopic(topic, num_partitions=9, replication_factor=1)],
                             request_timeout=ADMIN_TIMEOUT_S)
    with pytest.raises(KafkaException) as exc:
        fs[topic].result(timeout=ADMIN_TIMEOUT_S)
    assert error_code(exc.value) == KafkaError.TOPIC_ALREADY_EXISTS
    assert len(wait_for_topic(admin, topic, 4).partitions) == 4

    fs = admin.delete_topics([topic], operation_timeout=ADMIN_TIMEOUT_S,
                             request_timeout=ADMIN_TIMEOUT_S)
    assert fs[topic].result(timeout=ADMIN_TIMEOUT_S) is None
    wait_for_topic_gone(admin, topic)

    fs = admin.delete_topics([topic], request_timeout=ADMIN_TIMEOUT_S)
    with pytest.raises(KafkaException) as exc:
        fs[topic].result(timeout=ADMIN_TIMEOUT_S)
    assert error_code(exc.value) == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_admin_validate_only_and_bad_requests(broker):
    admin = admin_client(broker.bootstrap)
    topic = unique_topic("cf-validate")
    fs = admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)],
                             validate_only=True, request_timeout=ADMIN_TIMEOUT_S)
    assert fs[topic].result(timeout=ADMIN_TIMEOUT_S) is None
    assert topic not in admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics

    bad = [  # (name, partitions, replication factor, expected error)
        (unique_topic("cf-zero"), 0, 1, KafkaError.INVALID_PARTITIONS),
        (unique_topic("cf-rf"), 1, 3, KafkaError.INVALID_REPLICATION_FACTOR),
    ]
    for name, partitions, rf, want in bad:
        fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=rf)],
                                 request_timeout=ADMIN_TIMEOUT_S)
        with pytest.raises(KafkaException) as exc:
            fs[name].result(timeout=ADMIN_TIMEOUT_S)
        assert error_code(exc.value) == want, f"{name}: {exc.value}"
        assert name not in admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics

    name = "bad/topic name"
    fs = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)],
                             request_timeout=ADMIN_TIMEOUT_S)
    with pytest.raises(KafkaException) as exc:
        fs[name].result(timeout=ADMIN_TIMEOUT_S)
    assert error_code(exc.value) == KafkaError.TOPIC_EXCEPTION  # INVALID_TOPIC_EXCEPTION (17)


def test_admin_create_partitions(broker):
    admin = admin_client(broker.bootstrap)
    topic = unique_topic("cf-grow")
    create_topic(broker.bootstrap, topic, 2)
    before = [Msg(value=f"before-{p}".encode(), partition=p) for p in range(2)]
    assert_delivered(produce(broker.bootstrap, topic, before), before)

    fs = admin.create_partitions([NewPartitions(topic, 5)], operation_timeout=ADMIN_TIMEOUT_S,
                                 request_timeout=ADMIN_TIMEOUT_S)
    assert fs[topic].result(timeout=ADMIN_TIMEOUT_S) is None
    wait_for_topic(admin, topic, 5)

    after = [Msg(value=f"after-{p}".encode(), partition=p) for p in range(5)]
    results = produce(broker.bootstrap, topic, after)
    assert_delivered(results, after, check_offsets=False)
    assert [r.offset for r in results] == [1, 1, 0, 0, 0]
    got = consume_all(broker.bootstrap, topic, list(range(5)))
    assert {p: [r.value for r in recs] for p, recs in got.items()} == {
        0: [b"before-0", b"after-0"], 1: [b"before-1", b"after-1"],
        2: [b"after-2"], 3: [b"after-3"], 4: [b"after-4"]}

    # Shrinking is refused.
    fs = admin.create_partitions([NewPartitions(topic, 3)], request_timeout=ADMIN_TIMEOUT_S)
    with pytest.raises(KafkaException) as exc:
        fs[topic].result(timeout=ADMIN_TIMEOUT_S)
    assert error_code(exc.value) == KafkaError.INVALID_PARTITIONS
    assert len(wait_for_topic(admin, topic, 5).partitions) == 5


def test_describe_broker_config(broker):
    admin = admin_client(broker.bootstrap)
    md = admin.list_topics(timeout=ADMIN_TIMEOUT_S)
    (broker_id,) = md.brokers
    res = ConfigResource(ConfigResource.Type.BROKER, str(broker_id))
    fs = admin.describe_configs([res], request_timeout=ADMIN_TIMEOUT_S)
    configs = fs[res].result(timeout=ADMIN_TIMEOUT_S)
    assert configs["num.partitions"].value == str(NUM_PARTITIONS_DEFAULT)
    assert "message.max.bytes" in configs and configs["message.max.bytes"].value.isdigit()


def test_offsets_for_times_and_watermarks(broker):
    topic = unique_topic("cf-times")
    create_topic(broker.bootstrap, topic, 2)
    base = int(time.time() * 1000) - 3_600_000  # an hour ago, in CreateTime
    msgs = [Msg(key=b"k", value=f"t{i}".encode(), partition=0, timestamp=base + 1000 * i)
            for i in range(50)]
    results = produce(broker.bootstrap, topic, msgs, {"linger.ms": 100})
    assert_delivered(results, msgs)

    assert watermarks(broker.bootstrap, topic, [0, 1]) == {0: (0, 50), 1: (0, 0)}

    got = consume_all(broker.bootstrap, topic, [0])
    assert [r.timestamp for r in got[0]] == [(1, base + 1000 * i) for i in range(50)]

    c = consumer(broker.bootstrap)
    try:
        queries = {
            base - 10_000: 0,           # before everything: the first record
            base: 0,
            base + 5000: 5,             # exact match
            base + 5500: 6,             # first record with timestamp >= query
            base + 49_000: 49,
            base + 49_001: -1,          # after everything: no such record (OFFSET_END)
        }
        for ts, want in queries.items():
            (tp,) = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=ADMIN_TIMEOUT_S)
            assert tp.error is None
            assert tp.offset == want, f"timestamp {ts - base:+d}ms: offset {tp.offset}, want {want}"
        (tp,) = c.offsets_for_times([TopicPartition(topic, 1, base)], timeout=ADMIN_TIMEOUT_S)
        assert tp.offset == -1, "empty partition has no offset for any time"
    finally:
        c.close()


def test_message_size_limit(make_broker):
    """The broker enforces message.max.bytes on the record batch: a record that fits is
    stored, one that does not is rejected with MESSAGE_TOO_LARGE. The client's own limit is
    left at its 1 MB default so the broker, not librdkafka, decides."""
    limit = 100_000
    b = make_broker(1, {"message.max.bytes": str(limit)})
    topic = unique_topic("cf-big")
    create_topic(b.bootstrap, topic, 1)
    near = os.urandom(limit - 300)
    over = os.urandom(limit + 5000)
    conf = {"compression.type": "none", "linger.ms": 0, "message.timeout.ms": 20000}

    ok = [Msg(key=b"near", value=near, partition=0)]
    assert_delivered(produce(b.bootstrap, topic, ok, conf), ok)

    results = produce(b.bootstrap, topic, [Msg(key=b"over", value=over, partition=0)], conf)
    assert results[0].error is not None, "record above message.max.bytes was accepted"
    assert results[0].error.code() == KafkaError.MSG_SIZE_TOO_LARGE, results[0].error

    # The partition still works and holds only the record that fit.
    tail = [Msg(key=b"after", value=b"small", partition=0)]
    results = produce(b.bootstrap, topic, tail, conf)
    assert_delivered(results, tail, check_offsets=False)
    assert results[0].offset == 1
    got = consume_all(b.bootstrap, topic, [0], extra={"fetch.message.max.bytes": 2 * limit})
    assert [(r.key, r.value) for r in got[0]] == [(b"near", near), (b"after", b"small")]
