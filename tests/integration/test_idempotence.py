"""Idempotent producers against a real broker: retried batches land exactly once.

A loopback proxy (dropping_proxy.py) loses every few Produce responses by closing the connection
after the broker appended the data; the client retries the same batches. With
enable.idempotence=true the broker recognises the retries (producer id + sequence numbers) and
every record lands once, in order; the same run without idempotence shows the duplicates the
proxy causes, so the test would notice a broker that deduplicates nothing.
"""

import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Producer

from conftest import free_port
from dropping_proxy import DroppingProxy
from helpers import base_conf, consume_all, create_topic, go_build, unique_topic
import rawkafka

N = 3000


@pytest.fixture
def proxied(make_broker):
    """A broker whose clients all go through a DroppingProxy: the broker advertises the
    proxy's port, chosen first."""
    port = free_port()
    broker = make_broker(num_partitions=2, overrides={
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}"})
    proxy = DroppingProxy(broker.port, drop_every=6, listen_port=port).start()
    yield broker, proxy
    proxy.close()


def produce_through(proxy, topic, idempotent):
    conf = {**base_conf(f"127.0.0.1:{proxy.port}"),
            "enable.idempotence": idempotent,
            "acks": "all",
            "linger.ms": 0,
            "batch.num.messages": 40,
            "max.in.flight.requests.per.connection": 5,
            "retries": 1000,
            "retry.backoff.ms": 20,
            "reconnect.backoff.ms": 10,
            "reconnect.backoff.max.ms": 100,
            "message.timeout.ms": 60000}
    p = Producer(conf)
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))

    for i in range(N):
        p.produce(topic, key=str(i % 2).encode(), value=f"m{i:06d}".encode(), partition=i % 2,
                  on_delivery=on_delivery)
        if i % 200 == 199:
            p.flush(60)
    assert p.flush(60) == 0
    assert not errors, errors[:5]


def read_values(bootstrap, topic):
    recs = consume_all(bootstrap, topic, [0, 1], timeout=60)
    return {p: [r.value.decode() for r in rs] for p, rs in recs.items()}


def test_idempotent_retries_land_exactly_once_in_order(proxied):
    broker, proxy = proxied
    topic = unique_topic("idem")
    create_topic(broker.bootstrap, topic, 2)
    produce_through(proxy, topic, idempotent=True)
    assert proxy.dropped >= 3, f"the proxy lost only {proxy.dropped} responses: no retries tested"
    got = read_values(broker.bootstrap, topic)
    for p in (0, 1):
        expected = [f"m{i:06d}" for i in range(p, N, 2)]
        assert got[p] == expected, (
            f"partition {p}: {len(got[p])} records, expected {len(expected)}; duplicates: "
            f"{[v for v, c in Counter(got[p]).items() if c > 1][:10]}")


def test_without_idempotence_the_same_retries_duplicate(proxied):
    broker, proxy = proxied
    topic = unique_topic("noidem")
    create_topic(broker.bootstrap, topic, 2)
    produce_through(proxy, topic, idempotent=False)
    assert proxy.dropped >= 3
    got = read_values(broker.bootstrap, topic)
    total = sum(len(v) for v in got.values())
    # Every record is there (at-least-once) and the lost responses caused re-sends.
    assert set(got[0]) | set(got[1]) == {f"m{i:06d}" for i in range(N)}
    assert total > N, "no duplicates without idempotence: the proxy did not cause retries"


def test_init_producer_id_hands_out_distinct_ids_across_restarts(make_broker):
    broker = make_broker()
    ids = set()
    for _ in range(3):
        for _ in range(5):
            with rawkafka.Conn(broker.port) as c:
                pid, epoch, err = c.init_producer_id()
            assert err == 0 and epoch == 0
            assert pid not in ids
            ids.add(pid)
        broker.restart()
    assert len(ids) == 15


def test_stale_epoch_and_sequence_gap_are_refused(broker):
    topic = unique_topic("seq")
    create_topic(broker.bootstrap, topic, 1)
    with rawkafka.Conn(broker.port) as c:
        pid, epoch, err = c.init_producer_id()
        assert err == 0
        assert c.produce_idempotent(topic, 0, pid, epoch, seq=0, count=3) == (0, 0)
        # A retry of the same batch: its original offset, nothing new written.
        assert c.produce_idempotent(topic, 0, pid, epoch, seq=0, count=3) == (0, 0)
        # A gap in the sequence.
        assert c.produce_idempotent(topic, 0, pid, epoch, seq=5, count=1)[0] == 45  # OUT_OF_ORDER_SEQUENCE_NUMBER
        assert c.produce_idempotent(topic, 0, pid, epoch, seq=3, count=1) == (0, 3)
        # A newer epoch fences the older one.
        assert c.produce_idempotent(topic, 0, pid, epoch + 1, seq=0, count=1) == (0, 4)
        assert c.produce_idempotent(topic, 0, pid, epoch, seq=4, count=1)[0] == 47  # INVALID_PRODUCER_EPOCH
    recs = consume_all(broker.bootstrap, topic, [0])
    assert len(recs[0]) == 5


GO_SRC = Path(__file__).parent / "go" / "seed_semantics.go"


def test_seed_go_sarama_example(broker, tmp_path):
    """Seed 002's Go program (two sarama SyncProducers: at-most-once with sarama's default
    protocol version, i.e. legacy Produce v0, and idempotent with acks=all), built with Debian's
    Go and sarama and run against the broker; a consumer checks what arrived."""
    binary = tmp_path / "seed_semantics"
    build = go_build(GO_SRC, binary, tmp_path)
    assert build.returncode == 0, build.stderr
    t1, t2 = unique_topic("Topic1"), unique_topic("Topic2")
    run = subprocess.run([str(binary), broker.bootstrap, t1, t2, "200"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # At-most-once with acks=0 over a healthy loopback: everything arrives; exactly once for Topic2.
    deadline = time.monotonic() + 10
    while True:
        got1 = consume_all(broker.bootstrap, t1, [0])
        if len(got1[0]) >= 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [r.value for r in got1[0]] == [f"t1-{i}".encode() for i in range(200)]
    got2 = consume_all(broker.bootstrap, t2, [0])
    assert [r.value for r in got2[0]] == [f"t2-{i}".encode() for i in range(200)]
