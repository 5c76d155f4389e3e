"""Abuse at the connection level (issue 18, findings 4, 6 and 8), with raw sockets:

- out of file descriptors: the accept loop backs off instead of spinning (CPU and log bounded),
  and serves clients again once descriptors are free;
- max.connections (new connections wait for a free slot, as Kafka's acceptor blocks),
  max.connections.per.ip and its overrides (the extra connection is closed at once),
  connections.max.idle.ms (idle connections closed) and slow senders (a request must be complete
  within connections.max.idle.ms of its first byte);
- one connection's requests take effect in the order they were sent (pipelined OffsetCommits and
  non-idempotent Produce requests);
- ApiVersions v3 refuses client software names/versions outside KIP-511's pattern.

Durations are reported (printed), never asserted; every loop is bounded in count and time."""

import os
import resource
import select
import socket
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

import rawkafka as rk
from helpers import base_conf, consume_all, create_topic, unique_topic

IO_TIMEOUT_S = 5.0
INVALID_REQUEST = 42


@pytest.fixture(scope="module")
def broker_config():
    return 1, {}


# ---- raw helpers --------------------------------------------------------------------------------

def api_versions_v3(correlation_id, name="samsa-it", version="0.1"):
    body = rk.compact_string(name) + rk.compact_string(version) + b"\x00"
    return rk.frame(rk.request_header(18, 3, correlation_id, flexible=True) + body)


def connect(port, source="127.0.0.1"):
    return rk.Conn(port, IO_TIMEOUT_S, source=source)


def served(conn, correlation_id=1):
    """True when an ApiVersions request on `conn` is answered; False when the broker closed the
    connection. socket.timeout propagates (no answer and no close)."""
    try:
        body = conn.request(api_versions_v3(correlation_id))
    except rk.Closed:
        return False
    assert rk.Reader(body).i32() == correlation_id
    return True


def open_served(port, count, source="127.0.0.1", deadline_s=15.0):
    """`count` connections from `source`, each answered once. A connection refused meanwhile is
    retried (a slot of a connection closed just before may not be given back yet)."""
    conns = []
    deadline = time.monotonic() + deadline_s
    while len(conns) < count:
        assert time.monotonic() < deadline, f"only {len(conns)} of {count} connections served"
        c = connect(port, source)
        if served(c):
            conns.append(c)
        else:
            c.close()
            time.sleep(0.1)
    return conns


def closed_by_broker(conn, wait_s):
    """True when the broker closes `conn` (EOF or reset) within wait_s seconds."""
    conn.sock.settimeout(wait_s)
    try:
        data = conn.sock.recv(1)
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    finally:
        conn.sock.settimeout(IO_TIMEOUT_S)
    assert not data, "unexpected bytes from the broker"
    return True


def close_all(conns):
    for c in conns:
        c.close()


# ---- finding 4: out of descriptors --------------------------------------------------------------

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_out_of_descriptors_accept_backs_off(make_broker):
    b = make_broker()
    pid = b.proc.pid
    original = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    # The broker raised its soft limit to the hard one at start (and never again): lower the soft
    # limit of the running process to a little above what it holds now, so accepting soon fails
    # with EMFILE.
    limit = open_fds(pid) + 8
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, original[1]))
    conns = []
    try:
        for _ in range(40):  # more than the free descriptors: the rest wait in the backlog
            conns.append(socket.create_connection(("127.0.0.1", b.port), timeout=IO_TIMEOUT_S))
        time.sleep(1.0)  # let the broker reach the limit
        assert open_fds(pid) >= limit - 1, "the broker did not run out of descriptors"
        assert b"Too many open files" in b.stderr_path.read_bytes(), "accept never failed with EMFILE"
        log_before = b.stderr_path.stat().st_size
        cpu_before, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(3.0)
        cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - t0)
        log_lines = b.stderr_path.read_bytes()[log_before:].count(b"\n")
        print(f"at the descriptor limit: {cpu:.1%} of a core, {log_lines} log lines in 3 s")
        assert cpu < 0.3, f"the broker burns {cpu:.0%} of a core while out of descriptors"
        assert log_lines <= 20, f"{log_lines} log lines in 3 s while out of descriptors"
    finally:
        for s in conns:
            s.close()
    # Descriptors free again (limit still low): a new client is served within the back-off.
    deadline = time.monotonic() + 20
    t0 = time.monotonic()
    while True:
        c = rk.Conn(b.port, IO_TIMEOUT_S)
        try:
            if served(c):
                break
        except socket.timeout:
            pass
        finally:
            c.close()
        assert time.monotonic() < deadline, "no client served after descriptors were freed"
        time.sleep(0.2)
    print(f"served again {time.monotonic() - t0:.2f} s after closing the connections")
    resource.prlimit(pid, resource.RLIMIT_NOFILE, original)
    # And a real client works.
    p = Producer({**base_conf(b.bootstrap), "message.timeout.ms": 15000})
    errors = []
    p.produce(unique_topic("fd"), b"v", on_delivery=lambda err, m: errors.append(err))
    assert p.flush(20) == 0
    assert errors == [None]


