"""Consumer groups with confluent-kafka (librdkafka): FindCoordinator, JoinGroup/SyncGroup,
heartbeats, LeaveGroup, OffsetCommit/OffsetFetch, and committed offsets across restarts."""

import signal
import time
import uuid

import pytest
from confluent_kafka import KafkaError, TopicPartition

from helpers import (GROUP_TIMEOUT_S, consume_n, create_topic, group_consumer, produce_keys,
                     unique_topic)


@pytest.fixture(scope="module")
def broker_config():
    # No initial rebalance delay: tests form groups quickly.
    return 1, {"group.initial.rebalance.delay.ms": "0"}


def wait_assignments(consumers, want_sizes, timeout=GROUP_TIMEOUT_S):
    """Polls every consumer until their assignments are disjoint with these sizes (sorted)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in consumers:
            c.poll(0.1)
        sets = [set((tp.topic, tp.partition) for tp in c.assignment()) for c in consumers]
        total = sum(len(s) for s in sets)
        if sorted(len(s) for s in sets) == sorted(want_sizes) and len(set().union(*sets)) == total:
            return sets
    raise AssertionError(f"assignments never settled: {[c.assignment() for c in consumers]}")


def test_three_consumers_share_six_partitions(broker):
    topic = unique_topic("grp")
    create_topic(broker.bootstrap, topic, 6)
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumers = [group_consumer(broker.bootstrap, group) for _ in range(3)]
    try:
        for c in consumers:
            c.subscribe([topic])
        wait_assignments(consumers, [2, 2, 2])
    finally:
        for c in consumers:
            c.close()


def test_two_groups_each_get_everything(broker):
    topic = unique_topic("pubsub")
    create_topic(broker.bootstrap, topic, 3)
    produce_keys(broker.bootstrap, topic, 60, 3)
    for _ in range(2):
        c = group_consumer(broker.bootstrap, f"g-{uuid.uuid4().hex[:8]}")
        try:
            c.subscribe([topic])
            got = consume_n(c, 60)
            assert sorted(m.key() for m in got) == sorted(f"k{i}".encode() for i in range(60))
        finally:
            c.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_commits_survive_restart(make_broker, sig):
    b = make_broker(overrides={"group.initial.rebalance.delay.ms": "0"})
    topic = unique_topic("commit")
    create_topic(b.bootstrap, topic, 2)
    produce_keys(b.bootstrap, topic, 20, 2)
    group = f"g-{uuid.uuid4().hex[:8]}"
    c = group_consumer(b.bootstrap, group)
    c.subscribe([topic])
    got = consume_n(c, 20)
    assert len(got) == 20
    c.commit(offsets=[TopicPartition(topic, 0, 7), TopicPartition(topic, 1, 9)], asynchronous=False)
    c.close()
    b.restart(sig)
    c = group_consumer(b.bootstrap, group)
    try:
        committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=30)
        assert [(tp.partition, tp.offset) for tp in committed] == [(0, 7), (1, 9)]
        c.subscribe([topic])
        rest = consume_n(c, 20 - 7 - 9, timeout=30)
        assert len(rest) == 4
    finally:
        c.close()


def test_member_leaving_hands_partitions_over(broker):
    topic = unique_topic("leave")
    create_topic(broker.bootstrap, topic, 4)
    group = f"g-{uuid.uuid4().hex[:8]}"
    a = group_consumer(broker.bootstrap, group)
    b = group_consumer(broker.bootstrap, group)
    try:
        a.subscribe([topic])
        b.subscribe([topic])
        wait_assignments([a, b], [2, 2])
        b.close()
        wait_assignments([a], [4])
    finally:
        a.close()


def test_admin_list_describe_offsets_delete(broker):
    """kafka-python's admin client: ListGroups, DescribeGroups, OffsetFetch (all partitions),
    DeleteGroups (only once the group is empty)."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import GroupIdNotFoundError, NonEmptyGroupError

    topic = unique_topic("admin")
    create_topic(broker.bootstrap, topic, 2)
    produce_keys(broker.bootstrap, topic, 10, 2)
    group = f"g-{uuid.uuid4().hex[:8]}"
    c = group_consumer(broker.bootstrap, group)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        c.subscribe([topic])
        assert len(consume_n(c, 10)) == 10
        c.commit(offsets=[TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 4)], asynchronous=False)
        assert (group, "consumer") in admin.list_consumer_groups()
        [desc] = admin.describe_consumer_groups([group])
        assert desc.group == group and desc.state == "Stable" and desc.protocol_type == "consumer"
        assert len(desc.members) == 1
        offsets = admin.list_consumer_group_offsets(group)
        assert {(tp.partition, om.offset) for tp, om in offsets.items()} == {(0, 3), (1, 4)}
        result = dict(admin.delete_consumer_groups([group]))
        assert result[group] is NonEmptyGroupError
        c.close()
        c = None
        [desc] = admin.describe_consumer_groups([group])
        assert desc.state == "Empty"
        result = dict(admin.delete_consumer_groups([group]))
        assert result[group].__name__ == "NoError"
        assert admin.list_consumer_group_offsets(group) == {}
        result = dict(admin.delete_consumer_groups([group]))
        assert result[group] is GroupIdNotFoundError
    finally:
        if c is not None:
            c.close()
        admin.close()


