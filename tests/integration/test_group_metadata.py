"""Group metadata records and offset expiry in __consumer_offsets: a group keeps its generation,
protocol, members and offsets across broker restarts (confluent-kafka, kafka-python's admin and
raw requests); offsets.retention expiry writes durable tombstones (OffsetCommit v2
retention_time_ms for a bounded test time); at-least-once with a member killed by SIGKILL."""

import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import TopicPartition

import rawkafka as rk
from helpers import GROUP_TIMEOUT_S, consume_n, create_topic, group_consumer, produce_keys, unique_topic


@pytest.fixture(scope="module")
def broker_config():
    return 1, {"group.initial.rebalance.delay.ms": "0"}


def describe(bootstrap, group):
    from kafka.admin import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        [desc] = admin.describe_consumer_groups([group])
        return desc
    finally:
        admin.close()


# ---- raw requests (v0-v2, non-flexible) --------------------------------------------------------

# ConsumerProtocol v0 subscription (no topics, null user data) and assignments (no partitions,
# user data to tell them apart), so that admin clients can decode them.
SUBSCRIPTION = rk.i16(0) + rk.i32(0) + rk.i32(-1)


def assignment(tag):
    return rk.i16(0) + rk.i32(0) + rk.i32(len(tag)) + tag

class Raw:
    def __init__(self, port):
        self.conn = rk.Conn(port, timeout=30.0)
        self.cid = 0

    def call(self, api_key, version, body):
        self.cid += 1
        r = rk.Reader(self.conn.request(rk.frame(rk.request_header(api_key, version, self.cid) + body)))
        assert r.i32() == self.cid
        return r

    def find_coordinator(self, group):
        r = self.call(10, 0, rk.string(group))
        return r.i16()

    def join(self, group, member_id="", session_timeout_ms=30000):
        body = (rk.string(group) + rk.i32(session_timeout_ms) + rk.string(member_id) + rk.string("consumer")
                + rk.i32(1) + rk.string("range") + rk.i32(len(SUBSCRIPTION)) + SUBSCRIPTION)
        r = self.call(11, 0, body)
        err, gen, protocol, leader, member = r.i16(), r.i32(), r.string(), r.string(), r.string()
        return err, gen, protocol, leader, member

    def sync(self, group, gen, member, assignment):
        body = (rk.string(group) + rk.i32(gen) + rk.string(member) + rk.i32(1) + rk.string(member)
                + rk.i32(len(assignment)) + assignment)
        r = self.call(14, 0, body)
        err = r.i16()
        n = r.i32()
        return err, r.take(n) if n >= 0 else None

    def heartbeat(self, group, gen, member):
        return self.call(12, 0, rk.string(group) + rk.i32(gen) + rk.string(member)).i16()

    def commit_v2(self, group, topic, offsets, retention_time_ms):
        """A simple (non-member) commit: {partition: offset} -> {partition: error}."""
        body = rk.string(group) + rk.i32(-1) + rk.string("") + rk.i64(retention_time_ms)
        body += rk.i32(1) + rk.string(topic) + rk.i32(len(offsets))
        for p, o in offsets.items():
            body += rk.i32(p) + rk.i64(o) + rk.string("")
        r = self.call(8, 2, body)
        out = {}
        for _ in range(r.i32()):
            r.string()
            for _ in range(r.i32()):
                p = r.i32()
                out[p] = r.i16()
        return out

    def fetch_v1(self, group, topic, partitions):
        body = rk.string(group) + rk.i32(1) + rk.string(topic) + rk.i32(len(partitions))
        for p in partitions:
            body += rk.i32(p)
        r = self.call(9, 1, body)
        out = {}
        for _ in range(r.i32()):
            r.string()
            for _ in range(r.i32()):
                p, o = r.i32(), r.i64()
                r.string()
                assert r.i16() == 0
                out[p] = o
        return out

    def list_groups(self):
        r = self.call(16, 0, b"")
        assert r.i16() == 0
        return {r.string(): r.string() for _ in range(r.i32())}

    def close(self):
        self.conn.close()