# ---- finding 4: connection limits ---------------------------------------------------------------

def test_max_connections_per_ip_and_overrides(make_broker):
    b = make_broker(overrides={"max.connections.per.ip": "1",
                               "max.connections.per.ip.overrides": "127.0.0.1:3"})
    conns = open_served(b.port, 3)  # the override for 127.0.0.1
    try:
        extra = connect(b.port)
        assert not served(extra), "a 4th connection from 127.0.0.1 (override 3) was served"
        extra.close()
        other = open_served(b.port, 1, source="127.0.0.2")  # the default of 1 for another address
        conns += other
        extra = connect(b.port, source="127.0.0.2")
        assert not served(extra), "a 2nd connection from 127.0.0.2 (max.connections.per.ip=1) was served"
        extra.close()
        conns.pop(0).close()
        conns += open_served(b.port, 1)  # a closed connection frees its address's slot
    finally:
        close_all(conns)


def test_max_connections_waits_for_a_free_slot(make_broker):
    b = make_broker(overrides={"max.connections": "3"})
    conns = open_served(b.port, 3)
    waiting = rk.Conn(b.port, IO_TIMEOUT_S)
    try:
        waiting.send(api_versions_v3(9))
        waiting.sock.settimeout(2.0)
        with pytest.raises(socket.timeout):  # neither answered nor closed: it waits (Kafka's acceptor blocks)
            waiting.recv_frame()
        waiting.sock.settimeout(15.0)
        t0 = time.monotonic()
        conns.pop().close()
        body = waiting.recv_frame()
        assert rk.Reader(body).i32() == 9
        print(f"waiting connection served {time.monotonic() - t0:.2f} s after a slot was freed")
    finally:
        waiting.close()
        close_all(conns)


@pytest.fixture
def idle_broker(make_broker):
    return make_broker(overrides={"connections.max.idle.ms": "2000"})


def test_idle_connection_closed(idle_broker):
    with rk.Conn(idle_broker.port, IO_TIMEOUT_S) as c:
        assert served(c)
        t0 = time.monotonic()
        assert closed_by_broker(c, 20.0), "an idle connection stayed open 20 s (connections.max.idle.ms=2000)"
        print(f"idle connection closed after {time.monotonic() - t0:.2f} s")


def test_slow_sender_disconnected(idle_broker):
    """One byte per half second: the request (~30 bytes) would take 15 s; the broker must cut the
    connection because the request is not complete within connections.max.idle.ms (2 s)."""
    data = api_versions_v3(5)
    c = rk.Conn(idle_broker.port, IO_TIMEOUT_S)
    t0 = time.monotonic()
    cut = False
    try:
        for i in range(len(data)):
            try:
                c.send(data[i:i + 1])
            except (rk.Closed, OSError):
                cut = True
                break
            readable, _, _ = select.select([c.sock], [], [], 0.5)
            if readable and closed_by_broker(c, 0.1):
                cut = True
                break
        if not cut:
            cut = closed_by_broker(c, 5.0)
    finally:
        c.close()
    print(f"slow sender cut after {time.monotonic() - t0:.2f} s")
    assert cut, "a request trickling in at 2 bytes/s was answered or left open"


def test_idle_limit_spares_a_busy_connection(idle_broker):
    """Requests every second for 5 s on a 2 s idle limit: never closed."""
    with rk.Conn(idle_broker.port, IO_TIMEOUT_S) as c:
        for i in range(5):
            assert served(c, 100 + i), "an active connection was closed as idle"
            time.sleep(1.0)


# ---- finding 6: request order per connection ----------------------------------------------------

def offset_commit_v2(correlation_id, group, topic, partition, offset):
    body = (rk.string(group) + rk.i32(-1) + rk.string("") + rk.i64(-1)
            + rk.i32(1) + rk.string(topic) + rk.i32(1)
            + rk.i32(partition) + rk.i64(offset) + rk.string(None))
    return rk.frame(rk.request_header(8, 2, correlation_id) + body)


def offset_commit_error(body):
    r = rk.Reader(body[4:])
    assert r.i32() == 1
    r.string()
    assert r.i32() == 1
    r.i32()
    return r.i16()


