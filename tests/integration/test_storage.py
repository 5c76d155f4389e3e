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

    # Every segment expires after retention.ms, the active one too (it is rolled first, as in
    # Kafka): the log ends up as one empty segment at the log end.
    low = wait_until(lambda: watermarks(broker.bootstrap, topic, [0])[0][0] == 40)
    assert low, f"log start offset did not reach 40: {watermarks(broker.bootstrap, topic, [0])}"
    low, high = watermarks(broker.bootstrap, topic, [0])[0]
    assert (low, high) == (40, 40)
    remaining = sorted(f for f in os.listdir(d) if f.endswith(".log"))
    assert remaining == [f"{40:020d}.log"], remaining

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
    assert_delivered(produce(broker.bootstrap, topic, batch, conf={"linger.ms": 0, "batch.num.messages": 1}), batch)
    time.sleep(CHECK_INTERVAL_MS * 3 / 1000)
    assert watermarks(broker.bootstrap, topic, [0])[0] == (0, 30)


# ---- DeleteRecords / DescribeLogDirs over raw sockets (confluent-kafka 1.7 has neither) -------

import rawkafka as rk  # noqa: E402


def delete_records(broker, topic, partition_offsets, version=1):
    flexible = version >= 2
    arr = (lambda n: rk.uvarint(n + 1)) if flexible else rk.i32
    s = rk.compact_string if flexible else rk.string
    tag = b"\x00" if flexible else b""
    body = arr(1) + s(topic) + arr(len(partition_offsets))
    for p, off in partition_offsets:
        body += rk.i32(p) + rk.i64(off) + tag
    body += tag + rk.i32(5000) + tag
    with rk.Conn(broker.port) as c:
        resp = c.request(rk.frame(rk.request_header(21, version, 7, flexible=flexible) + body))
    r = rk.Reader(resp)
    assert r.i32() == 7
    if flexible:
        r.skip_tags()
    r.i32()  # throttle
    n_topics = r.uvarint() - 1 if flexible else r.i32()
    out = {}
    for _ in range(n_topics):
        name = r.take(r.uvarint() - 1).decode() if flexible else r.string()
        n_parts = r.uvarint() - 1 if flexible else r.i32()
        for _ in range(n_parts):
            p, low, err = r.i32(), r.i64(), r.i16()
            if flexible:
                r.skip_tags()
            out[(name, p)] = (low, err)
        if flexible:
            r.skip_tags()
    if flexible:
        r.skip_tags()
    assert r.remaining() == 0
    return out


def describe_log_dirs(broker, version=1):
    """Null topic list (everything) -> {log_dir: (error, {(topic, partition): size})}."""
    with rk.Conn(broker.port) as c:
        resp = c.request(rk.frame(rk.request_header(35, version, 9) + rk.i32(-1)))
    r = rk.Reader(resp)
    assert r.i32() == 9
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        err, path = r.i16(), r.string()
        parts = {}
        for _ in range(r.i32()):
            name = r.string()
            for _ in range(r.i32()):
                p, size, lag, future = r.i32(), r.i64(), r.i64(), r.take(1)
                assert lag == 0 and future == b"\x00"
                parts[(name, p)] = size
        out[path] = (err, parts)
    assert r.remaining() == 0
    return out


def test_delete_records_moves_log_start(broker):
    topic = unique_topic("delete-records")
    create_topic(broker.bootstrap, topic, 1, config={"segment.bytes": "1024"})
    batch = msgs(30, "dr")
    assert_delivered(produce(broker.bootstrap, topic, batch, conf={"linger.ms": 0, "batch.num.messages": 1}), batch)
    assert delete_records(broker, topic, [(0, 10)]) == {(topic, 0): (10, 0)}
    assert watermarks(broker.bootstrap, topic, [0])[0] == (10, 30)
    # Beyond the high watermark: OFFSET_OUT_OF_RANGE (1), nothing moves.
    assert delete_records(broker, topic, [(0, 31)])[(topic, 0)][1] == 1
    # Unknown partition: UNKNOWN_TOPIC_OR_PARTITION (3).
    assert delete_records(broker, topic, [(5, 1)])[(topic, 5)][1] == 3
    # -1 = the high watermark, flexible v2.
    assert delete_records(broker, topic, [(0, -1)], version=2) == {(topic, 0): (30, 0)}
    assert watermarks(broker.bootstrap, topic, [0])[0] == (30, 30)
    # The segments below the new start go at the next retention check.
    d = partition_dir(broker, topic)
    assert wait_until(lambda: sorted(f for f in os.listdir(d) if f.endswith(".log"))[0] != f"{0:020d}.log")


