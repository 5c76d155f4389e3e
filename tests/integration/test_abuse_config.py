"""Issue 18, finding 5: config values outside Kafka's valid ranges are refused on every path
(start-up, CreateTopics, AlterConfigs, IncrementalAlterConfigs) with INVALID_CONFIG (40) and a
message naming the key, and the smallest values Kafka accepts still work end to end.

Clients: confluent-kafka's AdminClient (create_topics, alter_configs) and a raw
IncrementalAlterConfigs v0 encoder (the Debian binding has no incremental_alter_configs)."""

import subprocess

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import ConfigResource, NewTopic

import rawkafka as rk
from conftest import SAMSA_BIN, Broker
from helpers import (CLIENT_TIMEOUT_S, Msg, admin_client, assert_delivered, consume_all, create_topic,
                     produce, unique_topic)

INVALID_CONFIG = 40
INVALID_REQUEST = 42
TOPIC, BROKER = 2, 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def create_error(bootstrap, config, validate_only=False):
    """create_topics with `config` -> the KafkaError (None on success)."""
    admin = admin_client(bootstrap)
    topic = unique_topic("badcfg")
    fut = admin.create_topics([NewTopic(topic, 1, 1, config=config)], validate_only=validate_only,
                              request_timeout=CLIENT_TIMEOUT_S)[topic]
    try:
        fut.result(timeout=CLIENT_TIMEOUT_S + 5)
        return None
    except KafkaException as e:
        return e.args[0]