def committed_offset(bootstrap, group, topic):
    c = Consumer({**base_conf(bootstrap), "group.id": group, "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, 0)], timeout=15)[0].offset
    finally:
        c.close()


def pipeline_commits_and_produces(broker, topic, group, n, first_value):
    """n OffsetCommits (offsets 1..n) interleaved with n non-idempotent acks=all Produce requests
    (values first_value.. in order), all written at once on one connection; every answer must be
    a success, in order. Returns the produce base offsets."""
    frames, kinds = [], []
    for i in range(n):
        frames.append(offset_commit_v2(1000 + 2 * i, group, topic, 0, i + 1))
        kinds.append("commit")
        batch = rk.record_batch([(None, str(first_value + i).encode())])
        frames.append(rk.produce_request(7, 1001 + 2 * i, topic, 0, batch, acks=-1))
        kinds.append("produce")
    offsets = []
    with rk.Conn(broker.port, 30.0) as c:
        sender = threading.Thread(target=c.send, args=(b"".join(frames),), daemon=True)
        sender.start()
        for i, kind in enumerate(kinds):
            body = c.recv_frame()
            assert rk.Reader(body).i32() == 1000 + i, "answers out of order"
            if kind == "commit":
                assert offset_commit_error(body) == 0
            else:
                err, base = rk.parse_produce_partition(body[4:], 7)
                assert err == 0
                offsets.append(base)
        sender.join(10)
    return offsets


def test_pipelined_requests_take_effect_in_order(broker):
    """Three rounds (a fresh group each) of 200 pipelined OffsetCommits and 200 Produce requests
    for one partition: the last commit sent is the one that stays, the records are stored in send
    order. (Handled concurrently, the final commit was a wrong one in most rounds.)"""
    topic = unique_topic("order")
    create_topic(broker.bootstrap, topic, 1)
    n, rounds = 200, 3
    for r in range(rounds):
        group = unique_topic("order-group")
        committed_offset(broker.bootstrap, group, topic)  # the offsets topic and coordinator are ready
        offsets = pipeline_commits_and_produces(broker, topic, group, n, r * n)
        assert offsets == sorted(offsets), "produce requests appended out of order"
        assert committed_offset(broker.bootstrap, group, topic) == n, \
            f"round {r}: an earlier commit overwrote a later one"
    values = [rec.value for rec in consume_all(broker.bootstrap, topic, [0])[0]]
    assert values == [str(i).encode() for i in range(rounds * n)]


def fetch_v4(correlation_id, topic, partition, offset, max_wait_ms, min_bytes):
    body = (rk.i32(-1) + rk.i32(max_wait_ms) + rk.i32(min_bytes) + rk.i32(1 << 20) + rk.i8(0)
            + rk.i32(1) + rk.string(topic) + rk.i32(1) + rk.i32(partition) + rk.i64(offset)
            + rk.i32(1 << 20))
    return rk.frame(rk.request_header(1, 4, correlation_id) + body)


def test_client_gone_during_long_poll_fetch(broker):
    """A client sends a long-poll Fetch (answered from the segment file with sendfile) and a
    request behind it, then disconnects: the answer is sent to a closed socket later, which must
    fail that send, not kill the broker with SIGPIPE."""
    topic = unique_topic("gone")
    create_topic(broker.bootstrap, topic, 1)
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        batch = rk.record_batch([(None, b"x" * 1000)])
        assert rk.parse_produce_partition(c.request(rk.produce_request(7, 1, topic, 0, batch))[4:], 7)[0] == 0
    for _ in range(3):
        c = rk.Conn(broker.port, IO_TIMEOUT_S)
        c.send(fetch_v4(2, topic, 0, 0, 1500, 1 << 20) + api_versions_v3(3))
        c.close()
    time.sleep(2.5)  # the fetches answer after max_wait, to closed sockets
    assert broker.alive(), "the broker died writing to a closed connection"
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        assert served(c)


# ---- finding 8: ApiVersions v3 client software fields -------------------------------------------

@pytest.mark.parametrize("name,version", [
    ("bad name", "1.0"), ("", "1.0"), ("-lead", "1.0"), ("trail.", "1.0"), ("ok", ""),
    ("ok", "1.0+build"), ("ok", "1_0"), ("ünï", "1.0"),
])
def test_api_versions_invalid_client_software(broker, name, version):
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        body = c.request(api_versions_v3(3, name, version))
        assert rk.Reader(body).i32() == 3
        error, apis = rk.parse_api_versions(body[4:], 3)
        assert error == INVALID_REQUEST
        assert apis == {}, "Kafka lists no api keys with INVALID_REQUEST"
        assert served(c, 4), "the connection stays usable"


@pytest.mark.parametrize("name,version", [("apache-kafka-java", "3.7.0"), ("a", "1"), ("librdkafka", "2.0.2-RC1.x")])
def test_api_versions_valid_client_software(broker, name, version):
    with rk.Conn(broker.port, IO_TIMEOUT_S) as c:
        body = c.request(api_versions_v3(3, name, version))
        error, apis = rk.parse_api_versions(body[4:], 3)
        assert error == 0 and 18 in apis
