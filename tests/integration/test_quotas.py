"""Client quotas (KIP-546 and Kafka's quota docs).

One broker. Quotas are set and read with `samsa configs --entity-type users|clients` (the output
of kafka-configs.sh) and with raw DescribeClientQuotas / AlterClientQuotas requests (neither
confluent-kafka 1.7 nor kafka-python 2.0.2 has the quota admin calls); they live in the metadata
log and survive a restart. A producer above its `producer_byte_rate` and a consumer above its
`consumer_byte_rate` are throttled to about their quota (throttle_time_ms reported to the client,
the connection muted), while clients without a quota on the same broker keep their speed.

The measurements are reported, with a generous slack: the rate over ~8 s must be within +30 % of
the quota and clearly below the unthrottled rate. The broker runs with `quota.window.num=2` so a
greedy client's rate settles within seconds: with Kafka's default of 11 samples the first burst
(up to 10 windows of quota, since the rate is measured over at least samples-1 windows) stays in
the window for 11 s and the rate swings over that period, in Kafka as here; the unit tests
(server_quota_manager_test.cc) cover the arithmetic with the defaults."""

import struct
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import SAMSA_BIN
from helpers import base_conf, create_topic, unique_topic
from rawkafka import Closed, Conn, Reader, frame, i8, i32, produce_request, record_batch, request_header, string

QUOTA = 100_000  # bytes per second
MEASURE_S = 8.0
WARMUP_S = 1.5


@pytest.fixture(scope="module")
def broker_config():
    return 1, {"quota.window.num": "2", "quota.window.size.seconds": "1"}


