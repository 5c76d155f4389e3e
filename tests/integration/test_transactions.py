"""Transactions against a real broker: exactly-once consume-transform-produce with
confluent-kafka (librdkafka 2.0.2), fencing of killed producers, aborts, read_committed vs
read_uncommitted, transaction timeouts, and a broker killed in the middle of a transaction."""

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from helpers import base_conf, create_topic, read_to_end, unique_topic

HERE = Path(__file__).resolve().parent
PARTITIONS = 3


@pytest.fixture(scope="module")
def broker_config():
    return 1, {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "500"}


def start_transformer(bootstrap, in_topic, out_topic, group, txn_id, pause_at):
    return subprocess.Popen([sys.executable, str(HERE / "txn_transform.py"), bootstrap, in_topic, out_topic,
                             str(PARTITIONS), group, txn_id, str(pause_at)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(proc, word, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(word):
            return line
    proc.kill()
    raise AssertionError(f"transformer never printed {word}: {proc.stderr.read()[-3000:]}")


def test_consume_transform_produce_is_exactly_once(broker):
    n = 100_000
    in_topic, out_topic = unique_topic("txn-in"), unique_topic("txn-out")
    create_topic(broker.bootstrap, in_topic, PARTITIONS)
    create_topic(broker.bootstrap, out_topic, PARTITIONS)
    p = Producer({**base_conf(broker.bootstrap), "linger.ms": 20, "acks": "all"})
    for i in range(n):
        p.produce(in_topic, key=str(i).encode(), value=f"{i:06d}".encode(), partition=i % PARTITIONS)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    group, txn_id = f"eos-{uuid.uuid4().hex[:6]}", f"eos-{uuid.uuid4().hex[:6]}"
    # Two runs are killed in the middle of a transaction; the next one fences them.
    for pause_at in (2, 4):
        proc = start_transformer(broker.bootstrap, in_topic, out_topic, group, txn_id, pause_at)
        wait_for_line(proc, "PAUSED")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    proc = start_transformer(broker.bootstrap, in_topic, out_topic, group, txn_id, -1)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"transformer failed:\n{out}\n{err[-5000:]}"
    assert "DONE" in out
    committed = read_to_end(broker.bootstrap, out_topic, PARTITIONS, "read_committed")
    counts = Counter(v for vs in committed.values() for v in vs)
    expected = {f"out:{i:06d}".encode() for i in range(n)}
    assert set(counts) == expected, f"missing {len(expected - set(counts))}, extra {len(set(counts) - expected)}"
    dups = [v for v, c in counts.items() if c > 1]
    assert not dups, f"{len(dups)} records seen more than once, e.g. {dups[:5]}"
    # Per partition, in input order.
    for part, values in committed.items():
        assert values == [f"out:{i:06d}".encode() for i in range(part, n, PARTITIONS)]
    # read_uncommitted also sees what the aborted (and killed) transactions wrote.
    uncommitted = read_to_end(broker.bootstrap, out_topic, PARTITIONS, "read_uncommitted")
    total = sum(len(v) for v in uncommitted.values())
    assert total > n, f"read_uncommitted saw {total}: no aborted records"
    assert set(v for vs in uncommitted.values() for v in vs) == expected


def txn_producer(bootstrap, txn_id, timeout_ms=60000):
    p = Producer({**base_conf(bootstrap), "transactional.id": txn_id, "transaction.timeout.ms": timeout_ms,
                  "socket.timeout.ms": min(10000, timeout_ms + 100)})
    p.init_transactions(30)
    return p


def test_abort_hides_records_from_read_committed_only(broker):
    topic = unique_topic("txn-abort")
    create_topic(broker.bootstrap, topic, 1)
    p = txn_producer(broker.bootstrap, unique_topic("tx"))
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=f"a{i}".encode(), partition=0)
    p.flush(10)  # abort_transaction purges what was not sent yet
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(5):
        p.produce(topic, value=f"c{i}".encode(), partition=0)
    p.commit_transaction(30)
    assert read_to_end(broker.bootstrap, topic, 1, "read_committed")[0] == [f"c{i}".encode() for i in range(5)]
    assert len(read_to_end(broker.bootstrap, topic, 1, "read_uncommitted")[0]) == 15


def test_open_transaction_holds_back_read_committed(broker):
    topic = unique_topic("txn-lso")
    create_topic(broker.bootstrap, topic, 1)
    plain = Producer(base_conf(broker.bootstrap))
    plain.produce(topic, value=b"before", partition=0)
    plain.flush(10)
    p = txn_producer(broker.bootstrap, unique_topic("tx"))
    p.begin_transaction()
    p.produce(topic, value=b"open", partition=0)
    p.flush(10)
    plain.produce(topic, value=b"after", partition=0)
    plain.flush(10)
    c = Consumer({**base_conf(broker.bootstrap), "group.id": "lso", "isolation.level": "read_committed"})
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
    c.close()
    assert high == 1, f"read_committed end offset {high}: should stop at the open transaction (1)"
    assert read_to_end(broker.bootstrap, topic, 1, "read_committed")[0] == [b"before"]
    p.commit_transaction(30)
    assert read_to_end(broker.bootstrap, topic, 1, "read_committed")[0] == [b"before", b"open", b"after"]


def test_timed_out_transaction_is_aborted_and_producer_fenced(broker):
    topic = unique_topic("txn-timeout")
    create_topic(broker.bootstrap, topic, 1)
    p = txn_producer(broker.bootstrap, unique_topic("tx"), timeout_ms=1500)
    p.begin_transaction()
    p.produce(topic, value=b"doomed", partition=0)
    p.flush(10)
    deadline = time.monotonic() + 20
    while True:
        c = Consumer({**base_conf(broker.bootstrap), "group.id": "t", "isolation.level": "read_committed"})
        _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
        c.close()
        if high == 2:  # the record and the abort marker: the LSO moved past both
            break
        assert time.monotonic() < deadline, "the timed-out transaction was never aborted"
        time.sleep(0.2)
    assert read_to_end(broker.bootstrap, topic, 1, "read_committed")[0] == []
    with pytest.raises(KafkaException):
        p.commit_transaction(10)


@pytest.fixture
def kill_broker(make_broker):
    return make_broker(overrides={"transaction.abort.timed.out.transaction.cleanup.interval.ms": "500"})


def test_broker_kill_in_a_transaction_never_leaves_it_half_done(kill_broker):
    b = kill_broker
    t_committed, t_open = unique_topic("txn-k1"), unique_topic("txn-k2")
    create_topic(b.bootstrap, t_committed, 2)
    create_topic(b.bootstrap, t_open, 2)
    txn_id = unique_topic("txk")
    p = txn_producer(b.bootstrap, txn_id)
    p.begin_transaction()
    for i in range(20):
        p.produce(t_committed, value=f"k{i}".encode(), partition=i % 2)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(20):
        p.produce(t_open, value=f"o{i}".encode(), partition=i % 2)
    p.flush(10)
    b.restart(signal.SIGKILL)
    # A new producer with the same transactional id fences the old one: the open transaction
    # is aborted in both partitions.
    p2 = txn_producer(b.bootstrap, txn_id)
    committed = read_to_end(b.bootstrap, t_committed, 2, "read_committed")
    assert sorted(v for vs in committed.values() for v in vs) == sorted(f"k{i}".encode() for i in range(20))
    assert read_to_end(b.bootstrap, t_open, 2, "read_committed") == {0: [], 1: []}
    assert sum(len(v) for v in read_to_end(b.bootstrap, t_open, 2, "read_uncommitted").values()) == 20
    p2.begin_transaction()
    p2.produce(t_open, value=b"new", partition=0)
    p2.commit_transaction(30)
    assert read_to_end(b.bootstrap, t_open, 2, "read_committed")[0] == [b"new"]


def test_dump_log_segments_shows_transaction_markers(broker):
    topic = unique_topic("txn-dump")
    create_topic(broker.bootstrap, topic, 1)
    p = txn_producer(broker.bootstrap, unique_topic("tx"))
    for commit in (True, False):
        p.begin_transaction()
        p.produce(topic, key=b"k", value=b"v", partition=0)
        p.flush(10)
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
    segment = broker.log_dirs / f"{topic}-0" / "00000000000000000000.log"
    out = subprocess.run([str(broker.command()[0]), "dump-log-segments", "--files", str(segment), "--print-data-log"],
                         capture_output=True, text=True, timeout=30).stdout
    lines = out.splitlines()
    assert sum("isTransactional: true isControl: true" in line for line in lines) == 2, out
    assert sum("isTransactional: true isControl: false" in line for line in lines) == 2, out
    markers = [line for line in lines if "endTxnMarker" in line]
    assert [m.split("endTxnMarker: ")[1] for m in markers] == ["COMMIT coordinatorEpoch: 0", "ABORT coordinatorEpoch: 0"]