def wait_coordinator(raw, group, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if raw.find_coordinator(group) == 0:
            return
        time.sleep(0.2)
    raise AssertionError("no coordinator")


# ---- a group survives a restart ----------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_group_generation_and_members_survive_restart(make_broker, sig):
    """Raw JoinGroup/SyncGroup v0: after a restart the member's heartbeat with its old id and
    generation is accepted (a wrong generation is not), and DescribeGroups shows the same
    protocol, member and assignment, Stable."""
    b = make_broker(overrides={"group.initial.rebalance.delay.ms": "0"})
    group = f"g-{uuid.uuid4().hex[:8]}"
    raw = Raw(b.port)
    try:
        wait_coordinator(raw, group)
        err, gen, protocol, leader, member = raw.join(group)
        assert err == 0 and gen == 1 and protocol == "range" and leader == member
        assert raw.sync(group, gen, member, assignment(b"first")) == (0, assignment(b"first"))
        err, gen, _, _, member = raw.join(group, member)  # the leader rejoins: generation 2
        assert err == 0 and gen == 2
        assert raw.sync(group, gen, member, assignment(b"second")) == (0, assignment(b"second"))
    finally:
        raw.close()
    b.restart(sig)
    raw = Raw(b.port)
    try:
        wait_coordinator(raw, group)
        assert raw.heartbeat(group, gen, member) == 0
        assert raw.heartbeat(group, gen - 1, member) == 22  # ILLEGAL_GENERATION
        assert raw.heartbeat(group, gen, "somebody-else") == 25  # UNKNOWN_MEMBER_ID
        desc = describe(b.bootstrap, group)
        assert desc.state == "Stable" and desc.protocol_type == "consumer" and desc.protocol == "range"
        assert [m.member_id for m in desc.members] == [member]
        # The restored member syncs again and gets its recorded assignment.
        assert raw.sync(group, gen, member, b"") == (0, assignment(b"second"))
    finally:
        raw.close()


def test_consumer_keeps_consuming_across_restart(make_broker):
    """A librdkafka consumer rides over a broker restart without rebalancing (no new assignment,
    its commits with the old generation accepted) and without losing or repeating its offsets."""
    b = make_broker(overrides={"group.initial.rebalance.delay.ms": "0"})
    topic = unique_topic("meta")
    create_topic(b.bootstrap, topic, 2)
    produce_keys(b.bootstrap, topic, [f"a{i}" for i in range(20)], 2)
    group = f"g-{uuid.uuid4().hex[:8]}"
    assigns = []
    c = group_consumer(b.bootstrap, group)
    try:
        c.subscribe([topic], on_assign=lambda _c, parts: assigns.append(len(parts)))
        got = consume_n(c, 20)
        assert len(got) == 20
        c.commit(asynchronous=False)
        before = describe(b.bootstrap, group)
        assert before.state == "Stable" and before.protocol == "range"
        b.restart(signal.SIGKILL)
        after = describe(b.bootstrap, group)
        assert after.state == "Stable" and after.protocol == before.protocol
        assert [m.member_id for m in after.members] == [m.member_id for m in before.members]
        produce_keys(b.bootstrap, topic, [f"b{i}" for i in range(10)], 2)
        more = consume_n(c, 10, timeout=40)
        assert sorted(m.key().decode() for m in more) == sorted(f"b{i}" for i in range(10))
        c.commit(asynchronous=False)  # raises if the broker forgot the member or its generation
        assert consume_n(c, 1, timeout=2) == []
        assert assigns == [2], "the restart must not cause a rebalance"
        committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=30)
        assert sorted(tp.offset for tp in committed) == [15, 15]
    finally:
        c.close()
    # Closing left the group: Empty, protocol type kept, offsets kept.
    desc = describe(b.bootstrap, group)
    assert desc.state == "Empty" and desc.protocol_type == "consumer" and desc.members == []


