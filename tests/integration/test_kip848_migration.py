"""KIP-848 online migration (group.consumer.migration.policy=bidirectional, the default) with
@confluentinc/kafka-javascript: classic-protocol members (group.protocol=classic, eager "range")
consume a topic; a consumer-protocol member joins and the group becomes a consumer group (its
classic members go on consuming); the broker is killed (-9) and restarted, the group is still a
consumer group; the consumer-protocol member leaves and the group is classic again, its classic
members owning every partition, also after a second kill -9. Records are produced all along and
none is lost."""

import os
import signal
import struct
import threading
import time

import pytest
from confluent_kafka import Producer

from helpers import base_conf, create_topic, unique_topic
import rawkafka as rk
from test_group_metadata import Raw, wait_coordinator
from test_kip848 import (Member, consumer_group_describe, consumer_group_heartbeat, heartbeat_until_served,  # noqa: F401
                         node_modules, port_of, seen_values, wait_until)

PARTITIONS = 4


def list_groups(port):
    """Raw ListGroups v5 -> {group: (protocol_type, state, group_type)}."""
    body = rk.uvarint(1) + rk.uvarint(1) + b"\x00"  # no state filter, no type filter, tags
    c = rk.Conn(port)
    try:
        r = rk.Reader(c.request(rk.frame(rk.request_header(16, 5, 11, flexible=True) + body)))
    finally:
        c.sock.close()
    r.i32()
    r.skip_tags()
    r.i32()  # throttle
    r.i16()  # error (COORDINATOR_LOAD_IN_PROGRESS while loading: the groups known so far)

    def cstr():
        return r.take(r.uvarint() - 1).decode()
    out = {}
    for _ in range(r.uvarint() - 1):
        gid, ptype, state, gtype = cstr(), cstr(), cstr(), cstr()
        r.skip_tags()
        out[gid] = (ptype, state, gtype)
    return out


def assigned_partitions(assignment):
    """A ConsumerProtocolAssignment -> sorted partitions (one topic)."""
    if not assignment:
        return []
    pos = 2
    (ntopics,) = struct.unpack_from(">i", assignment, pos)
    pos += 4
    parts = []
    for _ in range(ntopics):
        (n,) = struct.unpack_from(">h", assignment, pos)
        pos += 2 + n
        (np,) = struct.unpack_from(">i", assignment, pos)
        pos += 4
        parts += list(struct.unpack_from(f">{np}i", assignment, pos))
        pos += 4 * np
    return sorted(parts)


def describe_group(port, group):
    """Raw DescribeGroups v0 -> (error, state, protocol_type, {member_id: assigned partitions})."""
    body = rk.i32(1) + rk.string(group)
    c = rk.Conn(port)
    try:
        r = rk.Reader(c.request(rk.frame(rk.request_header(15, 0, 12) + body)))
    finally:
        c.sock.close()
    r.i32()
    assert r.i32() == 1
    err = r.i16()
    r.string()
    state, ptype = r.string(), r.string()
    r.string()  # protocol
    members = {}
    for _ in range(r.i32()):
        mid = r.string()
        r.string(), r.string()  # client id, host
        r.take(r.i32())  # metadata
        members[mid] = assigned_partitions(r.take(r.i32()))
    return err, state, ptype, members


class BackgroundProducer:
    """Produces "v-<n>" every few ms until stopped; keeps the values whose delivery succeeded."""

    def __init__(self, broker, topic):
        self.producer = Producer({**base_conf(broker.bootstrap), "linger.ms": 5, "message.timeout.ms": 60000})
        self.topic = topic
        self.delivered = set()
        self.failed = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        n = 0
        while not self.stopping.is_set():
            value = f"v-{n}"
            n += 1

            def cb(err, _msg, value=value):
                (self.failed.append((value, err)) if err else self.delivered.add(value))
            self.producer.produce(self.topic, value=value.encode(), on_delivery=cb)
            self.producer.poll(0)
            time.sleep(0.01)

    def count(self):
        return len(self.delivered)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=10)
        assert self.producer.flush(60) == 0


