"""Client-side helpers shared by the integration tests (confluent_kafka = librdkafka 2.0.2).

Reading back always uses a Consumer with `assign()` and explicit offsets: no consumer group
coordination is needed (group.id is set because the Python binding requires it, but nothing is
committed).
"""

import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

CLIENT_TIMEOUT_S = 15


def go_build(source, output, home):
    """Builds `source` with Debian's Go and its packaged libraries (sarama) into `output`; the
    build cache is shared by every test of this machine's runs (Go's cache is safe to share, and
    sarama then compiles once). Returns the CompletedProcess."""
    import tempfile
    cache = Path(tempfile.gettempdir()) / "samsa-it-gocache"
    env = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": str(cache),
           "PATH": "/usr/bin:/bin:/usr/lib/go/bin", "HOME": str(home)}
    return subprocess.run(["go", "build", "-o", str(output), str(source)], env=env, capture_output=True,
                          text=True, timeout=600)


def samsa_tool(*args, **kw):
    """Runs a `samsa` command (60 s bound) -> CompletedProcess with bytes stdout/stderr."""
    from conftest import SAMSA_BIN
    return subprocess.run([str(SAMSA_BIN), *args], capture_output=True, timeout=60, **kw)


def storage_formatter(broker, tmp_path):
    """A server.properties for `broker` (its listener and log dirs, node 1) and a fresh cluster id
    -> format(*args): runs `samsa storage format` with them and the extra `args` (text output)."""
    from conftest import HOST, SAMSA_BIN
    config = tmp_path / "server.properties"
    config.write_text(f"listeners=PLAINTEXT://{HOST}:{broker.port}\nlog.dirs={broker.log_dirs}\nnode.id=1\n")
    cluster_id = subprocess.run([str(SAMSA_BIN), "storage", "random-uuid"], capture_output=True, text=True,
                                timeout=30, check=True).stdout.strip()

    def format_storage(*args):
        return subprocess.run([str(SAMSA_BIN), "storage", "format", "-t", cluster_id, "-c", str(config), *args],
                              capture_output=True, text=True, timeout=30)
    return format_storage


def tools_round_trip(bootstrap, props, topic):
    """topics --create, console-producer and console-consumer with one client properties file
    (`--command-config`, `--producer.config`, `--consumer.config`): two records there and back."""
    r = samsa_tool("topics", "--bootstrap-server", bootstrap, "--command-config", str(props), "--create",
                   "--topic", topic, "--partitions", "1")
    assert r.returncode == 0, r.stderr
    r = samsa_tool("console-producer", "--bootstrap-server", bootstrap, "--producer.config", str(props),
                   "--topic", topic, input=b"hello\nworld\n")
    assert r.returncode == 0, r.stderr
    r = samsa_tool("console-consumer", "--bootstrap-server", bootstrap, "--consumer.config", str(props),
                   "--topic", topic, "--from-beginning", "--max-messages", "2", "--timeout-ms", "15000")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [b"hello", b"world"]