# The values named in the finding, and one value just outside each boundary Kafka documents,
# for every kind of validator (range, enum, list, boolean, number parsing, gzip level).
BAD_TOPIC_CONFIGS = [
    ({"segment.bytes": "13"}, "segment.bytes"),
    ({"max.message.bytes": "-1"}, "max.message.bytes"),
    ({"segment.index.bytes": "3"}, "segment.index.bytes"),
    ({"segment.ms": "0"}, "segment.ms"),
    ({"retention.ms": "-2"}, "retention.ms"),
    ({"min.insync.replicas": "0"}, "min.insync.replicas"),
    ({"min.cleanable.dirty.ratio": "1.5"}, "min.cleanable.dirty.ratio"),
    ({"cleanup.policy": "compact,shred"}, "cleanup.policy"),
    ({"compression.type": "brotli"}, "compression.type"),
    ({"compression.gzip.level": "0"}, "compression.gzip.level"),
    ({"message.timestamp.type": "logappendtime"}, "message.timestamp.type"),
    ({"preallocate": "yes"}, "preallocate"),
    ({"flush.messages": "0"}, "flush.messages"),
    ({"segment.bytes": "2147483648"}, "segment.bytes"),
    ({"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "9"}, "min.compaction.lag.ms"),
    ({"remote.storage.enable": "true"}, "remote"),
]


@pytest.mark.parametrize("config,key", BAD_TOPIC_CONFIGS, ids=[k for _, k in BAD_TOPIC_CONFIGS])
def test_create_topics_refuses_out_of_range_configs(broker, config, key):
    for validate_only in (False, True):
        err = create_error(broker.bootstrap, config, validate_only)
        assert err is not None, f"{config} accepted (validate_only={validate_only})"
        assert err.code() == INVALID_CONFIG, err
        assert key in err.str(), err


def test_alter_configs_refuses_out_of_range_topic_configs(broker):
    topic = unique_topic("alter")
    create_topic(broker.bootstrap, topic, 1, config={"min.compaction.lag.ms": "100"})
    admin = admin_client(broker.bootstrap)
    for config, key in BAD_TOPIC_CONFIGS:
        if "min.compaction.lag.ms" in config:
            continue  # the kept override below covers the rule
        fut = admin.alter_configs([ConfigResource("topic", topic, set_config=config)],
                                  request_timeout=CLIENT_TIMEOUT_S)
        with pytest.raises(KafkaException) as exc:
            list(fut.values())[0].result(timeout=CLIENT_TIMEOUT_S + 5)
        assert exc.value.args[0].code() == INVALID_CONFIG, (config, exc.value)
        assert key in exc.value.args[0].str()
    # AlterConfigs replaces the whole set, so this drops min.compaction.lag.ms: accepted.
    fut = admin.alter_configs([ConfigResource("topic", topic, set_config={"max.compaction.lag.ms": "50"})],
                              request_timeout=CLIENT_TIMEOUT_S)
    list(fut.values())[0].result(timeout=CLIENT_TIMEOUT_S + 5)


# ---- IncrementalAlterConfigs over a raw socket ---------------------------------------------------


def incremental_alter(port, resource_type, name, ops, validate_only=False):
    """IncrementalAlterConfigs v0 with `ops` = [(key, op, value)] -> (error_code, message)."""
    body = rk.i32(1) + rk.i8(resource_type) + rk.string(name) + rk.i32(len(ops))
    for key, op, value in ops:
        body += rk.string(key) + rk.i8(op) + rk.string(value)
    body += rk.i8(1 if validate_only else 0)
    with rk.Conn(port, timeout=CLIENT_TIMEOUT_S) as c:
        r = rk.Reader(c.request(rk.frame(rk.request_header(44, 0, 5) + body)))
    assert r.i32() == 5
    r.i32()  # throttle
    assert r.i32() == 1
    err, msg = r.i16(), r.string()
    assert r.take(1) is not None and r.string() == name
    assert r.remaining() == 0
    return err, msg


def describe(bootstrap, resource):
    admin = admin_client(bootstrap)
    fut = admin.describe_configs([resource], request_timeout=CLIENT_TIMEOUT_S)
    return {k: v.value for k, v in list(fut.values())[0].result(timeout=CLIENT_TIMEOUT_S + 5).items()}


def test_incremental_alter_topic_refuses_bad_values_and_keeps_cross_key_rules(broker):
    topic = unique_topic("incr")
    create_topic(broker.bootstrap, topic, 1, config={"min.compaction.lag.ms": "100"})
    for config, key in BAD_TOPIC_CONFIGS:
        ops = [(k, SET, v) for k, v in config.items()]
        err, msg = incremental_alter(broker.port, TOPIC, topic, ops)
        assert (err, key in (msg or "")) == (INVALID_CONFIG, True), (config, err, msg)
    # The kept override takes part in the rule: max below the existing min is refused.
    err, msg = incremental_alter(broker.port, TOPIC, topic, [("max.compaction.lag.ms", SET, "50")])
    assert err == INVALID_CONFIG and "min.compaction.lag.ms (100) > max.compaction.lag.ms (50)" in msg, msg
    # APPEND / SUBTRACT only on lists, starting from the default when there is no override.
    err, msg = incremental_alter(broker.port, TOPIC, topic, [("retention.ms", APPEND, "5")])
    assert (err, msg) == (INVALID_CONFIG, "Can't APPEND to key retention.ms because its type is not LIST.")
    err, msg = incremental_alter(broker.port, TOPIC, topic, [("cleanup.policy", APPEND, "shred")])
    assert err == INVALID_CONFIG and "cleanup.policy" in msg
    err, msg = incremental_alter(broker.port, TOPIC, topic, [("cleanup.policy", APPEND, "compact")])
    assert err == 0, msg
    assert describe(broker.bootstrap, ConfigResource("topic", topic))["cleanup.policy"] == "delete,compact"
    # A null value for SET is no DELETE, and a key twice is refused (Kafka: INVALID_REQUEST).
    err, msg = incremental_alter(broker.port, TOPIC, topic, [("retention.ms", SET, None)])
    assert err == INVALID_REQUEST, msg
    err, msg = incremental_alter(broker.port, TOPIC, topic,
                                 [("retention.ms", SET, "1000"), ("retention.ms", SET, "2000")])
    assert err == INVALID_REQUEST, msg
    assert describe(broker.bootstrap, ConfigResource("topic", topic))["min.compaction.lag.ms"] == "100"


BAD_BROKER_CONFIGS = [
    ("log.cleaner.threads", "0"),
    ("log.cleaner.io.buffer.size", "-1"),
    ("message.max.bytes", "-1"),
    ("log.segment.bytes", "13"),
    ("log.retention.ms", "0"),
    ("log.roll.ms", "0"),
    ("log.cleaner.min.cleanable.ratio", "2"),
    ("compression.type", "brotli"),
    ("log.cleanup.policy", "shred"),
    ("log.message.timestamp.type", "Now"),
    ("log.cleaner.dedupe.buffer.size", "1048576"),
    ("max.connections.per.ip", "0"),
    ("max.connections.per.ip.overrides", "nohost"),
]


@pytest.mark.parametrize("key,value", BAD_BROKER_CONFIGS, ids=[k for k, _ in BAD_BROKER_CONFIGS])
def test_dynamic_broker_configs_refuse_bad_values(broker, key, value):
    for resource in ("", "1"):
        err, msg = incremental_alter(broker.port, BROKER, resource, [(key, SET, value)])
        assert err == INVALID_CONFIG and key.split(".")[-1] in (msg or ""), (resource, err, msg)
    admin = admin_client(broker.bootstrap)
    fut = admin.alter_configs([ConfigResource("broker", "1", set_config={key: value})],
                              request_timeout=CLIENT_TIMEOUT_S)
    with pytest.raises(KafkaException) as exc:
        list(fut.values())[0].result(timeout=CLIENT_TIMEOUT_S + 5)
    assert exc.value.args[0].code() == INVALID_CONFIG, exc.value


def test_dynamic_broker_related_keys_change_together(broker):
    err, msg = incremental_alter(broker.port, BROKER, "", [("log.cleaner.min.compaction.lag.ms", SET, "10"),
                                                           ("log.cleaner.max.compaction.lag.ms", SET, "9")])
    assert err == INVALID_CONFIG and "max.compaction.lag.ms (9)" in msg, msg
    err, msg = incremental_alter(broker.port, BROKER, "", [("log.retention.bytes", APPEND, "1")])
    assert (err, msg) == (INVALID_CONFIG, "Config value append is not allowed for config key: log.retention.bytes")
    err, msg = incremental_alter(broker.port, BROKER, "", [("log.cleaner.threads", SET, "2")])
    assert err == 0, msg


# ---- start-up ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key,value,expect", [
    ("log.cleaner.threads", "0", "Log cleaner threads should be at least 1"),
    ("log.cleaner.io.buffer.size", "-1", "Value must be at least 0"),
    ("log.segment.bytes", "13", "Value must be at least 14"),
    ("message.max.bytes", "-1", "Value must be at least 0"),
    ("log.retention.ms", "0", "unlimited (-1) or, greater than or equal to 1"),
    ("num.io.threads", "0", "Value must be at least 1"),
    ("log.cleanup.policy", "shred", "String must be one of: compact, delete"),
    ("auto.create.topics.enable", "maybe", "Expected value to be either true or false"),
    ("replica.fetch.wait.max.ms", "60000", "replica.fetch.wait.max.ms"),
])
def test_start_with_bad_override_exits_naming_the_key(tmp_path, key, value, expect):
    b = Broker(tmp_path, overrides={key: value})
    proc = subprocess.run(b.command(), cwd=tmp_path, capture_output=True, timeout=15)
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode != 0, out
    assert key in out and expect in out, out


