"""Storage features seen from clients: time-based retention with small segments (old segments
deleted, log start offset moves, a consumer below it gets OFFSET_OUT_OF_RANGE), delayed file
deletion (*.deleted), DeleteRecords and DescribeLogDirs."""

import os
import time

import pytest
from confluent_kafka import KafkaError, TopicPartition

from helpers import (Msg, assert_delivered, consumer, create_topic, produce, unique_topic,
                     watermarks)

CHECK_INTERVAL_MS = 300


@pytest.fixture(scope="module")
def broker_config():
    return 1, {"log.retention.check.interval.ms": str(CHECK_INTERVAL_MS)}


def msgs(n, tag, size=100):
    return [Msg(key=f"k{i}".encode(), value=(f"{tag}-{i}-".encode() + b"x" * size), partition=0)
            for i in range(n)]


def partition_dir(broker, topic, partition=0):
    return broker.log_dirs / f"{topic}-{partition}"


def wait_until(pred, timeout=20, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def test_time_retention_moves_log_start_and_deletes_segments(broker):
    topic = unique_topic("retention")
    create_topic(broker.bootstrap, topic, 1, config={
        "segment.bytes": "1024", "retention.ms": "2000", "file.delete.delay.ms": "1000"})
    batch = msgs(40, "old")
    results = produce(broker.bootstrap, topic, batch, conf={"linger.ms": 0, "batch.num.messages": 1})
    assert_delivered(results, batch)
    d = partition_dir(broker, topic)
    segments = sorted(f for f in os.listdir(d) if f.endswith(".log"))
    assert len(segments) > 3, segments

    # Everything but the active segment expires after retention.ms.
    low = wait_until(lambda: watermarks(broker.bootstrap, topic, [0])[0][0] > 0 and
                     watermarks(broker.bootstrap, topic, [0])[0][0])
    assert low > 0, "log start offset never moved"
    low, high = watermarks(broker.bootstrap, topic, [0])[0]
    assert high == 40
    assert low <= 40
    remaining = sorted(f for f in os.listdir(d) if f.endswith(".log"))
    assert segments[0] not in remaining
    assert f"{int(low):020d}.log" == remaining[0], (low, remaining)

    # Deleted segments linger as *.deleted for file.delete.delay.ms, then go.
    assert wait_until(lambda: not any(f.endswith(".deleted") for f in os.listdir(d)), timeout=15), \
        sorted(os.listdir(d))

    # A consumer positioned below the log start offset: OFFSET_OUT_OF_RANGE (auto.offset.reset
    # = error turns it into an error event instead of a silent reset).
    c = consumer(broker.bootstrap, {"auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 15
        err = None
        while err is None and time.monotonic() < deadline:
            for m in c.consume(num_messages=100, timeout=0.5):
                e = m.error()
                if e is None:
                    assert m.offset() >= low, "a record below the log start offset was returned"
                    continue
                if e.code() == KafkaError._PARTITION_EOF:
                    continue
                err = e
                break
        assert err is not None, "no error for a fetch below the log start offset"
        assert err.code() in (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET), err
        assert "out of range" in str(err).lower(), err
    finally:
        c.close()


def test_retention_keeps_recent_data(broker):
    topic = unique_topic("retention-keep")
    create_topic(broker.bootstrap, topic, 1, config={"segment.bytes": "1024"})
    batch = msgs(30, "keep")
    assert_delivered(produce(broker.bootstrap, topic, batch, conf={"linger.ms": 0}), batch)
    time.sleep(CHECK_INTERVAL_MS * 3 / 1000)
    assert watermarks(broker.bootstrap, topic, [0])[0] == (0, 30)
