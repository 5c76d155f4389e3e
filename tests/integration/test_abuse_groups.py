"""Static membership fencing (issue 18, finding 7): when a consumer joins with the
group.instance.id of a running member, the replaced member gets FENCED_INSTANCE_ID (fatal for
it) on every group API, as Kafka's validateCurrentMember answers, instead of UNKNOWN_MEMBER_ID
(after which it would rejoin, take the instance id back, and the two would fight forever)."""

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError

import abuse as ab
from helpers import base_conf, create_topic, produce, Msg, unique_topic

GROUP_WAIT_S = 40


@pytest.fixture(scope="module")
def broker_config():
    return 1, {"group.initial.rebalance.delay.ms": "0"}


def static_member(client, group, instance):
    """Joins as the static member `instance` and, as leader, syncs -> (member id, generation)."""
    j = client.join_group(group, instance_id=instance)
    assert j["error"] == ab.NONE, j
    mid, gen = j["member_id"], j["generation"]
    err, _ = client.sync_group(group, gen, mid, instance, {mid: b"assigned"})
    assert err == ab.NONE
    return mid, gen


def test_replaced_static_member_is_fenced_on_every_group_api(broker):
    topic = unique_topic("fence")
    create_topic(broker.bootstrap, topic, 1)
    group, instance = f"g-{uuid.uuid4().hex[:8]}", "instance-1"
    with ab.Client(broker.port) as old, ab.Client(broker.port) as new, ab.Client(broker.port) as txn:
        old.wait_coordinator(group)
        old_id, gen = static_member(old, group, instance)
        # The same instance id, restarted elsewhere without its member id: takes the member's place
        # (same generation, same assignment, no rebalance).
        j = new.join_group(group, instance_id=instance)
        assert j["error"] == ab.NONE and j["generation"] == gen
        new_id = j["member_id"]
        assert new_id != old_id
        assert new.sync_group(group, gen, new_id, instance) == (ab.NONE, b"assigned")

        # Every API of the replaced member: fenced, not unknown.
        assert old.heartbeat(group, gen, old_id, instance) == ab.FENCED_INSTANCE_ID
        assert old.sync_group(group, gen, old_id, instance)[0] == ab.FENCED_INSTANCE_ID
        assert old.offset_commit(group, gen, old_id, instance, topic, {0: 5}) == {0: ab.FENCED_INSTANCE_ID}
        assert old.join_group(group, member_id=old_id, instance_id=instance)["error"] == ab.FENCED_INSTANCE_ID
        # KIP-447: a transactional producer committing for the replaced consumer.
        tid = f"t-{uuid.uuid4().hex[:8]}"
        err, pid, epoch = txn.init_producer_id(tid)
        assert err == ab.NONE
        assert txn.add_offsets_to_txn(tid, pid, epoch, group) == ab.NONE
        assert txn.txn_offset_commit(tid, group, pid, epoch, gen, old_id, instance, topic,
                                     {0: 6}) == {0: ab.FENCED_INSTANCE_ID}
        assert txn.end_txn(tid, pid, epoch, commit=False) == ab.NONE
        # LeaveGroup v3 naming the old member: fenced, and nobody leaves.
        assert old.leave_group(group, [(old_id, instance)]) == (ab.NONE, [(old_id, instance, ab.FENCED_INSTANCE_ID)])
        # The instance id is checked before the member id: an unknown member id is fenced too.
        assert old.heartbeat(group, gen, "no-such-member", instance) == ab.FENCED_INSTANCE_ID
        # An instance id nobody holds, or no instance id and an unknown member id: unknown member.
        assert old.heartbeat(group, gen, old_id, "instance-2") == ab.UNKNOWN_MEMBER_ID
        assert old.heartbeat(group, gen, old_id, None) == ab.UNKNOWN_MEMBER_ID

        # None of this disturbed the current holder.
        assert new.heartbeat(group, gen, new_id, instance) == ab.NONE
        assert new.offset_commit(group, gen, new_id, instance, topic, {0: 7}) == {0: ab.NONE}
        assert new.offset_fetch(group, topic, [0]) == {0: 7}

        # LeaveGroup v3 by instance id alone (an admin removing the static member) removes
        # whoever holds it now.
        assert old.leave_group(group, [("", instance)]) == (ab.NONE, [("", instance, ab.NONE)])
        assert new.heartbeat(group, gen, new_id, instance) == ab.UNKNOWN_MEMBER_ID
        assert old.leave_group(group, [("", instance)]) == (ab.NONE, [("", instance, ab.UNKNOWN_MEMBER_ID)])


def test_second_consumer_with_same_instance_id_fences_the_first(broker):
    """Two librdkafka consumers with one group.instance.id: the first gets a fatal
    FENCED_INSTANCE_ID error and stops; the second keeps the partition."""
    topic = unique_topic("fence-ck")
    create_topic(broker.bootstrap, topic, 1)
    produce(broker.bootstrap, topic, [Msg(value=f"v{i}".encode(), partition=0) for i in range(10)])
    group = f"g-{uuid.uuid4().hex[:8]}"
    errors = {1: [], 2: []}
    received = {1: 0, 2: 0}

    def make(n):
        conf = {**base_conf(broker.bootstrap), "group.id": group, "group.instance.id": "the-instance",
                "auto.offset.reset": "earliest", "enable.auto.commit": False,
                "session.timeout.ms": 6000, "heartbeat.interval.ms": 300,
                "error_cb": lambda e: errors[n].append(e)}
        c = Consumer(conf)
        c.subscribe([topic])
        return c

    def poll(c, n):
        m = c.poll(0.1)
        if m is not None:
            if m.error():
                errors[n].append(m.error())
            else:
                received[n] += 1

    first = make(1)
    second = None
    try:
        deadline = time.monotonic() + GROUP_WAIT_S
        while time.monotonic() < deadline and not first.assignment():
            poll(first, 1)
        assert first.assignment(), f"first consumer never got its assignment: {errors[1]}"
        second = make(2)
        deadline = time.monotonic() + GROUP_WAIT_S
        while time.monotonic() < deadline and not any(_fenced(e) for e in errors[1]):
            poll(first, 1)
            poll(second, 2)
        assert any(_fenced(e) for e in errors[1]), \
            f"first consumer was not fenced; its errors: {[str(e) for e in errors[1]]}"
        assert any(_fatal(e) for e in errors[1]), [str(e) for e in errors[1]]
        # The second consumer holds the partition and reads it, and keeps it (no fight) past the
        # first one's session timeout (6 s), after which librdkafka's fenced consumer tries nothing more.
        deadline = time.monotonic() + GROUP_WAIT_S
        while time.monotonic() < deadline and received[2] < 10:
            poll(second, 2)
        settle = time.monotonic() + 10
        while time.monotonic() < settle:
            poll(first, 1)
            poll(second, 2)
        assert [tp.partition for tp in second.assignment()] == [0]
        assert received[2] == 10
        assert not [e for e in errors[2] if _fenced(e) or _fatal(e)], [str(e) for e in errors[2]]
    finally:
        first.close()
        if second is not None:
            second.close()


def _fenced(e):
    return e.code() == ab.FENCED_INSTANCE_ID or "fenced" in str(e).lower()


def _fatal(e):
    # librdkafka reports a fatal error to error_cb as _FATAL (the binding's fatal() flag is not set there)
    return e.fatal() or e.code() == KafkaError._FATAL