def unique_topic(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def base_conf(bootstrap):
    return {
        "bootstrap.servers": bootstrap,
        "socket.timeout.ms": 10000,
        "broker.address.family": "v4",
    }


def admin_client(bootstrap):
    return AdminClient(base_conf(bootstrap))


def wait_for_topic(admin, topic, partitions, timeout=CLIENT_TIMEOUT_S):
    """Poll all-topics metadata (which never auto-creates) until `topic` has `partitions`
    partitions, each with a leader. Returns the TopicMetadata."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        md = admin.list_topics(timeout=5)
        last = md.topics.get(topic)
        if (last is not None and last.error is None and len(last.partitions) == partitions
                and all(p.leader >= 0 and p.error is None for p in last.partitions.values())):
            return last
        time.sleep(0.1)
    raise AssertionError(f"topic {topic} did not get {partitions} partitions with leaders in "
                         f"{timeout}s; last metadata: {describe_topic_md(last)}")


def wait_for_topic_gone(admin, topic, timeout=CLIENT_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if topic not in admin.list_topics(timeout=5).topics:
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {topic} still listed {timeout}s after deletion")


def describe_topic_md(t):
    if t is None:
        return "absent"
    parts = {p: (pm.leader, pm.replicas, pm.isrs, pm.error) for p, pm in t.partitions.items()}
    return f"error={t.error} partitions={parts}"


def create_topic(bootstrap, topic, partitions, config=None, timeout=CLIENT_TIMEOUT_S):
    admin = admin_client(bootstrap)
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=timeout, request_timeout=timeout)
    futures[topic].result(timeout=timeout + 5)
    return wait_for_topic(admin, topic, partitions, timeout)


@dataclass
class Msg:
    """One record to produce. partition None = let the client's partitioner choose;
    timestamp None = now."""
    key: bytes = None
    value: bytes = None
    headers: list = None
    partition: int = None
    timestamp: int = None


@dataclass
class Delivery:
    error: object = None
    partition: int = -1
    offset: int = -1


@dataclass
class Rec:
    """One record as read back."""
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list = field(default_factory=list)
    timestamp: tuple = None


def norm_headers(headers):
    """Headers as a list of (str, bytes-or-None) tuples; None and [] both mean 'no headers'."""
    out = []
    for k, v in headers or []:
        if isinstance(v, str):
            v = v.encode()
        out.append((k, v))
    return out


def produce(bootstrap, topic, msgs, conf=None, flush_timeout=30):
    """Produce `msgs` in order with one Producer; returns one Delivery per message (in produce
    order) once every delivery report has arrived."""
    p = Producer({**base_conf(bootstrap), "message.timeout.ms": 20000, "linger.ms": 5,
                  **(conf or {})})
    results = [None] * len(msgs)

    def on_delivery(index):
        def cb(err, m):
            results[index] = Delivery(err, m.partition(), m.offset())
        return cb

    for i, m in enumerate(msgs):
        kwargs = {"value": m.value, "key": m.key, "on_delivery": on_delivery(i)}
        if m.headers is not None:
            kwargs["headers"] = m.headers
        if m.partition is not None:
            kwargs["partition"] = m.partition
        if m.timestamp is not None:
            kwargs["timestamp"] = m.timestamp
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(flush_timeout)
    assert remaining == 0, f"{remaining} messages still undelivered after {flush_timeout}s"
    missing = [i for i, r in enumerate(results) if r is None]
    assert not missing, f"no delivery report for messages {missing[:10]}"
    return results


def assert_delivered(results, msgs, acks_zero=False, check_offsets=True, start=None):
    """Every delivery succeeded, explicit partitions were honoured, and (unless acks=0, where
    the broker sends no offsets, or check_offsets is False) each partition's offsets are dense
    in produce order, from start[partition] (default 0: the partition was empty before)."""
    errors = [(i, r.error) for i, r in enumerate(results) if r.error is not None]
    assert not errors, f"delivery errors: {errors[:10]}"
    for m, r in zip(msgs, results):
        if m.partition is not None:
            assert r.partition == m.partition
    if acks_zero or not check_offsets:
        return
    per_partition = {}
    for r in results:
        per_partition.setdefault(r.partition, []).append(r.offset)
    for p, offsets in per_partition.items():
        first = (start or {}).get(p, 0)
        assert offsets == list(range(first, first + len(offsets))), \
            f"partition {p}: offsets in produce order are not {first}..: {offsets[:20]}..."


def expected_by_partition(msgs, results):
    """{partition: [(key, value, headers)]} in produce order, using the partitions the
    delivery reports say each message went to."""
    out = {}
    for m, r in zip(msgs, results):
        out.setdefault(r.partition, []).append((m.key, m.value, norm_headers(m.headers)))
    return out


def consumer(bootstrap, extra=None):
    return Consumer({**base_conf(bootstrap),
                     "group.id": f"samsa-it-{uuid.uuid4().hex[:8]}",
                     "enable.auto.commit": False,
                     "enable.auto.offset.store": False,
                     "enable.partition.eof": True,
                     "check.crcs": True,
                     "fetch.wait.max.ms": 100,
                     **(extra or {})})


def watermarks(bootstrap, topic, partitions):
    c = consumer(bootstrap)
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=CLIENT_TIMEOUT_S,
                                           cached=False)
                for p in partitions}
    finally:
        c.close()


def consume_all(bootstrap, topic, partitions, timeout=30, extra=None):
    """Read every partition in `partitions` from the beginning up to the high watermark that
    the broker reports before reading starts. Returns {partition: [Rec]} in offset order."""
    c = consumer(bootstrap, extra)
    try:
        highs = {}
        for p in partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p),
                                                timeout=CLIENT_TIMEOUT_S, cached=False)
            highs[p] = high
        out = {p: [] for p in partitions}
        done = {p for p in partitions if highs[p] <= 0}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        deadline = time.monotonic() + timeout
        client_errors = []
        while len(done) < len(partitions):
            if time.monotonic() > deadline:
                got = {p: len(v) for p, v in out.items()}
                raise AssertionError(f"timed out reading {topic}: got {got}, "
                                     f"high watermarks {highs}; client errors: {client_errors[-5:]}")
            for m in c.consume(num_messages=1000, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    if m.topic() is None and not err.fatal():
                        # Client-level, non-fatal (e.g. a transient connection notice): keep
                        # it for the timeout message; partition errors fail at once.
                        client_errors.append(str(err))
                        continue
                    raise AssertionError(f"consumer error on {topic}: {err}")
                p = m.partition()
                out[p].append(Rec(p, m.offset(), m.key(), m.value(), norm_headers(m.headers()),
                                  m.timestamp()))
                if m.offset() >= highs[p] - 1:
                    done.add(p)
        return out
    finally:
        c.close()


def read_to_end(bootstrap, topic, partitions, isolation, timeout=60):
    """Every record of `topic` from the beginning until each partition reports its end
    (high watermark, or the last stable offset with read_committed). {partition: [values]}."""
    c = Consumer({**base_conf(bootstrap), "group.id": f"read-end-{uuid.uuid4().hex[:8]}",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "isolation.level": isolation, "fetch.wait.max.ms": 50})
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        out = {p: [] for p in range(partitions)}
        at_end = set()
        deadline = time.monotonic() + timeout
        while len(at_end) < partitions:
            assert time.monotonic() < deadline, f"reading {topic} ({isolation}) timed out: {at_end}"
            for m in c.consume(1000, timeout=0.5):
                err = m.error()
                if err is None:
                    out[m.partition()].append(m.value())
                    at_end.discard(m.partition())
                elif err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(m.partition())
                else:
                    raise AssertionError(f"consumer error: {err}")
        return out
    finally:
        c.close()


def assert_dense(recs_by_partition, start=0):
    """Each partition's records carry offsets start..start+n-1, each exactly once, in order."""
    for p, recs in recs_by_partition.items():
        offsets = [r.offset for r in recs]
        assert offsets == list(range(start, start + len(offsets))), \
            f"partition {p}: offsets not dense: {offsets[:30]}"


def contents(recs_by_partition):
    """{partition: [(key, value, headers)]} of what was read, for comparison with
    expected_by_partition()."""
    return {p: [(r.key, r.value, r.headers) for r in recs]
            for p, recs in recs_by_partition.items() if recs}


def error_code(exc):
    """The KafkaError code inside a KafkaException (or a KafkaError)."""
    if isinstance(exc, KafkaException):
        exc = exc.args[0]
    return exc.code()


# ---- consumer groups (test_groups.py, test_group_metadata.py) ----------------------------------

GROUP_TIMEOUT_S = 60


def produce_keys(bootstrap, topic, keys, partitions):
    """`keys`: a count n (keys k0..k{n-1}, values v0..) or a list of key strings; the i-th goes
    to partition i % partitions."""
    p = Producer({**base_conf(bootstrap), "linger.ms": 5})
    names = [f"k{i}" for i in range(keys)] if isinstance(keys, int) else keys
    for i, k in enumerate(names):
        p.produce(topic, key=k.encode(), value=f"v{i}".encode(), partition=i % partitions)
    assert p.flush(30) == 0


def group_consumer(bootstrap, group, extra=None):
    return Consumer({**base_conf(bootstrap), "group.id": group, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, "session.timeout.ms": 6000,
                     "heartbeat.interval.ms": 500, **(extra or {})})


def consume_n(c, n, timeout=GROUP_TIMEOUT_S):
    got = []
    deadline = time.time() + timeout
    while len(got) < n and time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        got.append(m)
    return got
