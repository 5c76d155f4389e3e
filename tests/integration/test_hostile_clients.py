"""Hostile clients (issue 18): many abusive raw-socket clients at once against one broker while a
well-behaved confluent_kafka client produces (acks=all) and consumes. The good client must see
no error and read every record it produced exactly once, in order; each abusive request gets
the answer Kafka gives it; the broker stays alive with a bounded RSS. Produce and consume
latency percentiles are printed (run with -s), never asserted.

Every abusive client is a thread, bounded in count and in time (HOSTILE_S), on loopback only.
SAMSA_HOSTILE_SKIP=name,name skips abusive clients by name (for debugging a broker that dies
of one of them)."""

import os
import random
import signal
import socket
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

import abuse as ab
import rawkafka as rk
from helpers import Msg, base_conf, consume_all, create_topic, produce, unique_topic

HOSTILE_S = 20                 # how long the abusive clients run
RSS_LIMIT = 1536 << 20         # the broker's RSS must stay below 1.5 GiB
GOOD_RATE = 300                # records a second the good client produces
SKIP = set(filter(None, os.environ.get("SAMSA_HOSTILE_SKIP", "").split(",")))


@pytest.fixture(scope="module")
def broker_config():
    return 1, {"group.initial.rebalance.delay.ms": "0"}


