"""Raw-socket protocol tests: ApiVersions at every version and at an unsupported one,
unknown APIs, pipelining, corrupt record batches, and a barrage of malformed frames after which
the broker must still be alive and serve a normal client. Every socket operation has a timeout:
a hang is a failure, never a stuck suite."""

import random
import socket

import pytest

import rawkafka as rk
from helpers import (Msg, assert_delivered, consume_all, contents, create_topic,
                     expected_by_partition, produce, unique_topic, watermarks)

UNSUPPORTED_VERSION = 35
SOCKET_REQUEST_MAX_BYTES = 104857600  # Kafka's default socket.request.max.bytes
IO_TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def broker_config():
    return 1, {}


def api_versions(port, version, correlation_id=7):
    with rk.Conn(port, IO_TIMEOUT_S) as c:
        body = c.request(rk.api_versions_request(version, correlation_id))
    r = rk.Reader(body)
    assert r.i32() == correlation_id
    return rk.parse_api_versions(body[4:], version)


@pytest.fixture(scope="module")
def supported(broker):
    error, apis = api_versions(broker.port, 0)
    assert error == 0
    return apis


def test_api_versions_v0_to_v3(broker):
    answers = {}
    for version in range(4):
        error, apis = api_versions(broker.port, version, correlation_id=1000 + version)
        assert error == 0, f"ApiVersions v{version}: error {error}"
        answers[version] = apis
    apis = answers[0]
    for version in range(1, 4):
        assert answers[version] == apis, f"v{version} lists different ranges than v0"
    assert apis[18][0] == 0 and apis[18][1] >= 3, f"ApiVersions range {apis[18]}"
    for key in (0, 1, 2, 3):  # Produce, Fetch, ListOffsets, Metadata
        assert key in apis, f"api key {key} missing from {sorted(apis)}"
    for key, (lo, hi) in apis.items():
        assert 0 <= lo <= hi, f"api {key}: bad range {lo}..{hi}"


def test_api_versions_twice_on_one_connection(broker):
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        for cid, version in ((1, 3), (2, 0)):
            body = c.request(rk.api_versions_request(version, cid))
            assert rk.Reader(body).i32() == cid
            assert rk.parse_api_versions(body[4:], version)[0] == 0


@pytest.mark.parametrize("version", ["max+1", 99, 32767])
def test_api_versions_unsupported_version(broker, supported, version):
    """An ApiVersions request newer than the broker knows is answered (not dropped) with
    UNSUPPORTED_VERSION in a v0-format body that still lists the ApiVersions range, so that
    the client can retry with a version the broker has."""
    if version == "max+1":
        version = supported[18][1] + 1
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        body = c.request(rk.api_versions_request(version, 4242))
    assert rk.Reader(body).i32() == 4242
    error, apis = rk.parse_api_versions(body[4:], 0)
    assert error == UNSUPPORTED_VERSION
    assert 18 in apis and apis[18] == supported[18]


def expect_answer_or_close(conn, correlation_id):
    """After a request the broker cannot serve: either a response carrying our correlation id,
    or a closed connection. A hang (socket timeout) fails the test."""
    try:
        body = conn.recv_frame()
    except rk.Closed:
        return "closed"
    except socket.timeout:
        pytest.fail("broker neither answered nor closed the connection: it hangs")
    assert rk.Reader(body).i32() == correlation_id
    return "answered"


@pytest.mark.parametrize("case", ["unknown-key", "metadata-too-new", "produce-too-old"])
def test_unknown_api_or_version(broker, supported, case):
    if case == "unknown-key":
        key, version = 9999, 0
        assert key not in supported
    elif case == "metadata-too-new":
        key, version = 3, supported[3][1] + 50
    else:
        key, version = 0, supported[0][0] - 1
        if version < 0:
            key, version = 0, supported[0][1] + 50  # Produce has no older version to refuse
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        c.send(rk.frame(rk.request_header(key, version, 555) + b"\x00" * 16))
        outcome = expect_answer_or_close(c, 555)
        if outcome == "answered":
            # An answered connection must still be usable.
            body = c.request(rk.api_versions_request(0, 556))
            assert rk.Reader(body).i32() == 556
    assert api_versions(broker.port, 3)[0] == 0


def test_pipelined_requests_answered_in_order(broker):
    versions = [0, 1, 2, 3, 3, 2, 1, 0, 3, 3]
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        c.send(b"".join(rk.api_versions_request(v, 100 + i) for i, v in enumerate(versions)))
        for i, v in enumerate(versions):
            body = c.recv_frame()
            assert rk.Reader(body).i32() == 100 + i, "responses out of order"
            assert rk.parse_api_versions(body[4:], v)[0] == 0