def test_describe_log_dirs_lists_partitions_and_sizes(broker):
    topic = unique_topic("logdirs")
    create_topic(broker.bootstrap, topic, 1)
    batch = msgs(5, "ld")
    assert_delivered(produce(broker.bootstrap, topic, batch), batch)
    dirs = describe_log_dirs(broker)
    assert list(dirs) == [str(broker.log_dirs)]
    err, parts = dirs[str(broker.log_dirs)]
    assert err == 0
    assert parts[(topic, 0)] == os.path.getsize(partition_dir(broker, topic) / f"{0:020d}.log")


# ---- samsa dump-log-segments ------------------------------------------------------------------

import re  # noqa: E402
import subprocess  # noqa: E402

from conftest import SAMSA_BIN  # noqa: E402


def dump(*args):
    p = subprocess.run([str(SAMSA_BIN), "dump-log-segments", *args], capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def test_dump_log_segments(broker):
    topic = unique_topic("dump")
    create_topic(broker.bootstrap, topic, 1, config={"index.interval.bytes": "100"})
    batch = [Msg(key=f"k{i}".encode(), value=f"hello-{i}".encode(), headers=[("h1", b"v")], partition=0)
             for i in range(6)]
    assert_delivered(produce(broker.bootstrap, topic, batch, conf={"linger.ms": 0, "batch.num.messages": 2}),
                     batch)
    d = partition_dir(broker, topic)
    log = str(d / f"{0:020d}.log")

    rc, out, err = dump("--files", log)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == f"Dumping {log}"
    assert lines[1] == "Log starting offset: 0"
    batches = [l for l in lines if l.startswith("baseOffset:")]
    assert batches, out
    pat = re.compile(r"baseOffset: (\d+) lastOffset: (\d+) count: (\d+) baseSequence: -?\d+ lastSequence: -?\d+ "
                     r"producerId: -?\d+ producerEpoch: -?\d+ partitionLeaderEpoch: \d+ isTransactional: false "
                     r"isControl: false deleteHorizonMs: OptionalLong.empty position: (\d+) CreateTime: \d+ "
                     r"size: (\d+) magic: 2 compresscodec: none crc: \d+ isvalid: true$")
    pos = 0
    covered = 0
    for b in batches:
        m = pat.match(b)
        assert m, b
        assert int(m.group(1)) == covered and int(m.group(4)) == pos
        covered = int(m.group(2)) + 1
        pos += int(m.group(5))
    assert covered == 6 and pos == os.path.getsize(log)
    assert not any(l.startswith("|") for l in lines), "records only with --deep-iteration/--print-data-log"

    rc, out, _ = dump("--files", log, "--print-data-log")
    assert rc == 0
    recs = [l for l in out.splitlines() if l.startswith("| ")]
    assert len(recs) == 6
    assert re.match(r"\| offset: 0 CreateTime: \d+ keySize: 2 valueSize: 7 sequence: -?\d+ headerKeys: \[h1\] "
                    r"key: k0 payload: hello-0$", recs[0]), recs[0]

    rc, out, _ = dump("--files", log, "--deep-iteration")
    recs = [l for l in out.splitlines() if l.startswith("| ")]
    assert len(recs) == 6 and "payload" not in recs[0]

    rc, out, _ = dump("--files", log.replace(".log", ".index") + "," + log.replace(".log", ".timeindex"))
    assert rc == 0, out
    assert re.search(r"^offset: \d+ position: \d+$", out, re.M), out
    assert "Mismatches" not in out

    # A corrupted byte in the log: the batch is reported invalid and the exit code says so.
    copy = broker.data_dir / "corrupt.log"
    data = bytearray(open(log, "rb").read())
    data[70] ^= 0xFF
    copy.write_bytes(bytes(data))
    rc, out, _ = dump("--files", str(copy))
    assert rc == 1 and "isvalid: false" in out