# ---- offset expiry -----------------------------------------------------------------------------

def test_offsets_expire_with_durable_tombstones(make_broker):
    """OffsetCommit v2 with retention_time_ms: the offset expires at commit + retention (checked
    every offsets.retention.check.interval.ms); tombstones are written, so the offset stays gone
    after a SIGKILL restart; a group left with no offsets dies; the default retention
    (offsets.retention.minutes) keeps the others."""
    b = make_broker(overrides={"group.initial.rebalance.delay.ms": "0",
                               "offsets.retention.check.interval.ms": "300"})
    topic = unique_topic("exp")
    create_topic(b.bootstrap, topic, 2)
    mixed = f"mixed-{uuid.uuid4().hex[:8]}"
    short = f"short-{uuid.uuid4().hex[:8]}"

    def check_expired(raw):
        assert raw.fetch_v1(mixed, topic, [0, 1]) == {0: -1, 1: 6}
        assert raw.fetch_v1(short, topic, [0, 1]) == {0: -1, 1: -1}
        groups = raw.list_groups()
        assert mixed in groups and short not in groups

    raw = Raw(b.port)
    try:
        wait_coordinator(raw, mixed)
        wait_coordinator(raw, short)
        assert raw.commit_v2(mixed, topic, {0: 5}, 1500) == {0: 0}
        assert raw.commit_v2(mixed, topic, {1: 6}, -1) == {1: 0}
        assert raw.commit_v2(short, topic, {0: 7, 1: 8}, 1500) == {0: 0, 1: 0}
        assert raw.fetch_v1(mixed, topic, [0, 1]) == {0: 5, 1: 6}
        assert short in raw.list_groups()
        deadline = time.time() + 20
        while time.time() < deadline and (raw.fetch_v1(mixed, topic, [0, 1])[0] != -1
                                           or raw.fetch_v1(short, topic, [0, 1])[1] != -1):
            time.sleep(0.2)
        check_expired(raw)
    finally:
        raw.close()
    b.restart(signal.SIGKILL)
    raw = Raw(b.port)
    try:
        wait_coordinator(raw, mixed)
        check_expired(raw)
    finally:
        raw.close()
    log = b.stderr_path.read_text(errors="replace")
    assert "expired" in log and "group(s)" in log


def test_active_group_offsets_do_not_expire(make_broker):
    """A member subscribed to the topic keeps its offsets even past their retention time."""
    b = make_broker(overrides={"group.initial.rebalance.delay.ms": "0",
                               "offsets.retention.check.interval.ms": "200"})
    topic = unique_topic("keep")
    create_topic(b.bootstrap, topic, 1)
    produce_keys(b.bootstrap, topic, [f"k{i}" for i in range(5)], 1)
    group = f"g-{uuid.uuid4().hex[:8]}"
    c = group_consumer(b.bootstrap, group)
    raw = Raw(b.port)
    try:
        c.subscribe([topic])
        assert len(consume_n(c, 5)) == 5
        c.commit(asynchronous=False)
        # The group is Stable and subscribed: a check of retention sees nothing to expire.
        time.sleep(1.5)
        assert raw.fetch_v1(group, topic, [0]) == {0: 5}
    finally:
        raw.close()
        c.close()


# ---- at-least-once with a member killed ---------------------------------------------------------

VICTIM = """
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 500, "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "broker.address.family": "v4"})
c.subscribe([sys.argv[3]], on_assign=lambda c, ps: print("#assigned", len(ps), flush=True))
while True:
    m = c.poll(0.1)
    if m is None or m.error():
        continue
    time.sleep(0.05)                      # slow processing
    print(m.key().decode(), flush=True)   # processed ...
    c.commit(message=m, asynchronous=False)  # ... then committed
"""


