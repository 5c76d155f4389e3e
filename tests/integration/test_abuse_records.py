"""Hostile record batches and legacy fetches (issue 18, findings 3 and 4).

- CRC-valid batches whose records are malformed (varint overflow, negative or oversized lengths,
  a header count of 2^31-1, a record count that disagrees with the records, non-consecutive
  offset deltas, a compressed payload that does not decompress, a decompression bomb) are
  refused with CORRUPT_MESSAGE (INVALID_RECORD from Produce v8 for malformed records, as Kafka)
  and nothing is stored: librdkafka reads the valid records produced before and after them.
- Four clients down-converting a zstd batch with Fetch v3 do not stall other clients (the
  ApiVersions latency meanwhile is reported, not asserted).
- Connections that send Fetch v3 requests and never read the answers cannot make the broker
  hold more than the response budget (128 MiB) of down-converted responses.
Every socket operation has a timeout and every loop a bound."""

import gzip
import os
import statistics
import threading
import time

import pytest

import rawkafka as rk
from helpers import Msg, consume_all, create_topic, produce, unique_topic, watermarks

CORRUPT_MESSAGE = 2
INVALID_RECORD = 87
GZIP = 1
IO_TIMEOUT_S = 10.0


def body(key_len=1, value_len=1, header_count=0, offset_delta=0, key=None, value=None, extra=b""):
    """A record body (before its length prefix) with the given, possibly lying, fields."""
    k = b"k" * max(key_len, 0) if key is None else key
    v = b"v" * max(value_len, 0) if value is None else value
    return (rk.i8(0) + rk.varint(0) + rk.varint(offset_delta) + rk.varint(key_len) + k
            + rk.varint(value_len) + v + rk.varint(header_count) + extra)


def framed(b):
    return rk.varint(len(b)) + b


def malformed_cases():
    """name -> (records payload, record count, attributes)."""
    ten = dict(key_len=10, value_len=10)
    return {
        "record length varint overflow": (b"\xff" * 5 + b"\x01" + b"\x00" * 10, 1, 0),
        "negative key length": (framed(body(key_len=-2, key=b"")), 1, 0),
        "value length beyond the record": (framed(body(value_len=1000, value=b"v")), 1, 0),
        "header count 2^31-1": (framed(body(header_count=2**31 - 1)), 1, 0),
        "header count -1": (framed(body(header_count=-1)), 1, 0),
        "record count 3, 2 records": (framed(body(**ten)) + framed(body(offset_delta=1, **ten)), 3, 0),
        "record longer than its fields": (framed(body(extra=b"\x42")), 1, 0),
        "offset deltas 0, 2": (framed(body()) + framed(body(offset_delta=2)), 2, 0),
        "gzip payload that does not decompress": (b"\x1f\x8b\x08\x00" + bytes(range(60)), 1, GZIP),
        "gzip with header count 2^31-1 inside": (gzip.compress(framed(body(header_count=2**31 - 1))), 1,
                                                 GZIP),
        # 80 MiB of zeros in ~80 KB: beyond the 64 MiB decompression bound.
        "gzip decompression bomb": (gzip.compress(framed(body(value_len=80 << 20, value=bytes(80 << 20))),
                                                  compresslevel=1), 1, GZIP),
    }


def produce_raw(port, topic, batch, version):
    with rk.Conn(port, IO_TIMEOUT_S) as c:
        resp = c.request(rk.produce_request(version, 11, topic, 0, batch))
    assert rk.Reader(resp).i32() == 11
    return rk.parse_produce_partition(resp[4:], version)


def test_malformed_records_refused_and_consumers_unaffected(broker):
    topic = unique_topic("abuse-records")
    create_topic(broker.bootstrap, topic, 1)
    before = [Msg(key=b"k%d" % i, value=b"before-%d" % i, partition=0) for i in range(3)]
    assert all(d.error is None for d in produce(broker.bootstrap, topic, before))
    high_before = watermarks(broker.bootstrap, topic, [0])[0][1]
    assert high_before == 3

    for name, (payload, count, attributes) in malformed_cases().items():
        batch = rk.record_batch_from_payload(payload, count, attributes)
        err, base = produce_raw(broker.port, topic, batch, 7)
        assert err == CORRUPT_MESSAGE, f"{name}: Produce v7 answered {err}, want CORRUPT_MESSAGE"
        assert base == -1, f"{name}: base offset {base} for a refused batch"
    # Produce v8 knows INVALID_RECORD: malformed records get it, undecodable payloads stay CORRUPT_MESSAGE.
    cases = malformed_cases()
    assert produce_raw(broker.port, topic, rk.record_batch_from_payload(*cases["header count 2^31-1"]),
                       8)[0] == INVALID_RECORD
    assert produce_raw(broker.port, topic,
                       rk.record_batch_from_payload(*cases["gzip payload that does not decompress"]),
                       8)[0] == CORRUPT_MESSAGE

    assert watermarks(broker.bootstrap, topic, [0])[0][1] == high_before, "a refused batch was stored"
    after = [Msg(key=b"k%d" % i, value=b"after-%d" % i, partition=0) for i in range(3)]
    assert all(d.error is None for d in produce(broker.bootstrap, topic, after))
    recs = consume_all(broker.bootstrap, topic, [0], timeout=30)[0]
    assert [r.value for r in recs] == [m.value for m in before + after]
    assert [r.offset for r in recs] == list(range(6))


