"""kcat 1.7.1 (librdkafka 2.0.2) against the broker: metadata listing, producing keyed records
with headers under every compression codec, and reading them back with the legacy (group-less)
consumer."""

import json
import subprocess
from collections import Counter, defaultdict

import pytest

from helpers import create_topic, unique_topic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
KCAT_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def broker_config():
    return 3, {}


def kcat(broker, *args, input_text=None):
    cmd = ["kcat", "-b", broker.bootstrap, "-m", "10", "-X", "broker.address.family=v4", *args]
    r = subprocess.run(cmd, input=input_text.encode() if input_text is not None else None,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=KCAT_TIMEOUT_S)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}\nstdout:\n{out}\nstderr:\n{err}"
    return out


def kcat_produce(broker, topic, lines, *args):
    return kcat(broker, "-P", "-t", topic, "-X", "message.timeout.ms=20000",
                "-X", "request.required.acks=-1", *args, input_text="".join(l + "\n" for l in lines))


def kcat_consume(broker, topic, fmt, *args):
    out = kcat(broker, "-C", "-q", "-t", topic, "-o", "beginning", "-e", "-f", fmt, *args)
    return [line for line in out.split("\n") if line]


def test_metadata_lists_broker_and_topic(broker):
    topic = unique_topic("kcat-md")
    create_topic(broker.bootstrap, topic, 3)

    md = json.loads(kcat(broker, "-L", "-J"))
    names = [b["name"] for b in md["brokers"]]
    assert len(md["brokers"]) == 1, md["brokers"]
    assert names == [broker.bootstrap], f"advertised address must be the listener's: {names}"
    broker_id = md["brokers"][0]["id"]
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics, list(topics)
    parts = topics[topic]["partitions"]
    assert sorted(p["partition"] for p in parts) == [0, 1, 2]
    for p in parts:
        assert p["leader"] == broker_id
        assert [r["id"] for r in p["replicas"]] == [broker_id]
        assert [r["id"] for r in p["isrs"]] == [broker_id]

    text = kcat(broker, "-L")
    assert "1 brokers:" in text, text
    assert f"at {broker.bootstrap}" in text, text
    assert f'topic "{topic}" with 3 partitions' in text, text


@pytest.mark.parametrize("codec", CODECS)
def test_keys_headers_compression_round_trip(broker, codec):
    topic = unique_topic(f"kcat-{codec}")
    create_topic(broker.bootstrap, topic, 3)
    produced = []  # (key, value) in produce order
    for i in range(300):
        key = f"key{i % 10}"
        # Repetitive tails make the batches actually compressible.
        value = f"{codec}-value-{i}-" + "abc" * (i % 40)
        produced.append((key, value))
    kcat_produce(broker, topic, [f"{k}:{v}" for k, v in produced], "-K:",
                 "-H", f"codec={codec}", "-H", "suite=samsa",
                 "-X", f"compression.codec={codec}", "-X", "linger.ms=20")

    lines = kcat_consume(broker, topic, "%k|%s|%h|%p|%o\n")
    by_partition = defaultdict(list)
    for line in lines:
        key, value, headers, partition, offset = line.split("|")
        assert headers == f"codec={codec},suite=samsa", line
        by_partition[int(partition)].append((int(offset), key, value))

    consumed = Counter((k, v) for recs in by_partition.values() for _, k, v in recs)
    assert consumed == Counter(produced), "consumed records differ from produced ones"
    assert len(by_partition) >= 2, f"10 keys all landed in one partition: {list(by_partition)}"
    key_partition = {}
    for p, recs in by_partition.items():
        assert [o for o, _, _ in recs] == list(range(len(recs))), \
            f"partition {p}: offsets not dense/in order: {[o for o, _, _ in recs][:30]}"
        for _, key, _ in recs:
            assert key_partition.setdefault(key, p) == p, f"key {key} in two partitions"
    for p, recs in by_partition.items():
        got = [(k, v) for _, k, v in recs]
        want = [(k, v) for k, v in produced if key_partition.get(k) == p]
        assert got == want, f"partition {p}: order differs from produce order"


def test_explicit_partitions_multiple_runs(broker):
    """Three separate producer runs, one per partition: every partition is its own log."""
    topic = unique_topic("kcat-parts")
    create_topic(broker.bootstrap, topic, 3)
    for p in range(3):
        kcat_produce(broker, topic, [f"k{p}:p{p}-{i}" for i in range(50 + 10 * p)], "-K:",
                     "-p", str(p))
    for p in range(3):
        lines = kcat_consume(broker, topic, "%k|%s|%o\n", "-p", str(p))
        assert lines == [f"k{p}|p{p}-{i}|{i}" for i in range(50 + 10 * p)]


def test_null_key_and_empty_value(broker):
    topic = unique_topic("kcat-null")
    create_topic(broker.bootstrap, topic, 1)
    # Without -Z: a line without the delimiter has a NULL key; "k:" is an empty (not NULL)
    # value; ":v" is an empty (not NULL) key.
    kcat_produce(broker, topic, ["no-key-line", "kempty:", ":emptykey", "k:v"], "-K:", "-p", "0")
    # With -Z: empty fields are sent as NULL.
    kcat_produce(broker, topic, ["knull:", ":nullkey"], "-K:", "-Z", "-p", "0")

    lines = kcat_consume(broker, topic, "%K|%S|%k|%s|%o\n", "-p", "0")
    assert lines == [
        "-1|11||no-key-line|0",
        "6|0|kempty||1",
        "0|8||emptykey|2",
        "1|1|k|v|3",
        "5|-1|knull||4",
        "-1|7||nullkey|5",
    ]


def test_auto_created_topic_gets_default_partitions(broker):
    topic = unique_topic("kcat-auto")
    kcat_produce(broker, topic, ["a:1", "b:2", "c:3"], "-K:")
    md = json.loads(kcat(broker, "-L", "-J", "-t", topic))
    (t,) = [t for t in md["topics"] if t["topic"] == topic]
    assert len(t["partitions"]) == 3, "num.partitions=3 must apply to auto-created topics"
    lines = kcat_consume(broker, topic, "%k|%s\n")
    assert sorted(lines) == ["a|1", "b|2", "c|3"]