def test_kafka_python_group_consumer(broker):
    from kafka import KafkaConsumer

    topic = unique_topic("kpy")
    create_topic(broker.bootstrap, topic, 3)
    produce_keys(broker.bootstrap, topic, 30, 3)
    group = f"g-{uuid.uuid4().hex[:8]}"
    c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=20000)
    try:
        keys = set()
        for m in c:
            keys.add(m.key)
            if len(keys) == 30:
                break
        assert len(keys) == 30
        c.commit()
    finally:
        c.close()
    c2 = group_consumer(broker.bootstrap, group)
    try:
        committed = c2.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)
        assert sorted(tp.offset for tp in committed) == [10, 10, 10]
    finally:
        c2.close()


KILLED_MEMBER = """
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 500, "enable.auto.commit": False, "broker.address.family": "v4"})
c.subscribe([sys.argv[3]])
while True:
    c.poll(0.1)
    if c.assignment():
        print("assigned", flush=True)
"""


def test_killed_member_loses_partitions_after_session_timeout(broker):
    """A member killed without LeaveGroup: once its session times out the survivor gets everything."""
    import subprocess
    import sys

    topic = unique_topic("kill")
    create_topic(broker.bootstrap, topic, 4)
    group = f"g-{uuid.uuid4().hex[:8]}"
    a = group_consumer(broker.bootstrap, group)
    victim = subprocess.Popen([sys.executable, "-c", KILLED_MEMBER, broker.bootstrap, group, topic],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        a.subscribe([topic])
        wait_assignments([a], [2])
        victim.kill()
        victim.wait()
        start = time.time()
        wait_assignments([a], [4], timeout=30)
        assert time.time() - start >= 3  # moved by the session timeout, not by a leave
    finally:
        if victim.poll() is None:
            victim.kill()
        a.close()


def test_cooperative_sticky_rebalance(broker):
    """librdkafka's incremental (cooperative-sticky) assignor: the broker only relays the bytes."""
    topic = unique_topic("coop")
    create_topic(broker.bootstrap, topic, 6)
    group = f"g-{uuid.uuid4().hex[:8]}"
    extra = {"partition.assignment.strategy": "cooperative-sticky"}
    consumers = [group_consumer(broker.bootstrap, group, extra)]
    try:
        consumers[0].subscribe([topic])
        wait_assignments(consumers, [6])
        for _ in range(2):
            c = group_consumer(broker.bootstrap, group, extra)
            c.subscribe([topic])
            consumers.append(c)
        wait_assignments(consumers, [2, 2, 2])
    finally:
        for c in consumers:
            c.close()


def test_auto_offset_reset_latest_and_none(broker):
    topic = unique_topic("reset")
    create_topic(broker.bootstrap, topic, 1)
    produce_keys(broker.bootstrap, topic, 5, 1)
    c = group_consumer(broker.bootstrap, f"g-{uuid.uuid4().hex[:8]}", {"auto.offset.reset": "latest"})
    try:
        c.subscribe([topic])
        wait_assignments([c], [1])
        time.sleep(1)
        produce_keys(broker.bootstrap, topic, 3, 1)
        got = consume_n(c, 3, timeout=20)
        assert sorted(m.value() for m in got) == [b"v0", b"v1", b"v2"]
    finally:
        c.close()
    c = group_consumer(broker.bootstrap, f"g-{uuid.uuid4().hex[:8]}", {"auto.offset.reset": "error"})
    try:
        c.subscribe([topic])
        deadline = time.time() + 20
        err = None
        while time.time() < deadline and err is None:
            m = c.poll(0.2)
            if m is not None and m.error():
                err = m.error()
        assert err is not None and err.code() == KafkaError._AUTO_OFFSET_RESET
    finally:
        c.close()