def owns_all_disjoint(members):
    owned = [m.owned() for m in members]
    return sum(len(o) for o in owned) == PARTITIONS and set().union(*owned) == set(range(PARTITIONS))


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_a_classic_group_converts_to_a_consumer_group_and_back_while_consuming(make_broker, strategy):
    """`strategy`: the classic members' partition.assignment.strategy: eager (they give up every
    partition before they rejoin) or cooperative (they rejoin listing what they own and revoke only
    what the coordinator takes away, Kafka's incremental reconciliation)."""
    b = make_broker(overrides={
        "group.initial.rebalance.delay.ms": "0",
        "group.consumer.session.timeout.ms": "6000", "group.consumer.min.session.timeout.ms": "6000",
        "group.consumer.heartbeat.interval.ms": "500", "group.consumer.min.heartbeat.interval.ms": "500"})
    topic = unique_topic("kip848-mig")
    group = unique_topic("kip848-mig-g")
    create_topic(b.bootstrap, topic, PARTITIONS)
    port = port_of(b)
    producer = BackgroundProducer(b, topic)
    classic = [Member(b, topic, group, f"classic{i}", protocol="classic", strategy=strategy) for i in range(2)]
    members = list(classic)
    modern = None
    try:
        wait_until(lambda: all(m.owned() for m in classic) and owns_all_disjoint(classic), 60,
                   "two classic members to share the partitions")
        assert list_groups(port)[group] == ("consumer", "Stable", "classic")

        # A consumer-protocol member joins: the group becomes a consumer group.
        modern = Member(b, topic, group, "modern")
        members.append(modern)
        wait_until(lambda: list_groups(port).get(group, ("", "", ""))[2] == "consumer", 30,
                   "the group to become a consumer group")
        wait_until(lambda: modern.owned() and all(m.owned() for m in classic) and owns_all_disjoint(members), 60,
                   "the three members to share the partitions")
        err, _, _, _, described = consumer_group_describe(port, group, with_types=True)
        assert err == 0 and len(described) == 3, described
        assert sorted(p for _, _, parts, _ in described.values() for p in parts) == list(range(PARTITIONS)), described
        assert sorted(t for *_, t in described.values()) == [0, 0, 1], "two classic members, one consumer member"
        # The classic members still consume: each reads records produced after the conversion.
        mark = producer.count()
        time.sleep(1.0)
        wait_until(lambda: all(any(int(v.split("-")[1]) > mark for _, v in m.seen()) for m in members), 60,
                   "every member to read records produced after the conversion")

        # kill -9: the conversion was durable, the group comes back as a consumer group.
        b.restart(signal.SIGKILL)
        wait_until(lambda: list_groups(port).get(group, ("", "", ""))[2] == "consumer", 30,
                   "the group to be a consumer group after the restart")
        mark = producer.count()
        wait_until(lambda: owns_all_disjoint(members) and
                   all(any(int(v.split("-")[1]) > mark + 50 for _, v in m.seen()) for m in members), 90,
                   "every member to consume again after the restart")

        # The consumer-protocol member leaves (epoch -1): the group is classic again, sooner than its
        # session (6 s) could expire. (The node client sends its leave at once but may then hang in
        # its own teardown while records flow, also without any migration: it is not waited for.)
        modern.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: list_groups(port).get(group, ("", "", ""))[2] == "classic", 4,
                   "the group to become classic again on the consumer member's leave")
        members.remove(modern)
        consumed_by_modern = {v for _, v in modern.seen()}
        wait_until(lambda: owns_all_disjoint(classic), 60, "the classic members to own every partition")

        def classic_stable():
            err, state, ptype, desc = describe_group(port, group)
            return err == 0 and state == "Stable" and ptype == "consumer" and len(desc) == 2 and \
                sorted(p for parts in desc.values() for p in parts) == list(range(PARTITIONS))
        wait_until(classic_stable, 60, "a Stable classic group whose two members hold every partition")
        assert list_groups(port)[group] == ("consumer", "Stable", "classic")
        mark = producer.count()
        wait_until(lambda: all(any(int(v.split("-")[1]) > mark + 50 for _, v in m.seen()) for m in classic), 60,
                   "the classic members to consume after the downgrade")
        # The downgrade was durable too: after a kill -9 the group is classic, its members consume on.
        b.restart(signal.SIGKILL)
        wait_until(lambda: list_groups(port).get(group, ("", "", ""))[2] == "classic", 30,
                   "the group to be classic after the second restart")
        mark = producer.count()
        wait_until(lambda: owns_all_disjoint(classic) and
                   all(any(int(v.split("-")[1]) > mark + 50 for _, v in m.seen()) for m in classic), 90,
                   "the classic members to consume after the second restart")
        producer.stop()
        assert not producer.failed, producer.failed[:5]
        def missing():
            return sorted(producer.delivered - seen_values(members) - consumed_by_modern, key=lambda v: int(v[2:]))
        deadline = time.time() + 60
        while missing() and time.time() < deadline:
            time.sleep(0.2)
        assert not missing(), f"{len(missing())} of {len(producer.delivered)} records never consumed: {missing()[:20]}"
        for m in classic:
            assert not [e for e in m.errors() if "FENCED" in e or "UNKNOWN_MEMBER" in e], m.errors()
    finally:
        producer.stopping.set()
        for m in members:
            m.stop()
        if modern:
            modern.stop(timeout=3)  # it left already (see above)


GROUP_ID_NOT_FOUND = 69
REBALANCE_IN_PROGRESS = 27


@pytest.mark.parametrize("policy, upgrades, downgrades", [
    ("bidirectional", True, True), ("upgrade", True, False), ("DOWNGRADE", False, True), ("disabled", False, False)])
def test_the_migration_policy_decides_which_conversions_happen(make_broker, policy, upgrades, downgrades):
    """group.consumer.migration.policy (case-insensitive, as Kafka reads it), with a raw classic member
    (JoinGroup/SyncGroup v0) and a raw ConsumerGroupHeartbeat member. Where an upgrade is not allowed
    the heartbeat is answered GROUP_ID_NOT_FOUND (Kafka's answer) and the group stays classic; where
    a downgrade is not allowed the group stays a consumer group once the consumer member left."""
    b = make_broker(overrides={"group.consumer.migration.policy": policy, "group.initial.rebalance.delay.ms": "0"})
    topic = unique_topic("kip848-policy")
    create_topic(b.bootstrap, topic, 2)
    group = f"policy-{policy}-{os.getpid()}"
    raw = Raw(b.port)
    try:
        wait_coordinator(raw, group)
        err, gen, _, _, member = raw.join(group)
        assert err == 0
        assert raw.sync(group, gen, member, b"")[0] == 0
        err, modern, _ = heartbeat_until_served(b, group, "", 0, [topic])
        if not upgrades:
            assert err == GROUP_ID_NOT_FOUND
            assert list_groups(b.port)[group][2] == "classic"
            assert raw.heartbeat(group, gen, member) == 0, "the classic group goes on"
            return
        assert err == 0 and modern
        assert list_groups(b.port)[group][2] == "consumer"
        # The classic member is in the consumer group at its generation, told to rejoin.
        assert raw.heartbeat(group, gen, member) == REBALANCE_IN_PROGRESS
        err, _, left = consumer_group_heartbeat(b, group, modern, -1)
        assert err == 0 and left == -1
        assert list_groups(b.port)[group][2] == ("classic" if downgrades else "consumer")
    finally:
        raw.close()