def test_request_in_one_byte_writes(broker):
    data = rk.api_versions_request(3, 77)
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        for b in data:
            c.send(bytes([b]))
        body = c.recv_frame()
    assert rk.Reader(body).i32() == 77
    assert rk.parse_api_versions(body[4:], 3)[0] == 0


def test_corrupt_record_batches_rejected(broker, supported):
    """Produce with hand-built batches: a valid one is stored; corrupt ones are refused with an
    error code (or the connection is closed) and leave nothing in the log."""
    lo, hi = supported[0]
    version = min(hi, 7)
    assert lo <= version and version >= 3, f"Produce range {supported[0]}"
    topic = unique_topic("raw")
    create_topic(broker.bootstrap, topic, 1)

    def send(batch_bytes, cid):
        with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
            c.send(rk.produce_request(version, cid, topic, 0, batch_bytes))
            try:
                body = c.recv_frame()
            except rk.Closed:
                return None
            except socket.timeout:
                pytest.fail(f"no answer to Produce #{cid}")
        assert rk.Reader(body).i32() == cid
        return rk.parse_produce_partition(body[4:], version)

    assert send(rk.record_batch([(b"k0", b"first")]), 1) == (0, 0)

    good = rk.record_batch([(b"k", b"v"), (b"k2", b"v2")])
    flipped = bytearray(good)
    flipped[-3] ^= 0xFF  # inside the last record: CRC no longer matches
    wrong_length = bytearray(good)
    wrong_length[8:12] = rk.i32(len(good) + 100)
    corrupt = {
        "bad crc": bytes(flipped),
        "crc field": rk.record_batch([(b"k", b"v")], crc=12345),
        "magic 1": rk.record_batch([(b"k", b"v")], magic=1),
        "magic 3": rk.record_batch([(b"k", b"v")], magic=3),
        "count too high": rk.record_batch([(b"k", b"v")], count=5),
        "count negative": rk.record_batch([(b"k", b"v")], count=-7),
        "batch length too long": bytes(wrong_length),
        "truncated": good[:40],
        "two batches": good + good,  # v3+ allows exactly one batch per partition
        "empty records": b"",
        "null records": None,
        "garbage": bytes(random.Random(5).randbytes(90)),
    }
    for i, (name, data) in enumerate(corrupt.items()):
        answer = send(data, 10 + i)
        assert answer is None or answer[0] != 0, f"{name}: corrupt batch accepted: {answer}"

    assert send(rk.record_batch([(b"k1", b"second")]), 2) == (0, 1), \
        "valid batch after the corrupt ones must land at offset 1"
    assert watermarks(broker.bootstrap, topic, [0]) == {0: (0, 2)}
    got = consume_all(broker.bootstrap, topic, [0])
    assert [(r.key, r.value) for r in got[0]] == [(b"k0", b"first"), (b"k1", b"second")]


# ---- the barrage ------------------------------------------------------------------------------

def _huge_size(rng):
    return rk.i32(rng.choice([SOCKET_REQUEST_MAX_BYTES + 1, 0x7FFFFFFF, 0x40000000]))


def _negative_size(rng):
    return rk.i32(rng.choice([-1, -4, -0x80000000, -rng.randint(1, 1 << 30)]))


