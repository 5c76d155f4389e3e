"""KIP-848 consumer groups (group.protocol=consumer) with @confluentinc/kafka-javascript (pinned in
js/package-lock.json; its bundled librdkafka speaks ConsumerGroupHeartbeat). Each member is a node
process (js/kip848_member.js) printing one JSON event a line; ConsumerGroupDescribe is read with a
raw request (rawkafka.py) to check epochs and assignments."""

import json
import os
import signal
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from helpers import Msg, create_topic, produce, unique_topic
from test_cli import samsa
import rawkafka as rk
from jsproc import JS_DIR, JsonLinesProcess

PARTITIONS = 6


@pytest.fixture(scope="module")
def broker_config():
    # Short session and heartbeat so that a killed member is noticed in seconds.
    return 1, {"group.consumer.session.timeout.ms": "6000", "group.consumer.min.session.timeout.ms": "6000",
               "group.consumer.heartbeat.interval.ms": "500", "group.consumer.min.heartbeat.interval.ms": "500"}


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    r = subprocess.run(["bash", str(JS_DIR / "setup.sh")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=1800)
    assert r.returncode == 0, f"js/setup.sh failed:\n{r.stdout.decode(errors='replace')}"
    assert (JS_DIR / "node_modules" / "@confluentinc" / "kafka-javascript" / "build" / "Release" /
            "confluent-kafka-javascript.node").exists()


class Member(JsonLinesProcess):
    """One node consumer process (js/kip848_member.js) and what it printed."""

    def __init__(self, broker, topic, group, name, instance_id=None, protocol="consumer", strategy=None):
        """protocol: group.protocol, "consumer" (KIP-848) or "classic" (JoinGroup/SyncGroup, with
        the eager "range" assignor unless `strategy` names partition.assignment.strategy)."""
        args = {"brokers": [broker.bootstrap], "topic": topic, "group": group, "name": name,
                "protocol": protocol}
        if instance_id:
            args["instanceId"] = instance_id
        if strategy:
            args["strategy"] = strategy
        self.name = name
        super().__init__("kip848_member.js", args)

    def seen(self):
        return {(e["p"], e["v"]) for e in self.events_of("msg")}

    def owned(self):
        """The partitions it holds now, from its assign / revoke events."""
        held = set()
        with self.lock:
            for e in self.events:
                if e["ev"] == "assign":
                    held |= set(e["partitions"])
                elif e["ev"] == "revoke":
                    held -= set(e["partitions"])
        return held

    def errors(self):
        return [e["msg"] for e in self.events_of("error")]


def wait_until(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def consumer_group_describe(port, group, with_types=False):
    """Raw ConsumerGroupDescribe v0 -> (error, state, group_epoch, assignment_epoch,
    {member_id: (instance_id, member_epoch, sorted partitions)}); with_types: v1, and each member's
    tuple ends with its member type (0 classic protocol, 1 consumer protocol)."""
    version = 1 if with_types else 0
    body = rk.uvarint(2) + rk.compact_string(group) + b"\x00" + b"\x00"  # group_ids, include ops, tags
    c = rk.Conn(port)
    try:
        r = rk.Reader(c.request(rk.frame(rk.request_header(69, version, 7, flexible=True) + body)))
    finally:
        c.sock.close()
    r.i32()  # correlation id
    r.skip_tags()  # response header tags
    r.i32()  # throttle

    def cstr():
        n = r.uvarint() - 1
        return None if n < 0 else r.take(n).decode()

    def assignment():
        parts = []
        for _ in range(r.uvarint() - 1):
            r.take(16)
            cstr()
            parts += [r.i32() for _ in range(r.uvarint() - 1)]
            r.skip_tags()
        r.skip_tags()
        return sorted(parts)

    ngroups = r.uvarint() - 1
    assert ngroups == 1
    err = r.i16()
    cstr()  # message
    cstr()  # group id
    state = cstr()
    epoch, assignment_epoch = r.i32(), r.i32()
    cstr()  # assignor
    members = {}
    for _ in range(r.uvarint() - 1):
        mid, inst, _rack = cstr(), cstr(), cstr()
        mepoch = r.i32()
        cstr(), cstr()  # client id, host
        for _ in range(r.uvarint() - 1):
            cstr()
        cstr()  # regex
        assigned = assignment()
        assignment()  # target
        mtype = struct.unpack(">b", r.take(1))[0] if with_types else None
        r.skip_tags()
        members[mid] = (inst, mepoch, assigned) + ((mtype,) if with_types else ())
    return err, state, epoch, assignment_epoch, members


def port_of(broker):
    return int(broker.bootstrap.rsplit(":", 1)[1])


def values(prefix, n):
    return [f"{prefix}-{i}" for i in range(n)]


def produce_values(broker, topic, vals):
    results = produce(broker.bootstrap, topic, [Msg(value=v.encode()) for v in vals])
    assert all(r.error is None for r in results), [r for r in results if r.error is not None][:3]


def seen_values(members):
    out = set()
    for m in members:
        out |= {v for _, v in m.seen()}
    return out


def test_three_members_one_killed_no_record_lost(broker):
    topic = unique_topic("kip848")
    group = unique_topic("kip848-g")
    create_topic(broker.bootstrap, topic, PARTITIONS)
    members = [Member(broker, topic, group, f"m{i}") for i in range(3)]
    try:
        # Every member gets partitions, no partition is held twice, all are held.
        def balanced():
            owned = [m.owned() for m in members]
            return all(owned) and sum(len(o) for o in owned) == PARTITIONS and \
                set().union(*owned) == set(range(PARTITIONS))
        wait_until(balanced, 60, f"3 members to share {PARTITIONS} partitions")
        # A member acknowledges its new assignment on its next heartbeat: the clients may own their
        # partitions a moment before the coordinator sees every member at the group's epoch (Stable).
        last = []

        def stable():
            last[:] = [consumer_group_describe(port_of(broker), group)]
            err, state, _, _, described = last[0]
            return err == 0 and state == "Stable" and len(described) == 3
        wait_until(stable, 30, "the group to be Stable with 3 members")
        err, state, epoch, aepoch, described = last[0]
        assert sorted(p for *_, parts in described.values() for p in parts) == list(range(PARTITIONS))

        first = values("a", 300)
        produce_values(broker, topic, first)
        wait_until(lambda: set(first) <= seen_values(members), 60, "the first 300 records")

        victim = members[1]
        victim.kill9()
        survivors = [members[0], members[2]]
        wait_until(lambda: set().union(*(m.owned() for m in survivors)) == set(range(PARTITIONS)), 60,
                   "the survivors to take over the killed member's partitions")
        second = values("b", 300)
        produce_values(broker, topic, second)
        wait_until(lambda: set(second) <= seen_values(survivors), 60, "the survivors to read all 300 new records")
        assert set(first + second) <= seen_values(members)
        err, state, _, _, described = consumer_group_describe(port_of(broker), group)
        assert err == 0 and len(described) == 2, described
        for m in survivors:
            assert not [e for e in m.errors() if "FENCED" in e], m.errors()
        # The operator tool shows the consumer group (DescribeGroups answers both group types).
        listed = samsa("consumer-groups", "--bootstrap-server", broker.bootstrap, "--list").stdout
        assert group in listed.split()
        out = samsa("consumer-groups", "--bootstrap-server", broker.bootstrap, "--describe", "--group", group,
                    "--members", "--verbose").stdout
        rows = [line for line in out.splitlines() if line.startswith(group)]
        assert len(rows) == 2, out
        assert sorted(line.split()[1] for line in rows) == sorted(described), out
        assert f"{topic}(" in out, out
    finally:
        for m in members:
            m.stop()


def test_static_member_restart_without_rebalance(broker):
    topic = unique_topic("kip848s")
    group = unique_topic("kip848s-g")
    create_topic(broker.bootstrap, topic, PARTITIONS)
    a = Member(broker, topic, group, "sa", instance_id="inst-a")
    b = Member(broker, topic, group, "sb", instance_id="inst-b")
    members = [a, b]
    try:
        wait_until(lambda: a.owned() and b.owned() and len(a.owned() | b.owned()) == PARTITIONS, 60,
                   "two static members to share the partitions")
        wait_until(lambda: consumer_group_describe(port_of(broker), group)[1] == "Stable", 30, "a Stable group")
        _, _, epoch, _, before = consumer_group_describe(port_of(broker), group)
        by_inst = {inst: (mid, e, parts) for mid, (inst, e, parts) in before.items()}
        a_parts = by_inst["inst-a"][2]
        # b's events up to here include its first assignment (all partitions before a joined, then a's
        # share revoked); only what b sees from a's restart on must be revocation-free.
        b_events_before_restart = len(b.events)
        # a restarts (clean close: leaves with epoch -2, keeping its assignment for the session).
        a.stop()
        assert a.proc.returncode == 0
        a2 = Member(broker, topic, group, "sa2", instance_id="inst-a")
        members.append(a2)
        wait_until(lambda: a2.owned() == set(a_parts), 30, "the restarted static member to get its partitions back")
        _, state, epoch_after, _, after = consumer_group_describe(port_of(broker), group)
        assert epoch_after == epoch, "a static member's restart must not bump the group epoch"
        by_inst_after = {inst: (mid, e, parts) for mid, (inst, e, parts) in after.items()}
        assert by_inst_after["inst-b"] == by_inst["inst-b"], "the other member's epoch/assignment changed"
        assert by_inst_after["inst-a"][2] == a_parts
        # b saw no revocation during a's restart.
        during_restart = b.events[b_events_before_restart:]
        assert not [e for e in during_restart if e["ev"] == "revoke"], b.events
        vals = values("s", 120)
        produce_values(broker, topic, vals)
        wait_until(lambda: set(vals) <= seen_values([a2, b]), 60, "all records after the restart")
    finally:
        for m in members:
            m.stop()


# ---- heartbeats answered once durable --------------------------------------------------------

def consumer_group_heartbeat(broker, group, member_id, epoch, topics=None):
    """ConsumerGroupHeartbeat v0 -> (error, member_id, member_epoch)."""
    def cstr(s):
        return rk.uvarint(0) if s is None else rk.compact_string(s)
    body = cstr(group) + cstr(member_id) + rk.i32(epoch) + cstr(None) + cstr(None)
    body += rk.i32(30000 if epoch == 0 else -1)
    body += rk.uvarint(0) if topics is None else rk.uvarint(len(topics) + 1) + b"".join(rk.compact_string(t) for t in topics)
    body += cstr("uniform" if epoch == 0 else None)
    body += (rk.uvarint(1) if epoch == 0 else rk.uvarint(0)) + b"\x00"
    with rk.Conn(broker.port, timeout=15.0) as c:
        resp = c.request(rk.frame(rk.request_header(68, 0, 9, flexible=True) + body))
    r = rk.Reader(resp)
    assert r.i32() == 9
    r.skip_tags()
    r.i32()  # throttle
    err = r.i16()
    n = r.uvarint()
    if n:
        r.take(n - 1)  # message
    n = r.uvarint()
    mid = r.take(n - 1).decode() if n else None
    return err, mid, r.i32()


def heartbeat_until_served(broker, *args):
    """Again while the coordinator loads or is not there yet (bounded); FindCoordinator first, as a
    client does (it creates __consumer_offsets)."""
    deadline = time.monotonic() + 30
    while True:
        with rk.Conn(broker.port, timeout=15.0) as c:
            c.request(rk.frame(rk.request_header(10, 1, 3) + rk.string(args[0]) + rk.i8(0)))
        got = consumer_group_heartbeat(broker, *args)
        if got[0] not in (14, 15):  # COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE
            return got
        assert time.monotonic() < deadline, got
        time.sleep(0.2)


def test_a_heartbeats_change_survives_a_kill_right_after_its_answer(make_broker):
    """The join's records are durable before the member hears its epoch: a kill -9 right after the
    answer, and the restarted coordinator knows the member at that epoch (before, the coordinator
    wrote them on its next tick and answered at once)."""
    b = make_broker(overrides={"group.consumer.session.timeout.ms": "45000"})
    topic = unique_topic("kip848-durable")
    create_topic(b.bootstrap, topic, 2)
    for attempt in range(3):
        group = f"durable-{attempt}-{os.getpid()}"
        err, member, epoch = heartbeat_until_served(b, group, "", 0, [topic])
        assert err == 0 and member and epoch > 0, (err, member, epoch)
        b.restart(signal.SIGKILL)
        err, _, now = heartbeat_until_served(b, group, member, epoch)
        assert err == 0 and now >= epoch, f"after the restart: error {err}, epoch {now} (was {epoch})"


def test_an_empty_consumer_group_is_deleted_with_its_last_offsets(make_broker):
    """Kafka's cleanup of a KIP-848 group: once its last member has left and no offsets are left
    (here it committed none), the next offsets.retention.check deletes it with durable
    tombstones: ListGroups stops listing it, also after a kill -9 restart."""
    from test_group_metadata import Raw
    b = make_broker(overrides={"offsets.retention.check.interval.ms": "300"})
    topic = unique_topic("kip848-cleanup")
    create_topic(b.bootstrap, topic, 1)
    group = f"cleanup-{os.getpid()}"
    sentinel = f"cleanup-kept-{os.getpid()}"  # keeps its member: listed again once the coordinator loaded
    err, member, epoch = heartbeat_until_served(b, group, "", 0, [topic])
    assert err == 0 and epoch > 0
    assert heartbeat_until_served(b, sentinel, "", 0, [topic])[0] == 0
    raw = Raw(b.port)
    try:
        assert group in raw.list_groups()
        time.sleep(1.0)  # several checks pass: a group with a member stays
        assert group in raw.list_groups()
        err, _, left = consumer_group_heartbeat(b, group, member, -1)
        assert err == 0 and left == -1
        wait_until(lambda: group not in raw.list_groups(), 20, "the empty group to be deleted")
    finally:
        raw.close()
    b.restart(signal.SIGKILL)
    raw = Raw(b.port)
    try:
        wait_until(lambda: sentinel in raw.list_groups(), 30, "the coordinator to load the groups again")
        assert group not in raw.list_groups()
    finally:
        raw.close()


def test_exactly_once_copy_with_a_consumer_protocol_member(broker):
    """KIP-447 with KIP-848: a consume-transform-produce loop whose consumer uses
    group.protocol=consumer sends its offsets with its member id and member epoch
    (sendOffsetsToTransaction); the coordinator checks them against the consumer group and the
    output holds every input record once, with the group's offsets at the input's end."""
    src, dst = unique_topic("kip848-eos-in"), unique_topic("kip848-eos-out")
    group = unique_topic("kip848-eos-g")
    create_topic(broker.bootstrap, src, 2)
    create_topic(broker.bootstrap, dst, 2)
    values = [f"v{i}" for i in range(40)]
    assert all(d.error is None for d in produce(broker.bootstrap, src,
                                                [Msg(value=v.encode(), partition=i % 2) for i, v in enumerate(values)]))
    args = {"brokers": [broker.bootstrap], "inTopic": src, "outTopic": dst, "group": group,
            "txnId": unique_topic("kip848-eos-tx"), "expect": len(values)}
    r = subprocess.run(["node", str(JS_DIR / "kip848_eos.js"), json.dumps(args)], cwd=JS_DIR,
                       capture_output=True, text=True, timeout=180)
    assert "RESULT" in r.stdout, f"rc={r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    try:
        c.assign([TopicPartition(dst, 0, 0), TopicPartition(dst, 1, 0)])
        copied = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(copied) < len(values):
            copied += [m.value().decode() for m in c.consume(num_messages=100, timeout=0.5) if m.error() is None]
        copied += [m.value().decode() for m in c.consume(num_messages=100, timeout=1.0) if m.error() is None]
        committed = c.committed([TopicPartition(src, 0), TopicPartition(src, 1)], timeout=10)
    finally:
        c.close()
    assert sorted(copied) == sorted("out:" + v for v in values)
    assert sum(tp.offset for tp in committed) == len(values)
