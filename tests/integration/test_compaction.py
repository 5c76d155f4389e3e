"""Log compaction (cleanup.policy=compact) against a real broker: the cleaner shrinks the log on
disk while a consumer from the beginning still sees the last value of every key (offsets kept,
now sparse), tombstones are kept for delete.retention.ms and then removed, a compacted topic
refuses records without a key, and cleaning carries on across a kill -9."""

import os
import signal
import threading
import time

import pytest
from confluent_kafka import KafkaError, Producer

from helpers import (admin_client, base_conf, consume_all, create_topic, unique_topic, wait_for_topic,
                     wait_for_topic_gone)

SEGMENT_BYTES = 64 * 1024
CLEAN_DEADLINE_S = 90


@pytest.fixture(scope="module")
def broker_config():
    return 1, {"log.cleaner.backoff.ms": "200"}


def compacted(extra=None):
    return {"cleanup.policy": "compact", "segment.bytes": str(SEGMENT_BYTES), "segment.ms": "3000",
            "min.cleanable.dirty.ratio": "0.01", **(extra or {})}


def produce_updates(bootstrap, topic, updates, on_delivery=None):
    """Produces (key, value) pairs in order (value None = tombstone); returns the delivery errors
    (or calls `on_delivery(err, msg)` instead of collecting them)."""
    p = Producer({**base_conf(bootstrap), "linger.ms": 20, "acks": "all", "compression.type": "lz4", "batch.size": 16384,
                  "message.timeout.ms": 60000})
    errors = []

    def collect(err, _msg):
        if err is not None:
            errors.append(err)

    on_delivery = on_delivery or collect

    for key, value in updates:
        while True:
            try:
                p.produce(topic, key=key, value=value, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(90) == 0
    return errors


def log_dir(broker, topic):
    return broker.log_dirs / f"{topic}-0"


def disk_bytes(broker, topic):
    total = 0
    for f in log_dir(broker, topic).glob("*.log"):
        try:
            total += f.stat().st_size
        except FileNotFoundError:
            pass  # the cleaner swapped it away between the listing and the stat
    return total


def wait_until_shrunk(broker, topic, below):
    deadline = time.monotonic() + CLEAN_DEADLINE_S
    size = disk_bytes(broker, topic)
    while size >= below:
        assert time.monotonic() < deadline, (
            f"{topic} still {size} bytes on disk after {CLEAN_DEADLINE_S}s (want < {below})\n{broker.log_tail()}")
        time.sleep(0.25)
        size = disk_bytes(broker, topic)
    return size


def wait_compacted(broker, topic, expected, max_records):
    """Reads the topic from the beginning until fewer than `max_records` records are left; at
    every read, whatever the cleaner was doing, each key's last value must be `expected`."""
    deadline = time.monotonic() + CLEAN_DEADLINE_S
    while True:
        got = consume_all(broker.bootstrap, topic, [0], timeout=60)[0]
        assert last_values(got) == expected, "a consumer must always see each key's last value"
        offsets = [r.offset for r in got]
        assert offsets == sorted(set(offsets)), "offsets must increase"
        if len(got) < max_records:
            return got
        assert time.monotonic() < deadline, (
            f"{len(got)} records of {topic} left after {CLEAN_DEADLINE_S}s\n{broker.log_tail()}")
        time.sleep(0.5)


def last_values(records):
    last = {}
    for r in records:
        last[r.key] = r.value
    return last


def updates(n, keys, tag):
    return [(f"key-{i % keys:04d}".encode(), f"{tag}-{i:06d}-".encode() + b"x" * 40) for i in range(n)]


def test_compaction_keeps_last_value_per_key(broker):
    topic = unique_topic("compact")
    create_topic(broker.bootstrap, topic, 1, compacted())
    sent = updates(100_000, 1000, "v")
    assert produce_updates(broker.bootstrap, topic, sent) == []
    size = wait_until_shrunk(broker, topic, 4 * SEGMENT_BYTES)
    got = wait_compacted(broker, topic, dict(sent), 20_000)
    assert got[-1].offset == 99_999, "the last record (active segment) is never cleaned"
    assert size < 4 * SEGMENT_BYTES
    # A record's offset is still the one it was produced at.
    for r in got[:200]:
        assert r.value.startswith(f"v-{r.offset:06d}-".encode())
    cp = (broker.log_dirs / "cleaner-offset-checkpoint").read_text().splitlines()
    assert cp[0] == "0" and int(cp[1]) == len(cp) - 2
    assert any(line.startswith(f"{topic} 0 ") for line in cp[2:])


def test_tombstones_kept_for_delete_retention_then_removed(broker):
    kept = unique_topic("tomb-kept")
    gone = unique_topic("tomb-gone")
    create_topic(broker.bootstrap, kept, 1, compacted())  # delete.retention.ms: 1 day
    create_topic(broker.bootstrap, gone, 1, compacted({"delete.retention.ms": "1000"}))
    first = updates(2000, 100, "v")
    deletes = [(f"key-{k:04d}".encode(), None) for k in range(50)]
    filler = updates(6000, 500, "f")
    filler = [(b"filler-" + k, v) for k, v in filler]
    for topic in (kept, gone):
        assert produce_updates(broker.bootstrap, topic, first + deletes + filler) == []
    # Segments roll only on an append: one more record after segment.ms seals what came
    # before, however fast it was produced, so all of it is cleanable.
    time.sleep(3.5)
    roll = [(b"roll", b"r")]
    for topic in (kept, gone):
        assert produce_updates(broker.bootstrap, topic, roll) == []
    expected = dict(first + deletes + filler + roll)
    got = wait_compacted(broker, kept, expected, 4_000)
    last = last_values(got)
    for k in range(100):
        key = f"key-{k:04d}".encode()
        if k < 50:
            assert key in last and last[key] is None, f"tombstone of {key} must be kept"
            assert [r.value for r in got if r.key == key] == [None], "older values of a deleted key go"
        else:
            assert last[key] == dict(first)[key]

    # With delete.retention.ms=1000 the tombstones themselves disappear.
    deleted_keys = {k for k, _ in deletes}
    deadline = time.monotonic() + CLEAN_DEADLINE_S
    while True:
        got = consume_all(broker.bootstrap, gone, [0], timeout=60)[0]
        deleted = [r for r in got if r.key in deleted_keys]
        if not deleted:
            break
        assert time.monotonic() < deadline, f"{len(deleted)} records of deleted keys remain\n{broker.log_tail()}"
        time.sleep(0.5)
    last = last_values(got)
    for k in range(50, 100):
        key = f"key-{k:04d}".encode()
        assert last[key] == dict(first)[key]


def test_keyless_record_rejected_on_compacted_topic(broker):
    topic = unique_topic("compact-nokey")
    create_topic(broker.bootstrap, topic, 1, compacted())
    errors = produce_updates(broker.bootstrap, topic, [(None, b"no key")])
    assert len(errors) == 1
    # librdkafka 2.0 speaks Produce v7: Kafka answers CORRUPT_MESSAGE before v8, INVALID_RECORD after.
    assert errors[0].code() in (KafkaError.INVALID_RECORD, KafkaError.INVALID_MSG), errors[0]
    assert produce_updates(broker.bootstrap, topic, [(b"k", b"with key")]) == []
    got = consume_all(broker.bootstrap, topic, [0])[0]
    assert [(r.key, r.value) for r in got] == [(b"k", b"with key")]
    # A topic that is not compacted takes keyless records as before.
    plain = unique_topic("plain-nokey")
    create_topic(broker.bootstrap, plain, 1)
    assert produce_updates(broker.bootstrap, plain, [(None, b"no key")]) == []


def order_of(value):
    """Produce order of an updates() value: round "a" before round "b"."""
    tag, index, _ = value.split(b"-", 2)
    return (tag, int(index))


def produce_round_watching(broker, topic, sent):
    """Produces `sent` on a thread while this thread watches the log dir and kills the broker
    (SIGKILL) as soon as a cleaning is writing or swapping (.cleaned / .swap files), then starts
    it again with the cleaner off (so that what recovery left can be inspected). Returns ({key: order of its last acknowledged value}, whether a swap was caught)."""
    acked = {}
    lock = threading.Lock()

    def on_delivery(err, msg):
        if err is None:
            with lock:
                o = order_of(msg.value())
                acked[msg.key()] = max(acked.get(msg.key(), o), o)

    t = threading.Thread(target=produce_updates, args=(broker.bootstrap, topic, sent, on_delivery))
    t.start()
    caught = False
    deadline = time.monotonic() + 30
    d = log_dir(broker, topic)
    while time.monotonic() < deadline and t.is_alive():
        if any(n.endswith((".cleaned", ".swap")) for n in os.listdir(d)):
            caught = True
            break
        time.sleep(0.001)
    broker.proc.kill()
    broker.proc.wait()
    broker.overrides["log.cleaner.enable"] = "false"
    broker.start()
    t.join()
    return acked, caught


def test_cleaning_survives_kill_9(broker):
    try:
        cleaning_across_kill_9(broker)
    finally:
        if broker.overrides.pop("log.cleaner.enable", None) is not None:
            broker.restart(signal.SIGTERM)


def cleaning_across_kill_9(broker):
    topic = unique_topic("compact-restart")
    create_topic(broker.bootstrap, topic, 1, compacted())
    first = updates(40_000, 500, "a")
    assert produce_updates(broker.bootstrap, topic, first) == []
    acked, caught = produce_round_watching(broker, topic, updates(40_000, 500, "b"))
    print(f"kill -9 {'during' if caught else 'not during'} a cleaning")
    wait_for_topic(admin_client(broker.bootstrap), topic, 1)
    leftovers = [f.name for f in log_dir(broker, topic).iterdir() if f.name.endswith((".cleaned", ".swap"))]
    assert leftovers == [], f"interrupted swaps must be finished or rolled back at start: {leftovers}"
    got = consume_all(broker.bootstrap, topic, [0], timeout=60)[0]
    last = last_values(got)
    assert set(last) == {k for k, _ in first}
    for key, value in last.items():
        assert order_of(value) >= acked.get(key, order_of(dict(first)[key])), (
            f"{key}: last value {value} is older than an acknowledged one")

    # The cleaner carries on after the crash, and a clean restart keeps its work.
    del broker.overrides["log.cleaner.enable"]
    broker.restart(signal.SIGTERM)
    wait_until_shrunk(broker, topic, 4 * SEGMENT_BYTES)
    wait_compacted(broker, topic, last, 20_000)
    broker.restart(signal.SIGTERM)
    wait_for_topic(admin_client(broker.bootstrap), topic, 1)
    cp = (broker.log_dirs / "cleaner-offset-checkpoint").read_text()
    assert f"{topic} 0 " in cp
    got = consume_all(broker.bootstrap, topic, [0], timeout=60)[0]
    assert last_values(got) == last


def test_delete_and_recreate_while_cleaning(broker):
    topic = unique_topic("compact-del")
    create_topic(broker.bootstrap, topic, 1, compacted())
    assert produce_updates(broker.bootstrap, topic, updates(40_000, 500, "a")) == []
    admin = admin_client(broker.bootstrap)
    admin.delete_topics([topic], operation_timeout=15)[topic].result(timeout=20)
    wait_for_topic_gone(admin, topic)
    create_topic(broker.bootstrap, topic, 1, compacted())
    fresh = updates(1000, 100, "n")
    assert produce_updates(broker.bootstrap, topic, fresh) == []
    broker.restart(signal.SIGTERM)
    wait_for_topic(admin_client(broker.bootstrap), topic, 1)
    got = consume_all(broker.bootstrap, topic, [0], timeout=60)[0]
    assert all(r.value.startswith(b"n-") for r in got), "nothing of the deleted topic may come back"
    assert last_values(got) == dict(fresh)