def malformed_case(rng, i, supported):
    """(description, bytes, mode). mode "close": the broker must close the connection by itself
    (size prefixes it must refuse). "eof": we half-close after sending (the frame can never
    complete); the broker must close too. "any": a complete frame; the broker answers or
    closes, promptly."""
    kind = i % 10
    if kind == 0:
        n = rng.randint(1, 300)
        return "random bytes", rng.randbytes(n), "eof"
    if kind == 1:
        return "huge size prefix", _huge_size(rng) + rng.randbytes(rng.randint(0, 20)), "close"
    if kind == 2:
        return "negative size prefix", _negative_size(rng) + rng.randbytes(rng.randint(0, 20)), \
            "close"
    if kind == 3:
        # A complete frame too short for a request header.
        payload = rng.randbytes(rng.randint(0, 7))
        return f"{len(payload)}-byte frame", rk.frame(payload), "any"
    if kind == 4:
        # Header whose client_id length runs past the end of the frame.
        payload = rk.i16(18) + rk.i16(0) + rk.i32(i) + rk.i16(rng.choice([50, 0x7FFF])) + b"ab"
        return "client_id past frame end", rk.frame(payload), "any"
    if kind == 5:
        # Size prefix promises more than is ever sent.
        payload = rk.request_header(18, 0, i)
        return "truncated frame", rk.i32(len(payload) + rng.randint(1, 5000)) + payload, "eof"
    if kind == 6:
        # Known API, supported version, random body. (Fetch is left out: a random but valid
        # Fetch may legitimately wait max_wait_ms.)
        key = rng.choice([k for k in (0, 2, 3, 18, 19, 20, 32, 37) if k in supported])
        lo, hi = supported[key]
        version = rng.randint(lo, hi)
        flexible = _is_flexible(key, version)
        body = rng.randbytes(rng.randint(0, 200))
        return (f"api {key} v{version} garbage body",
                rk.frame(rk.request_header(key, version, i, flexible=flexible) + body), "any")
    if kind == 7:
        # Array counts / string lengths far beyond the frame: must not be allocated.
        choice = rng.randint(0, 3)
        if choice == 0:  # Metadata v1 topics array count
            body = rk.i32(0x7FFFFFFF)
            return "metadata huge array", rk.frame(rk.request_header(3, 1, i) + body), "any"
        if choice == 1:  # Produce v3 topics array count
            body = rk.string(None) + rk.i16(1) + rk.i32(1000) + rk.i32(0x7FFFFFF0)
            return "produce huge array", rk.frame(rk.request_header(0, 3, i) + body), "any"
        if choice == 2:  # ApiVersions v3 compact string length
            body = rk.uvarint(0xFFFFFFFF) + b"x"
            return "compact string huge", \
                rk.frame(rk.request_header(18, 3, i, flexible=True) + body), "any"
        body = rk.string(None) + rk.i16(1) + rk.i32(1000) + rk.i32(1) + rk.string("t") + \
            rk.i32(1) + rk.i32(0) + rk.i32(0x7FFFFFFF) + b"\x00" * 16
        return "produce records length huge", rk.frame(rk.request_header(0, 3, i) + body), "any"
    if kind == 8:
        # Flexible header with a bogus tagged-field section.
        payload = rk.request_header(18, 3, i) + rk.uvarint(5) + rk.uvarint(1) + \
            rk.uvarint(0x7FFFFFFF) + b"zz"
        return "bad tagged fields", rk.frame(payload), "any"
    # A valid request followed by garbage on the same connection.
    return "valid then garbage", rk.api_versions_request(0, i) + rng.randbytes(64), "any"


def _is_flexible(key, version):
    first_flexible = {0: 9, 2: 6, 3: 9, 18: 3, 19: 5, 20: 4, 32: 4, 37: 2}
    return version >= first_flexible.get(key, 1 << 15)


def _run_case(port, data, mode):
    """Returns None if the broker behaved, else a description of what went wrong."""
    try:
        conn = rk.Conn(port, IO_TIMEOUT_S)
    except ConnectionRefusedError:
        return "connection refused: broker is gone"
    with conn:
        try:
            conn.send(data)
        except rk.Closed:
            return None  # closed while we were still writing: fine
        if mode == "eof":
            conn.shutdown_write()
        # Drain answers until the broker closes ("close"/"eof"), or until the first answer or
        # close ("any").
        try:
            while True:
                conn.recv_frame(max_size=16 << 20)
                if mode == "any":
                    return None
        except rk.Closed:
            return None
        except socket.timeout:
            what = {"close": "did not close a connection with an invalid size prefix",
                    "eof": "did not close a half-closed connection with an incomplete frame",
                    "any": "neither answered nor closed"}[mode]
            return f"{what} within {IO_TIMEOUT_S}s"
        except AssertionError as e:
            return f"bad response frame: {e}"


def test_malformed_frames_then_normal_client(broker, supported):
    rng = random.Random(20240611)
    failures = []
    for i in range(100):
        what, data, mode = malformed_case(rng, i, supported)
        problem = _run_case(broker.port, data, mode)
        if problem:
            failures.append(f"#{i} {what} ({data[:24].hex()}...): {problem}")
            if "broker is gone" in problem or len(failures) >= 5:
                break
    assert broker.alive(), f"broker died; failures so far: {failures}"
    assert not failures, "\n".join(failures)

    # Still a working broker for a normal client.
    assert api_versions(broker.port, 3)[0] == 0
    topic = unique_topic("after-barrage")
    create_topic(broker.bootstrap, topic, 2)
    msgs = [Msg(key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("h", b"1")])
            for i in range(50)]
    results = produce(broker.bootstrap, topic, msgs, {"acks": "all"})
    assert_delivered(results, msgs)
    assert contents(consume_all(broker.bootstrap, topic, [0, 1])) == \
        expected_by_partition(msgs, results)
    assert broker.alive()