def configs(b, *args, check=True):
    r = subprocess.run([str(SAMSA_BIN), "configs", "--bootstrap-server", b.bootstrap, *args],
                       capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


# ---- raw requests (v0: no tagged fields) -------------------------------------------------------

def f64(v):
    return struct.pack(">d", v)


def array(items):
    return i32(len(items)) + b"".join(items)


def entity(parts):
    return array([string(t) + string(n) for t, n in parts])


def alter_request(corr, entries, validate_only=False):
    """entries: [([(type, name)], [(key, value, remove)])]"""
    body = array([entity(parts) + array([string(k) + f64(v) + i8(1 if rm else 0) for k, v, rm in ops])
                  for parts, ops in entries])
    return frame(request_header(49, 0, corr) + body + i8(1 if validate_only else 0))


def parse_alter(body):
    r = Reader(body)
    r.i32()  # correlation id
    r.i32()  # throttle
    out = []
    for _ in range(r.i32()):
        code = r.i16()
        msg = r.string()
        parts = [(r.string(), r.string()) for _ in range(r.i32())]
        out.append((code, msg, parts))
    return out


def describe_request(corr, components, strict=False):
    body = array([string(t) + i8(m) + string(match) for t, m, match in components])
    return frame(request_header(48, 0, corr) + body + i8(1 if strict else 0))


def parse_describe(body):
    r = Reader(body)
    r.i32()
    r.i32()
    code = r.i16()
    msg = r.string()
    n = r.i32()
    entries = None
    if n >= 0:
        entries = []
        for _ in range(n):
            parts = tuple(sorted((r.string(), r.string()) for _ in range(r.i32())))
            values = {}
            for _ in range(r.i32()):
                k = r.string()
                values[k] = struct.unpack(">d", r.take(8))[0]
            entries.append((parts, values))
    return code, msg, entries


# ---- the tool ----------------------------------------------------------------------------------

def test_alter_and_describe_with_the_tool(broker):
    r = configs(broker, "--alter", "--entity-type", "users", "--entity-name", "alice",
                "--add-config", "producer_byte_rate=1024,consumer_byte_rate=2048")
    assert r.stdout == "Completed updating config for user alice.\n"
    r = configs(broker, "--describe", "--entity-type", "users", "--entity-name", "alice")
    assert r.stdout == "Quota configs for user-principal 'alice' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0\n"

    r = configs(broker, "--alter", "--entity-type", "clients", "--entity-default",
                "--add-config", "producer_byte_rate=10485760")
    assert r.stdout == "Completed updating default config for clients in the cluster.\n"
    r = configs(broker, "--describe", "--entity-type", "clients", "--entity-default")
    assert r.stdout == "Quota configs for the default client-id are producer_byte_rate=1.048576E7\n"

    configs(broker, "--alter", "--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients",
            "--entity-name", "billing", "--add-config", "request_percentage=12.5")
    r = configs(broker, "--describe", "--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients",
                "--entity-name", "billing")
    assert r.stdout == "Quota configs for user-principal 'alice', client-id 'billing' are request_percentage=12.5\n"

    # A type without a name lists every named entity of exactly that type (strict).
    configs(broker, "--alter", "--entity-type", "users", "--entity-name", "bob", "--add-config",
            "controller_mutation_rate=3")
    r = configs(broker, "--describe", "--entity-type", "users")
    assert r.stdout.splitlines() == [
        "Quota configs for user-principal 'alice' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0",
        "Quota configs for user-principal 'bob' are controller_mutation_rate=3.0",
    ]

    r = configs(broker, "--alter", "--entity-type", "users", "--entity-name", "alice",
                "--delete-config", "consumer_byte_rate")
    assert r.stdout == "Completed updating config for user alice.\n"
    r = configs(broker, "--describe", "--entity-type", "users", "--entity-name", "alice")
    assert r.stdout == "Quota configs for user-principal 'alice' are producer_byte_rate=1024.0\n"
    for args in (["--entity-type", "users", "--entity-name", "bob", "--delete-config", "controller_mutation_rate"],
                 ["--entity-type", "clients", "--entity-default", "--delete-config", "producer_byte_rate"],
                 ["--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients", "--entity-name",
                  "billing", "--delete-config", "request_percentage"]):
        configs(broker, "--alter", *args)
    r = configs(broker, "--describe", "--entity-type", "users", "--entity-name", "bob")
    assert r.stdout == ""


def test_tool_refuses_bad_input(broker):
    r = configs(broker, "--alter", "--entity-type", "users", "--entity-name", "x", "--add-config", "retention.ms=5",
                check=False)
    assert r.returncode != 0
    assert "Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: retention.ms" in r.stderr
    r = configs(broker, "--alter", "--entity-type", "users", "--entity-name", "x", "--add-config",
                "producer_byte_rate=1.5", check=False)
    assert r.returncode != 0
    assert "Configuration producer_byte_rate must be a Long value" in r.stderr
    r = configs(broker, "--alter", "--entity-type", "clients", "--entity-name", "x", "--add-config",
                "consumer_byte_rate=0", check=False)
    assert r.returncode != 0
    assert "Quota consumer_byte_rate must be greater than 0" in r.stderr
    r = configs(broker, "--alter", "--entity-type", "users", "--add-config", "producer_byte_rate=5", check=False)
    assert r.returncode != 0


# ---- the wire ----------------------------------------------------------------------------------

def test_raw_alter_and_describe_answer_kafkas_errors(broker):
    c = Conn(broker.port)
    try:
        res = parse_alter(c.request(alter_request(1, [
            ([("user", "carol")], [("producer_byte_rate", 5000.0, False)]),
            ([("user", "carol")], [("no_such_key", 1.0, False)]),
            ([], [("producer_byte_rate", 1.0, False)]),
            ([("ip", "10.0.0.1"), ("user", "carol")], [("connection_creation_rate", 1.0, False)]),
            ([("group", "g")], [("producer_byte_rate", 1.0, False)]),
            ([("client-id", None)], [("consumer_byte_rate", -1.0, False)]),
        ])))
        assert [code for code, _, _ in res] == [0, 42, 42, 42, 42, 42]
        assert res[1][1] == "Invalid configuration key no_such_key"
        assert res[2][1] == "Invalid empty client quota entity"
        assert res[3][1] == "Invalid quota entity combination, IP entity should not be combined with User or ClientId"
        assert res[4][1] == "Unhandled client quota entity type: group"
        assert res[0][2] == [("user", "carol")]
        assert res[5][2] == [("client-id", None)]

        # validate_only checks and writes nothing.
        res = parse_alter(c.request(alter_request(2, [([("user", "dave")], [("producer_byte_rate", 7.0, False)])],
                                                  validate_only=True)))
        assert res[0][0] == 0
        code, _, entries = parse_describe(c.request(describe_request(3, [("user", 0, "dave")])))
        assert (code, entries) == (0, [])

        code, _, entries = parse_describe(c.request(describe_request(4, [("user", 0, "carol")])))
        assert code == 0
        assert entries == [((("user", "carol"),), {"producer_byte_rate": 5000.0})]
        for comps, message in (
                ([("user", 0, None)], "Request specified MATCH_TYPE_EXACT, but set match string to null."),
                ([("user", 9, None)], "Unknown match type 9"),
                ([("user", 2, None), ("user", 1, None)], "Entity type user cannot appear more than once in the filter."),
                ([("topic", 2, None)], "Unknown entity type topic")):
            code, msg, entries = parse_describe(c.request(describe_request(5, comps)))
            assert (code, msg, entries) == (42, message, None)
        res = parse_alter(c.request(alter_request(6, [([("user", "carol")], [("producer_byte_rate", 0, True)])])))
        assert res[0][0] == 0

        # A truncated request closes the connection; the broker keeps serving.
        bad = request_header(49, 0, 7) + i32(5) + i32(1000)
        c.send(frame(bad))
        with pytest.raises(Closed):
            c.recv_frame()
    finally:
        c.sock.close()
    c = Conn(broker.port)
    try:
        code, _, entries = parse_describe(c.request(describe_request(8, [("user", 0, "carol")])))
        assert (code, entries) == (0, [])
    finally:
        c.sock.close()


def test_quotas_survive_a_restart(broker):
    configs(broker, "--alter", "--entity-type", "users", "--entity-name", "erin", "--entity-type", "clients",
            "--entity-default", "--add-config", "consumer_byte_rate=4096")
    broker.restart()
    r = configs(broker, "--describe", "--entity-type", "users", "--entity-name", "erin", "--entity-type", "clients",
                "--entity-default")
    assert r.stdout == "Quota configs for user-principal 'erin', the default client-id are consumer_byte_rate=4096.0\n"
    configs(broker, "--alter", "--entity-type", "users", "--entity-name", "erin", "--entity-type", "clients",
            "--entity-default", "--delete-config", "consumer_byte_rate")


# ---- enforcement -------------------------------------------------------------------------------

def test_produce_responses_carry_the_throttle_time(broker):
    """Produce v5 (before KIP-219: the broker holds the response back for the throttle time) and
    v7 (the response at once, then the connection muted) both report throttle_time_ms."""
    topic = unique_topic("quota-raw")
    create_topic(broker.bootstrap, topic, 1)
    set_client_quota(broker, "samsa-it", "producer_byte_rate", 10_000)  # the raw client's id
    try:
        batch = record_batch([(None, b"z" * 15_000)])
        with Conn(broker.port, timeout=30.0) as c:
            for corr, version in ((1, 5), (2, 7)):
                body = c.request(produce_request(version, corr, topic, 0, batch))
                r = Reader(body)
                assert r.i32() == corr
                assert r.i32() == 1
                r.string()
                assert r.i32() == 1
                r.i32()
                assert r.i16() == 0
                # v5-v7: base offset, log append time, log start offset, then throttle_time_ms.
                throttle = struct.unpack(">i", body[-4:])[0]
                assert throttle > 0, f"Produce v{version} answered without a throttle time"
    finally:
        configs(broker, "--alter", "--entity-type", "clients", "--entity-name", "samsa-it", "--delete-config",
                "producer_byte_rate")

class Meter:
    """Bytes seen over time by one client (acknowledged or consumed), and throttle reports."""

    def __init__(self):
        self.events = []  # (monotonic time, bytes)
        self.throttles = []
        self.lock = threading.Lock()

    def add(self, n):
        with self.lock:
            self.events.append((time.monotonic(), n))

    def on_throttle(self, event):
        with self.lock:
            self.throttles.append(event.throttle_time)

    def rate(self, start, end):
        with self.lock:
            total = sum(n for t, n in self.events if start <= t < end)
        return total / (end - start)


def run_producer(broker, topic, client_id, meter, stop_at, payload):
    p = Producer({**base_conf(broker.bootstrap), "client.id": client_id, "linger.ms": 5, "batch.size": 10000,
                  "acks": 1, "queue.buffering.max.messages": 200, "throttle_cb": meter.on_throttle})

    def delivered(err, msg):
        if err is None:
            meter.add(len(msg.value()))

    while time.monotonic() < stop_at:
        try:
            p.produce(topic, payload, callback=delivered)
        except BufferError:
            p.poll(0.05)
            continue
        p.poll(0)
    p.flush(30)


def side_by_side(run, broker, topic, slow_id, fast_id, arg):
    """Runs the client with a quota and the one without at the same time, each on its own
    thread, for WARMUP_S + MEASURE_S. -> (slow meter, fast meter, start, end)"""
    slow, fast = Meter(), Meter()
    start = time.monotonic()
    stop_at = start + WARMUP_S + MEASURE_S
    threads = [threading.Thread(target=run, args=(broker, topic, cid, m, stop_at, arg))
               for cid, m in ((slow_id, slow), (fast_id, fast))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return slow, fast, start, stop_at


def set_client_quota(broker, client_id, key, quota=QUOTA):
    configs(broker, "--alter", "--entity-type", "clients", "--entity-name", client_id,
            "--add-config", f"{key}={quota}")


def test_a_producer_above_its_quota_is_throttled(broker):
    topic = unique_topic("quota-produce")
    create_topic(broker.bootstrap, topic, 1)
    set_client_quota(broker, "slow-producer", "producer_byte_rate")
    payload = b"x" * 1000
    slow, fast, start, stop_at = side_by_side(run_producer, broker, topic, "slow-producer", "fast-producer", payload)
    slow_rate = slow.rate(start + WARMUP_S, stop_at)
    fast_rate = fast.rate(start + WARMUP_S, stop_at)
    print(f"producer_byte_rate={QUOTA}: throttled client {slow_rate:.0f} B/s "
          f"({slow_rate / QUOTA:.2f} x quota, {len(slow.throttles)} throttle reports), "
          f"unthrottled client {fast_rate:.0f} B/s ({len(fast.throttles)} throttle reports)")
    assert slow.throttles, "the throttled producer never saw throttle_time_ms"
    assert not fast.throttles
    # Payload bytes are a little less than the request bytes the broker counts.
    assert QUOTA * 0.5 < slow_rate < QUOTA * 1.3
    assert fast_rate > 3 * slow_rate


def run_consumer(broker, topic, client_id, meter, stop_at, total):
    c = Consumer({**base_conf(broker.bootstrap), "group.id": client_id, "client.id": client_id,
                  "enable.auto.commit": False, "throttle_cb": meter.on_throttle})
    c.assign([TopicPartition(topic, 0, 0)])
    seen = 0
    try:
        while time.monotonic() < stop_at and seen < total:
            for m in c.consume(100, 0.2):
                if m.error() is None:
                    meter.add(len(m.value()))
                    seen += len(m.value())
    finally:
        c.close()


def test_a_consumer_above_its_quota_is_throttled(broker):
    topic = unique_topic("quota-fetch")
    create_topic(broker.bootstrap, topic, 1)
    payload = b"y" * 1000
    total = 3_000_000
    # Small batches: a fetch returns its first batch whole, so a batch above the consumer's
    # per-fetch cap (one quota window) would make the rate jump by whole batches.
    p = Producer({**base_conf(broker.bootstrap), "client.id": "loader", "linger.ms": 20, "batch.size": 16000})
    for _ in range(total // len(payload)):
        while True:
            try:
                p.produce(topic, payload)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(60) == 0
    set_client_quota(broker, "slow-consumer", "consumer_byte_rate")
    slow, fast, start, stop_at = side_by_side(run_consumer, broker, topic, "slow-consumer", "fast-consumer", total)
    slow_rate = slow.rate(start + WARMUP_S, stop_at)
    fast_total = sum(n for _, n in fast.events)
    fast_time = max(fast.events[-1][0] - start, 0.001) if fast.events else MEASURE_S
    fast_rate = fast_total / fast_time
    print(f"consumer_byte_rate={QUOTA}: throttled consumer {slow_rate:.0f} B/s "
          f"({slow_rate / QUOTA:.2f} x quota, {len(slow.throttles)} throttle reports), "
          f"unthrottled consumer {fast_total} B in {fast_time:.1f} s")
    assert slow.throttles, "the throttled consumer never saw throttle_time_ms"
    assert not fast.throttles
    assert fast_total == total
    assert QUOTA * 0.5 < slow_rate < QUOTA * 1.3
    assert fast_rate > 3 * slow_rate


# ---- controller_mutation_rate (KIP-599) --------------------------------------------------------

THROTTLING_QUOTA_EXCEEDED = 89


def create_topic_raw(b, name, partitions, client_id, version):
    """One CreateTopics (v6: flexible, the strict quota; v4: the permissive one) ->
    (throttle_time_ms, error_code, error_message)."""
    from rawkafka import compact_string, i16, uvarint
    if version >= 5:
        topic = compact_string(name) + i32(partitions) + i16(1) + uvarint(1) + uvarint(1) + b"\x00"
        body = uvarint(2) + topic + i32(10000) + i8(0) + b"\x00"
    else:
        body = i32(1) + string(name) + i32(partitions) + i16(1) + i32(0) + i32(0) + i32(10000) + i8(0)
    with Conn(b.port, timeout=15.0) as c:
        resp = c.request(frame(request_header(19, version, 5, client_id=client_id, flexible=version >= 5) + body))
    r = Reader(resp)
    assert r.i32() == 5
    if version >= 5:
        r.skip_tags()
        throttle = r.i32()
        assert r.uvarint() == 2
        n = r.uvarint() - 1
        assert r.take(n).decode() == name
        err = r.i16()
        m = r.uvarint()
        message = None if m == 0 else r.take(m - 1).decode()
    else:
        throttle = r.i32()
        assert r.i32() == 1
        assert r.string() == name
        err = r.i16()
        message = r.string()
    return throttle, err, message


def create_partitions_v3(b, name, count, client_id):
    """CreatePartitions v3 (flexible) of one topic -> (throttle_time_ms, error_code)."""
    from rawkafka import compact_string, uvarint
    body = uvarint(2) + compact_string(name) + i32(count) + uvarint(0) + b"\x00" + i32(10000) + i8(0) + b"\x00"
    with Conn(b.port, timeout=15.0) as c:
        resp = c.request(frame(request_header(37, 3, 6, client_id=client_id, flexible=True) + body))
    r = Reader(resp)
    assert r.i32() == 6
    r.skip_tags()
    throttle = r.i32()
    assert r.uvarint() == 2
    assert r.take(r.uvarint() - 1).decode() == name
    return throttle, r.i16()


def test_controller_mutation_rate_refuses_new_versions_and_delays_old_ones(broker):
    configs(broker, "--alter", "--entity-type", "clients", "--entity-name", "mutator",
            "--add-config", "controller_mutation_rate=10")
    try:
        r = configs(broker, "--describe", "--entity-type", "clients", "--entity-name", "mutator")
        assert "controller_mutation_rate=10" in r.stdout, r.stdout
        a, b_, c, d = (unique_topic(x) for x in ("mut-a", "mut-b", "mut-c", "mut-d"))
        # 30 partitions at 10/s: admitted (the charge that takes the rate over still passes) ...
        assert create_topic_raw(broker, a, 30, "mutator", 6)[1] == 0
        # ... and the next one is refused while the rate is above the quota, with the throttle time.
        throttle, err, message = create_topic_raw(broker, b_, 1, "mutator", 6)
        assert err == THROTTLING_QUOTA_EXCEEDED and throttle > 0, (throttle, err, message)
        assert message == "The throttling quota has been exceeded."
        throttle, err = create_partitions_v3(broker, a, 31, "mutator")
        assert err == THROTTLING_QUOTA_EXCEEDED and throttle > 0, (throttle, err)
        # Another client has no quota.
        assert create_topic_raw(broker, c, 1, "other-client", 6)[:2] == (0, 0)
        # CreateTopics v4 (before KIP-599): never refused, throttled instead.
        throttle, err, _ = create_topic_raw(broker, d, 1, "mutator", 4)
        assert err == 0 and throttle > 0, (throttle, err)
        probe = Consumer({**base_conf(broker.bootstrap), "group.id": "mut-md"})
        md = probe.list_topics(timeout=10).topics
        probe.close()
        assert a in md and c in md and d in md and b_ not in md
    finally:
        configs(broker, "--alter", "--entity-type", "clients", "--entity-name", "mutator",
                "--delete-config", "controller_mutation_rate")


# ---- request_percentage (KIP-124) ----------------------------------------------------------------

def metadata_throttle(conn, corr, client_id):
    """Metadata v4 for every topic -> the response's throttle_time_ms (its first field)."""
    body = conn.request(frame(request_header(3, 4, corr, client_id=client_id) + i32(-1) + i8(0)))
    r = Reader(body)
    assert r.i32() == corr
    return r.i32()


def test_request_percentage_throttles_a_busy_client_and_not_others(broker):
    """A client allowed 1 % of a thread's time that sends requests back to back goes over it: the
    responses carry throttle_time_ms (at most one quota window, as Kafka bounds a request-quota
    throttle) and the connection reads nothing more for that long. Another client id on the same
    broker is never throttled."""
    set_client_quota(broker, "req-hog", "request_percentage", 1)
    try:
        throttle, corr = 0, 0
        with Conn(broker.port, timeout=30.0) as hog:
            deadline = time.monotonic() + 20
            first = 0
            while throttle < 50 and time.monotonic() < deadline:
                corr += 1
                throttle = metadata_throttle(hog, corr, "req-hog")
                first = first or (throttle and corr)
            assert first, f"{corr} back-to-back requests never went over request_percentage=1"
            assert throttle >= 50, f"the throttle never grew past {throttle} ms"
            assert throttle <= 1000  # quota.window.size.seconds=1
            # Muted: the next request is read only once the throttle time has passed.
            sent = time.monotonic()
            metadata_throttle(hog, corr + 1, "req-hog")
            waited_ms = (time.monotonic() - sent) * 1000
            print(f"request_percentage=1: first throttled at request {first}, {throttle} ms at {corr}, "
                  f"next answer after {waited_ms:.0f} ms")
            assert waited_ms >= 0.8 * throttle
        with Conn(broker.port, timeout=30.0) as free:
            others = [metadata_throttle(free, i, "req-free") for i in range(1, 301)]
        assert others == [0] * 300
    finally:
        configs(broker, "--alter", "--entity-type", "clients", "--entity-name", "req-hog", "--delete-config",
                "request_percentage")