def test_killed_member_every_key_seen_at_least_once(broker):
    """Three consumers on six partitions, commits after processing; one member (its own process)
    is killed with SIGKILL mid-consumption: after its session timeout its partitions move, and
    every produced key is processed at least once (by the victim before it died or by the
    survivors)."""
    topic = unique_topic("alo")
    create_topic(broker.bootstrap, topic, 6)
    keys = [f"key-{i}" for i in range(1800)]
    produce_keys(broker.bootstrap, topic, keys, 6)
    group = f"g-{uuid.uuid4().hex[:8]}"
    seen_by_victim = []
    victim = subprocess.Popen([sys.executable, "-c", VICTIM, broker.bootstrap, group, topic],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    victim_assigned = threading.Event()

    def read_victim():
        for line in victim.stdout:
            if line.startswith("#assigned"):
                victim_assigned.set()
            else:
                seen_by_victim.append(line.strip())

    reader = threading.Thread(target=read_victim, daemon=True)
    reader.start()
    # The survivors join only once the victim is in the group: a slow interpreter start (a loaded
    # machine) must not let them consume everything before the victim has a partition.
    assert victim_assigned.wait(GROUP_TIMEOUT_S), "the victim never got an assignment"
    survivors = [group_consumer(broker.bootstrap, group, {"max.poll.interval.ms": 30000}) for _ in range(2)]
    seen = []
    try:
        for c in survivors:
            c.subscribe([topic])

        def poll_all():
            # Neither survivor may block while the other has records queued: with a blocking
            # poll per survivor, an idle one costs its whole timeout per record of the busy one
            # (at most 20 records/s with 50 ms, much less on a loaded runner), and the survivor
            # that inherits both of the victim's partitions (range: [0,1,2] / [3,4,5]) could not
            # work through its ~600 records in time: the tail of one partition stayed unread.
            got = False
            for c in survivors:
                last = {}
                for m in c.consume(num_messages=500, timeout=0):
                    if m.error():
                        continue
                    seen.append(m.key().decode())  # processed ...
                    last[m.partition()] = m.offset()
                    got = True
                if last:  # ... then committed
                    c.commit(offsets=[TopicPartition(topic, p, o + 1) for p, o in last.items()],
                             asynchronous=True)
            if not got:
                time.sleep(0.02)

        def survivors_state():
            """Where each survivor stands, for a failure message: a stalled partition (position
            stuck below the end) is told apart from a slow consumer."""
            out = []
            for c in survivors:
                parts = c.assignment()
                pos = {tp.partition: tp.offset for tp in c.position(parts)}
                com = {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
                out.append({p: (pos[p], com.get(p)) for p in sorted(pos)})
            return f"(position, committed) by partition of each survivor: {out}"

        deadline = time.time() + GROUP_TIMEOUT_S
        while time.time() < deadline:
            poll_all()
            owned = sum(len(c.assignment()) for c in survivors)
            if owned == 4 and len(seen_by_victim) >= 20:
                break
        assert owned == 4 and len(seen_by_victim) >= 20, f"never settled: {owned}, {len(seen_by_victim)}"
        victim.kill()  # SIGKILL: no LeaveGroup, no last commit
        victim.wait()
        killed_at = time.time()
        assert len(set(seen_by_victim)) < len(keys) / 3, "the victim must die mid-consumption"
        moved_at = None
        deadline = time.time() + GROUP_TIMEOUT_S
        while time.time() < deadline:
            poll_all()
            if moved_at is None and sum(len(c.assignment()) for c in survivors) == 6:
                moved_at = time.time()
            if set(seen) | set(seen_by_victim) >= set(keys):
                break
        reader.join(timeout=5)
        missing = set(keys) - set(seen) - set(seen_by_victim)
        assert not missing, (f"{len(missing)} key(s) never processed, e.g. {sorted(missing)[:5]}; "
                             f"{survivors_state()}")
        assert moved_at is not None and moved_at - killed_at >= 3, "moved by the session timeout"
        counts = {k: seen.count(k) + seen_by_victim.count(k) for k in keys}
        assert min(counts.values()) >= 1
    finally:
        if victim.poll() is None:
            victim.kill()
        for c in survivors:
            c.close()