def test_compressed_valid_batch_still_accepted(broker):
    """The validation of compressed batches (on the worker pool) accepts what clients send."""
    topic = unique_topic("abuse-records-codecs")
    create_topic(broker.bootstrap, topic, 1)
    msgs = [Msg(key=b"k%d" % i, value=os.urandom(64).hex().encode(), partition=0) for i in range(200)]
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        results = produce(broker.bootstrap, topic, msgs, conf={"compression.type": codec, "linger.ms": 50})
        assert all(d.error is None for d in results), f"{codec}: {[d.error for d in results][:3]}"
    recs = consume_all(broker.bootstrap, topic, [0], timeout=30)[0]
    assert [r.value for r in recs] == [m.value for m in msgs] * 4


def api_versions_latency(port, count, stop):
    """ApiVersions round trips (ms) on one connection, at most `count`, until `stop` is set."""
    out = []
    with rk.Conn(port, IO_TIMEOUT_S) as c:
        for i in range(count):
            if stop.is_set() and len(out) >= 20:
                break
            t0 = time.monotonic()
            resp = c.request(rk.api_versions_request(0, i))
            out.append((time.monotonic() - t0) * 1000)
            r = rk.Reader(resp)
            assert r.i32() == i
            assert rk.parse_api_versions(resp[4:], 0)[0] == 0
            time.sleep(0.005)
    return out


def test_fetch_v3_zstd_downconversion_does_not_stall_others(broker):
    topic = unique_topic("abuse-zstd-v3")
    create_topic(broker.bootstrap, topic, 1)
    # One zstd batch of ~1 MB of records (hex text: compresses about 2:1).
    msgs = [Msg(value=os.urandom(256).hex().encode(), partition=0) for i in range(2000)]
    results = produce(broker.bootstrap, topic, msgs,
                      conf={"compression.type": "zstd", "linger.ms": 500, "batch.size": 4 << 20,
                            "batch.num.messages": 10000})
    assert all(d.error is None for d in results)
    high = watermarks(broker.bootstrap, topic, [0])[0][1]

    errors = []
    fetches = [0] * 4
    stop = threading.Event()

    def fetcher(n):
        try:
            with rk.Conn(broker.port, 30.0) as c:
                for i in range(25):
                    resp = c.request(rk.fetch_request(3, i, topic, 0, 0, max_bytes=8 << 20))
                    assert rk.Reader(resp).i32() == i
                    err, hw, records = rk.parse_fetch_partition(resp[4:], 3)
                    assert err == 0 and hw == high, f"fetch answered error {err}, hw {hw}"
                    assert len(records) > 0, "fetch returned no records"
                    assert records[16] in (0, 1), f"magic {records[16]} in a Fetch v3 answer"
                    fetches[n] += 1
        except Exception as e:  # reported below, with the others
            errors.append(repr(e))

    threads = [threading.Thread(target=fetcher, args=(n,)) for n in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()

    def watch():
        for t in threads:
            t.join(timeout=120)
        stop.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        latencies = api_versions_latency(broker.port, 5000, stop)
    finally:
        watcher.join(timeout=130)
    elapsed = time.monotonic() - t0
    assert not errors, errors
    assert fetches == [25] * 4
    lat = sorted(latencies)
    print(f"\nApiVersions latency during 4x25 Fetch v3 (zstd, down-converted) in {elapsed:.1f}s: "
          f"n={len(lat)} median={statistics.median(lat):.2f} ms p99={lat[int(len(lat) * 0.99) - 1]:.2f} ms "
          f"max={lat[-1]:.2f} ms")


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def test_unread_legacy_fetch_responses_bounded(broker):
    topic = unique_topic("abuse-unread")
    create_topic(broker.bootstrap, topic, 1)
    msgs = [Msg(value=os.urandom(1024), partition=0) for _ in range(6 * 1024)]  # 6 MiB, incompressible
    assert all(d.error is None for d in produce(broker.bootstrap, topic, msgs))
    pid = broker.proc.pid
    rss0 = status_kb(pid, "VmRSS")

    conns = [rk.Conn(broker.port, IO_TIMEOUT_S) for _ in range(2)]
    try:
        for c in conns:
            c.sock.setsockopt(rk.socket.SOL_SOCKET, rk.socket.SO_RCVBUF, 4096)
        # 64 pipelined fetches of the whole 6 MiB per connection (the per-connection in-flight
        # bound); the answers are never read.
        for c in conns:
            c.send(b"".join(rk.fetch_request(3, i, topic, 0, 0, max_bytes=16 << 20) for i in range(64)))
        # Let the broker build what it will (bounded wait; stop once RSS is stable for 3 s).
        last, stable_since, deadline = -1, time.monotonic(), time.monotonic() + 40
        while time.monotonic() < deadline:
            rss = status_kb(pid, "VmRSS")
            if abs(rss - last) > 4096:
                last, stable_since = rss, time.monotonic()
            elif time.monotonic() - stable_since > 3:
                break
            time.sleep(0.25)
        peak = status_kb(pid, "VmHWM")
        growth_mib = (peak - rss0) / 1024
        print(f"\nbroker RSS {rss0 / 1024:.0f} MiB -> peak {peak / 1024:.0f} MiB with 2x64 unread "
              f"Fetch v3 responses of 6 MiB")
        assert growth_mib < 450, f"RSS grew by {growth_mib:.0f} MiB: in-memory responses are not bounded"
    finally:
        for c in conns:
            c.close()
    # The broker still serves others once the connections are gone.
    recs = consume_all(broker.bootstrap, topic, [0], timeout=60)[0]
    assert len(recs) == len(msgs)
