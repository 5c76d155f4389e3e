"""Produce-side validation that Kafka documents: timestamp bounds of CreateTime
topics (INVALID_TIMESTAMP) and LogAppendTime topics overwriting timestamps."""
import time

from confluent_kafka import KafkaError, TIMESTAMP_LOG_APPEND_TIME

from helpers import Msg, consume_all, create_topic, produce, unique_topic


def test_timestamp_too_old_is_rejected(broker):
    topic = unique_topic("ts-bounds")
    create_topic(broker.bootstrap, topic, 1, config={"message.timestamp.before.max.ms": "60000"})
    now = int(time.time() * 1000)
    results = produce(broker.bootstrap, topic, [Msg(value=b"old", timestamp=now - 3_600_000)],
                      conf={"retries": 0})
    assert results[0].error is not None
    assert results[0].error.code() == KafkaError.INVALID_TIMESTAMP
    ok = produce(broker.bootstrap, topic, [Msg(value=b"fresh", timestamp=now)])
    assert ok[0].error is None and ok[0].offset == 0


def test_log_append_time_overrides_client_timestamp(broker):
    topic = unique_topic("ts-append")
    create_topic(broker.bootstrap, topic, 1, config={"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    results = produce(broker.bootstrap, topic, [Msg(value=b"v", timestamp=1_000)])
    assert results[0].error is None
    recs = consume_all(broker.bootstrap, topic, [0])[0]
    assert len(recs) == 1
    ts_type, ts = recs[0].timestamp
    assert ts_type == TIMESTAMP_LOG_APPEND_TIME
    assert before - 5_000 <= ts <= int(time.time() * 1000) + 5_000