# ---- the smallest values Kafka accepts still work ------------------------------------------------


def test_smallest_segment_bytes_with_batches_larger_than_a_segment(broker):
    """segment.bytes=14 (Kafka 3.9's minimum) with 100-byte+ batches: every batch gets a segment of
    its own, every produce is acknowledged and everything reads back in order."""
    topic = unique_topic("seg14")
    create_topic(broker.bootstrap, topic, 1, config={"segment.bytes": "14", "segment.index.bytes": "4",
                                                     "index.interval.bytes": "0"})
    msgs = [Msg(key=f"k{i}".encode(), value=(b"v%04d" % i) * 40, partition=0) for i in range(300)]
    results = produce(broker.bootstrap, topic, msgs, conf={"linger.ms": 0, "batch.num.messages": 1, "acks": "all"})
    assert_delivered(results, msgs)
    records = consume_all(broker.bootstrap, topic, [0])[0]
    assert [r.value for r in records] == [m.value for m in msgs]
    assert [r.offset for r in records] == list(range(len(msgs)))
    seg_dir = broker.log_dirs / f"{topic}-0"
    logs = sorted(p.name for p in seg_dir.glob("*.log"))
    print(f"segment.bytes=14: {len(msgs)} records in {len(logs)} segments")
    assert len(logs) > 1


def test_max_message_bytes_zero_refuses_every_batch_like_kafka(broker):
    """max.message.bytes=0 is in Kafka's range: every batch is MESSAGE_TOO_LARGE (10); the
    broker stays healthy and other topics are unaffected."""
    topic = unique_topic("mmb0")
    create_topic(broker.bootstrap, topic, 1, config={"max.message.bytes": "0"})
    results = produce(broker.bootstrap, topic, [Msg(value=b"x", partition=0)],
                      conf={"message.timeout.ms": 5000, "retries": 0})
    assert results[0].error is not None and results[0].error.code() == KafkaError.MSG_SIZE_TOO_LARGE, results
    other = unique_topic("ok")
    create_topic(broker.bootstrap, other, 1, config={"retention.bytes": "-5"})
    msgs = [Msg(value=b"y%d" % i, partition=0) for i in range(10)]
    assert_delivered(produce(broker.bootstrap, other, msgs), msgs)
    assert [r.value for r in consume_all(broker.bootstrap, other, [0])[0]] == [m.value for m in msgs]