class Run:
    """Shared state of one run: the stop flag, and what each abusive client found wrong."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.deadline = time.monotonic() + HOSTILE_S
        self.problems = []
        self.lock = threading.Lock()
        self.held = []  # sockets kept open until the end

    def running(self):
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def problem(self, name, what):
        with self.lock:
            self.problems.append(f"{name}: {what}")

    def hold(self, sock):
        with self.lock:
            self.held.append(sock)

    def close_held(self):
        with self.lock:
            for s in self.held:
                try:
                    s.close()
                except OSError:
                    pass
            self.held.clear()


def answered_or_closed(conn, timeout=10.0):
    """After a bad request: the broker answers or closes; it must not leave it hanging."""
    conn.sock.settimeout(timeout)
    try:
        return conn.recv_frame()
    except rk.Closed:
        return None


# ---- abusive clients (each returns when run.running() turns false or its count is spent) -----

def garbage_frames(run):
    rnd = random.Random(1)
    for _ in range(200):
        if not run.running():
            return
        try:
            with rk.Conn(run.port, timeout=5) as c:
                n = rnd.randrange(0, 64)
                c.send(rk.i32(n) + bytes(rnd.randrange(256) for _ in range(n)))
                answered_or_closed(c, timeout=2)
        except (rk.Closed, OSError):
            pass
        time.sleep(0.05)


def oversized_frames(run):
    for size in [2 ** 31 - 1, 1 << 30, 200 << 20, (100 << 20) + 1] * 10:
        if not run.running():
            return
        try:
            with rk.Conn(run.port, timeout=5) as c:
                c.send(rk.i32(size) + rk.request_header(18, 0, 1))
                if answered_or_closed(c) is not None:
                    run.problem("oversized_frames", f"size prefix {size} answered instead of closed")
        except socket.timeout:
            run.problem("oversized_frames", f"size prefix {size}: neither answered nor closed")
        except (rk.Closed, OSError):
            pass
        time.sleep(0.1)


def truncated_then_silent(run):
    for _ in range(20):
        if not run.running():
            return
        s = socket.create_connection(("127.0.0.1", run.port), timeout=5)
        s.sendall(rk.i32(1000) + rk.request_header(3, 1, 1)[:8])
        run.hold(s)
        time.sleep(0.2)


def slow_sender(run):
    """An ApiVersions request written one byte per second."""
    for _ in range(3):
        if not run.running():
            return
        data = rk.api_versions_request(0, 1)
        s = socket.create_connection(("127.0.0.1", run.port), timeout=5)
        run.hold(s)
        try:
            for b in data:
                if not run.running():
                    break
                s.sendall(bytes([b]))
                time.sleep(1.0)
        except OSError:
            pass  # closed by the broker: allowed (a request-receive timeout)


def idle_connections(run):
    for _ in range(50):
        if not run.running():
            return
        run.hold(socket.create_connection(("127.0.0.1", run.port), timeout=5))
        time.sleep(0.05)


def expect_answer_or_close(run, name, frame, what):
    """Sends one bad request on a fresh connection: answered or closed, never left hanging."""
    try:
        with rk.Conn(run.port, timeout=5) as c:
            c.send(frame)
            answered_or_closed(c)
    except socket.timeout:
        run.problem(name, f"{what}: no answer, no close")
    except (rk.Closed, OSError):
        pass


def random_after_header(run):
    rnd = random.Random(2)
    for i in range(60):
        if not run.running():
            return
        key, version = rnd.choice([(0, 7), (1, 11), (3, 1), (8, 7), (11, 5), (19, 4), (20, 3)])
        body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
        expect_answer_or_close(run, "random_after_header", rk.frame(rk.request_header(key, version, i) + body),
                               f"api {key} v{version} with a garbage body")
        time.sleep(0.05)


def unknown_apis(run):
    for key, version in [(999, 0), (18, 99), (0, 99), (3, 77), (-1, 0), (32767, 32767)] * 5:
        if not run.running():
            return
        expect_answer_or_close(run, "unknown_apis", rk.frame(rk.request_header(key, version, 5)),
                               f"api {key} v{version}")
        time.sleep(0.1)


def admin_abuse(run):
    with ab.Client(run.port) as c:
        name = unique_topic("huge")
        for validate_only in (True, False):
            got = c.create_topics([(name, 2147483647, 1)], validate_only=validate_only)
            if got[name][0] not in (ab.POLICY_VIOLATION, ab.INVALID_PARTITIONS):
                run.problem("admin_abuse", f"CreateTopics 2^31-1 partitions (validate_only={validate_only}): {got}")
        got = c.create_topics([("__cluster_metadata", 1, 1)])
        if got["__cluster_metadata"][0] != ab.INVALID_REQUEST:
            run.problem("admin_abuse", f"CreateTopics __cluster_metadata: {got}")
        c.wait_coordinator("hostile-admin")  # makes sure __consumer_offsets exists
        got = c.delete_topics(["__consumer_offsets"])
        if got.get("__consumer_offsets") not in (ab.TOPIC_AUTHORIZATION_FAILED, ab.INVALID_REQUEST,
                                                 ab.INVALID_TOPIC_EXCEPTION):
            run.problem("admin_abuse", f"DeleteTopics __consumer_offsets: {got}")
        md = c.metadata_topics(["__consumer_offsets"])
        if md.get("__consumer_offsets", (None,))[0] != ab.NONE:
            run.problem("admin_abuse", f"__consumer_offsets gone after DeleteTopics: {md}")
        md = c.metadata_topics([])
        if "__cluster_metadata" in md:
            run.problem("admin_abuse", "Metadata lists __cluster_metadata")


def malformed_records(run, topic):
    """Between two valid batches, every malformed one is refused; consumers must still reach
    the second valid batch (checked at the end)."""
    with ab.Client(run.port) as c:
        err, _ = c.produce(topic, 0, rk.record_batch([(b"k", b"before")]))
        if err != ab.NONE:
            run.problem("malformed_records", f"valid batch refused: {err}")
        for name, batch in ab.malformed_batches().items():
            err, _ = c.produce(topic, 0, batch)
            if err not in (ab.CORRUPT_MESSAGE, ab.INVALID_RECORD):
                run.problem("malformed_records", f"{name}: error {err}, not CORRUPT_MESSAGE/INVALID_RECORD")
        err, _ = c.produce(topic, 0, rk.record_batch([(b"k", b"after")]))
        if err != ab.NONE:
            run.problem("malformed_records", f"valid batch after the malformed ones refused: {err}")


def unread_fetches(run, topic, clients=4, requests=25):
    """Fetch v3 (down-conversion) of a zstd batch, pipelined, responses never read."""
    socks = []
    for _ in range(clients):
        s = socket.create_connection(("127.0.0.1", run.port), timeout=2)
        run.hold(s)
        socks.append(s)
    for i in range(requests):
        for s in list(socks):
            try:
                s.sendall(ab.fetch_v3_request(i, topic, 0, 0))
            except OSError:
                socks.remove(s)  # the broker stopped reading this one: back-pressure, allowed
        if not socks or not run.running():
            return
        time.sleep(0.05)


def pipelined_commits(run, topic):
    """50 OffsetCommits (offsets 1..50) back to back on one connection: all succeed, in order,
    and the committed offset afterwards is the last one sent."""
    group = f"hostile-commits-{uuid.uuid4().hex[:6]}"
    with ab.Client(run.port, timeout=30) as c:
        c.wait_coordinator(group)
        # FindCoordinator names the coordinator while it may still be loading the group's partition
        # (as in Kafka: a commit then gets COORDINATOR_LOAD_IN_PROGRESS, which clients retry). One
        # commit taken first, then the pipeline.
        deadline = time.monotonic() + 30
        while (first := c.offset_commit(group, -1, "", None, topic, {0: 0})) != {0: ab.NONE}:
            if time.monotonic() > deadline:
                run.problem("pipelined_commits", f"a single commit still answered {first} after 30 s")
                return
            time.sleep(0.2)
        frames = b"".join(ab.offset_commit_v2_request(1000 + i, group, topic, 0, i) for i in range(1, 51))
        c.conn.send(frames)
        for i in range(1, 51):
            r = rk.Reader(c.conn.recv_frame())
            cid = r.i32()
            if cid != 1000 + i:
                run.problem("pipelined_commits", f"response {i} has correlation id {cid}")
                return
            r.i32(), r.string(), r.i32(), r.i32()  # topics: 1, name, partitions: 1, index
            if (err := r.i16()) != ab.NONE:
                run.problem("pipelined_commits", f"commit {i}: error {err}")
        got = c.offset_fetch(group, topic, [0])
        if got != {0: 50}:
            run.problem("pipelined_commits", f"committed offset {got}, last commit sent was 50")


def bad_software_name(run):
    with rk.Conn(run.port, timeout=10) as c:
        for name in ["bad name!", "-leading-dash", "trailing.", "", "x" * 10 + "\u00e9"]:
            body = c.request(ab.api_versions_v3_request(3, name))
            err = struct_error(body)
            if err != ab.INVALID_REQUEST:
                run.problem("bad_software_name", f"client_software_name {name!r}: error {err}")


def struct_error(body):
    r = rk.Reader(body)
    r.i32()  # correlation id (ApiVersions responses keep header v0)
    return r.i16()


# ---- the well-behaved client ------------------------------------------------------------------

def percentiles(samples):
    if not samples:
        return "no samples"
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000
    return (f"n={len(s)} p50={pick(0.5):.1f}ms p90={pick(0.9):.1f}ms p99={pick(0.99):.1f}ms "
            f"max={s[-1] * 1000:.1f}ms")


class GoodClient:
    def __init__(self, bootstrap, topic):
        self.topic = topic
        self.errors = []
        self.produce_latency, self.consume_latency = [], []
        self.sent, self.acked, self.received = [], [], []
        conf = base_conf(bootstrap)
        self.producer = Producer({**conf, "acks": "all", "linger.ms": 0, "message.timeout.ms": 60000,
                                  "error_cb": lambda e: self.errors.append(f"producer: {e}")})
        self.consumer = Consumer({**conf, "group.id": "good-reader", "enable.auto.commit": False,
                                  "error_cb": lambda e: self.errors.append(f"consumer: {e}")})
        self.consumer.assign([TopicPartition(topic, 0, 0)])
        self.sent_at = {}

    def produce_one(self, i):
        value = f"good-{i:06d}".encode()
        self.sent.append(value)
        self.sent_at[value] = time.monotonic()

        def cb(err, msg):
            if err is not None:
                self.errors.append(f"delivery of {value}: {err}")
            else:
                self.acked.append(value)
                self.produce_latency.append(time.monotonic() - self.sent_at[value])

        self.producer.produce(self.topic, value=value, partition=0, on_delivery=cb)
        self.producer.poll(0)

    def consume(self, timeout):
        m = self.consumer.poll(timeout)
        if m is None:
            return
        if m.error():
            self.errors.append(f"consume: {m.error()}")
            return
        self.received.append(m.value())
        if m.value() in self.sent_at:
            self.consume_latency.append(time.monotonic() - self.sent_at[m.value()])

    def run(self, run, alive):
        """Produces GOOD_RATE records a second for as long as the abusive clients run, reading
        as it goes; then waits for every acknowledgement and every record."""
        i, start = 0, time.monotonic()
        while run.running() and i < GOOD_RATE * HOSTILE_S:
            if i < (time.monotonic() - start) * GOOD_RATE:
                self.produce_one(i)
                i += 1
            self.consume(0.002)
        deadline = time.monotonic() + 60  # (not waited for once the broker is dead)
        while len(self.producer) and alive() and time.monotonic() < deadline:
            self.producer.poll(0.2)
        if len(self.producer):
            self.errors.append(f"{len(self.producer)} records undelivered")
        deadline = time.monotonic() + 60
        while len(self.received) < len(self.sent) and alive() and time.monotonic() < deadline:
            self.consume(0.2)

    def close(self):
        self.consumer.close()


# ---- the test ---------------------------------------------------------------------------------

def test_hostile_clients_do_not_disturb_a_good_client(broker):
    good_topic = unique_topic("good")
    victim = unique_topic("victim")
    zstd_topic = unique_topic("zstd")
    for t in (good_topic, victim, zstd_topic):
        create_topic(broker.bootstrap, t, 1)
    rnd = random.Random(3)
    # One zstd batch of ~2000 records, ~130 KB compressed, to be down-converted by Fetch v3.
    produce(broker.bootstrap, zstd_topic,
            [Msg(value=rnd.randbytes(64).hex().encode(), partition=0) for _ in range(2000)],
            conf={"compression.type": "zstd", "linger.ms": 500, "batch.size": 1 << 20,
                  "batch.num.messages": 10000})

    run = Run(broker.port)
    pid = broker.proc.pid
    rss = {"max": ab.rss_bytes(pid), "killed": False}

    def sample_rss():
        while not run.stop.is_set():
            v = ab.rss_bytes(pid)
            rss["max"] = max(rss["max"], v)
            if v > RSS_LIMIT and not rss["killed"]:
                rss["killed"] = True  # protect the machine: the test fails on the bound anyway
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    hostile = {
        "garbage_frames": (garbage_frames, ()),
        "oversized_frames": (oversized_frames, ()),
        "truncated_then_silent": (truncated_then_silent, ()),
        "slow_sender": (slow_sender, ()),
        "idle_connections": (idle_connections, ()),
        "random_after_header": (random_after_header, ()),
        "unknown_apis": (unknown_apis, ()),
        "admin_abuse": (admin_abuse, ()),
        "malformed_records": (malformed_records, (victim,)),
        "unread_fetches": (unread_fetches, (zstd_topic,)),
        "pipelined_commits": (pipelined_commits, (good_topic,)),
        "bad_software_name": (bad_software_name, ()),
    }

    def guarded(name, fn, args):
        try:
            fn(run, *args)
        except Exception as e:  # an abusive client's own failure is a finding, not a crash of the test
            run.problem(name, f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=sample_rss, daemon=True)]
    threads += [threading.Thread(target=guarded, args=(name, fn, args), daemon=True)
                for name, (fn, args) in hostile.items() if name not in SKIP]
    good = GoodClient(broker.bootstrap, good_topic)
    started = time.monotonic()
    try:
        for t in threads:
            t.start()
        good.run(run, broker.alive)
    finally:
        run.stop.set()
        join_deadline = time.monotonic() + 40  # every blocking call of a client has a timeout < 40 s
        for t in threads:
            t.join(timeout=max(0.0, join_deadline - time.monotonic()))
        run.close_held()
        good.close()
    print(f"\nhostile run: {time.monotonic() - started:.1f}s, {len(good.sent)} records; "
          f"broker max RSS {rss['max'] >> 20} MiB")
    print(f"good client produce latency (acks=all): {percentiles(good.produce_latency)}")
    print(f"good client produce-to-consume latency: {percentiles(good.consume_latency)}")

    # Every failure is collected, so that one run shows all of them.
    failures = list(run.problems)
    if rss["killed"] or not broker.alive():
        failures.append(f"broker died (RSS max {rss['max'] >> 20} MiB; killed by the RSS guard: {rss['killed']})")
    if rss["max"] >= RSS_LIMIT:
        failures.append(f"broker RSS reached {rss['max'] >> 20} MiB")
    failures += [f"good client: {e}" for e in good.errors[:20]]
    if good.acked != good.sent:
        failures.append(f"good client: {len(good.acked)} of {len(good.sent)} records acknowledged, or out of order")
    if good.received != good.sent:
        failures.append(f"good client: read {len(good.received)} records for {len(good.sent)} produced "
                        "(duplicates, gaps or reordering)")
    # The victim partition is not poisoned: a consumer reads past where the malformed batches were sent.
    if "malformed_records" not in SKIP and broker.alive():
        try:
            recs = consume_all(broker.bootstrap, victim, [0], timeout=30)
            if [r.value for r in recs[0]] != [b"before", b"after"]:
                failures.append(f"victim partition holds {[r.value for r in recs[0]]}")
        except AssertionError as e:
            failures.append(f"victim partition poisoned: {e}")
    assert not failures, "\n".join(failures)
