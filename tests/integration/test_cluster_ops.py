"""`samsa cluster` on four real brokers (issue 14): drain a broker under an idempotent acks=all
producer and a consumer (every replica leaves it, nothing acknowledged is lost or duplicated, the
producer never fails), stop it and unregister it (kafka-cluster.sh's `unregister`); `balance`
shows a plan without changing anything, then with --execute --throttle spreads a lopsided topic
over all brokers (replicas and preferred leaders within one of each other), clears the throttles
and keeps every record. `cluster-id` prints the id Metadata reports.

Every wait is a bounded poll.
"""

import re
import subprocess
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from test_reassignment import BOUND_S, SAMSA_BIN, Load, cluster, described, REPLICA_KEYS, RATE_KEYS  # noqa: F401


def samsa_cluster(via, *args, check=True, timeout=180):
    p = subprocess.run([SAMSA_BIN, "cluster", *args, "--bootstrap-server", via.bootstrap],
                       capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, f"samsa cluster {args}: {p.stdout}{p.stderr}"
    return p


def layout(via):
    """{(topic, partition): replicas} of every partition, and the broker ids, as Metadata shows."""
    admin = AdminClient({"bootstrap.servers": via.bootstrap})
    md = admin.list_topics(timeout=10)
    parts = {(t.topic, p.id): list(p.replicas) for t in md.topics.values() for p in t.partitions.values()}
    return parts, sorted(md.brokers), md.cluster_id


def create(via, name, assignment):
    admin = AdminClient({"bootstrap.servers": via.bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=len(assignment), replica_assignment=assignment, config={"min.insync.replicas": "2"})],
                        operation_timeout=20)[name].result(timeout=30)


def test_drain_under_load_then_unregister(cluster):
    via = cluster.node(1)
    create(via, "draining", [[4, 1, 2], [1, 4, 3], [2, 3, 4]])
    cluster.wait_partition("draining", lambda l, r, i: l == 4 and i == [1, 2, 4], via=via, what="broker 4 leading")
    out = samsa_cluster(via, "cluster-id").stdout
    assert out == f"Cluster ID: {layout(via)[2]}\n"

    load = Load(cluster.bootstrap, "draining")  # partition 0, led by broker 4
    load.start()
    try:
        deadline = time.monotonic() + BOUND_S
        while len(load.acked) < 1000 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(load.acked) >= 1000, f"only {len(load.acked)} acked before the drain"
        dry = samsa_cluster(via, "drain", "--broker", "4", "--dry-run").stdout
        m = re.match(r"Draining broker 4: (\d+) partition\(s\) to move\n", dry)
        assert m and int(m.group(1)) >= 3, dry  # draining-0..2, and internal partitions it holds
        for line in ("  draining-0: 4,1,2 -> ", "  draining-1: 1,4,3 -> 1,", "  draining-2: 2,3,4 -> 2,3,"):
            assert line in dry, dry
        assert '"topic":"draining"' in dry
        assert 4 in layout(via)[0][("draining", 0)], "a dry run moved something"
        out = samsa_cluster(via, "drain", "--broker", "4").stdout
        assert f"{m.group(1)} of {m.group(1)} partition(s) moved" in out, out
        assert "Broker 4 holds no replicas. Stop it, then: samsa cluster unregister" in out
        parts = layout(via)[0]
        holding = sorted(k for k, r in parts.items() if 4 in r)
        assert not holding, f"still on broker 4: {holding}"
        # Positions kept: draining-0's replacement is its new preferred leader, and leads.
        cluster.wait_partition("draining", lambda l, r, i: l != 4 and 4 not in i, via=via, what="broker 4 gone")
        acked_at_drain = len(load.acked)
        deadline = time.monotonic() + BOUND_S
        while len(load.acked) < acked_at_drain + 500 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        load.stop()
    assert not load.failed, f"{len(load.failed)} records failed, first {load.failed[:5]}"
    assert len(load.acked) > acked_at_drain, "nothing acked after the drain"
    assert sorted(load.acked) == list(range(len(load.acked)))
    assert load.read == sorted(set(load.read)), "read out of order or twice"
    assert set(load.acked) <= set(load.read), "acknowledged but never read"

    cluster.node(4).stop()
    samsa_cluster(via, "unregister", "--id", "4")  # prints "Broker 4 is no longer registered."
    deadline = time.monotonic() + BOUND_S
    while layout(via)[1] != [1, 2, 3] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert layout(via)[1] == [1, 2, 3]
    # Three brokers left: the RF 3 partitions have nowhere to go from broker 1.
    again = samsa_cluster(via, "drain", "--broker", "1", check=False)
    assert again.returncode != 0 and "no other live broker can take a replica" in again.stderr, again.stderr


def test_balance_shows_then_spreads_a_lopsided_topic(cluster):
    via = cluster.node(2)
    assignment = [[1, 2], [2, 3], [3, 1], [1, 2], [2, 3], [3, 1], [1, 2], [2, 3]]
    create(via, "lopsided", assignment)
    cluster.wait_partition("lopsided", lambda l, r, i: len(i) == 2, via=via, what="a full ISR", partition=7)
    p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True})
    for i in range(800):
        p.produce("lopsided", value=str(i).encode(), partition=i % 8)
    assert p.flush(60) == 0

    before = layout(via)[0]
    shown = samsa_cluster(via, "balance").stdout
    assert "Broker  Rack        Replicas  Preferred leaders" in shown
    assert "Run with --execute to apply it." in shown
    assert layout(via)[0] == before, "balance without --execute changed the cluster"

    out = samsa_cluster(via, "balance", "--execute", "--throttle", "50000000").stdout
    assert "The inter-broker throttle limit was set to 50000000 B/s" in out
    assert "Clearing topic-level throttles on topic lopsided" in out
    parts, brokers, _ = layout(via)
    counts = {b: 0 for b in brokers}
    leaders = {b: 0 for b in brokers}
    for key, replicas in parts.items():
        for r in replicas:
            counts[r] += 1
        leaders[replicas[0]] += 1
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert max(leaders.values()) - min(leaders.values()) <= 1, leaders
    assert counts[4] >= 3, counts
    assert described(via, "topic", "lopsided", REPLICA_KEYS) == {k: None for k in REPLICA_KEYS}
    assert "The cluster is balanced: nothing to move." in samsa_cluster(via, "balance").stdout

    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "g-lopsided", "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("lopsided", i, 0) for i in range(8)])
    got = []
    deadline = time.monotonic() + BOUND_S
    while len(got) < 800 and time.monotonic() < deadline:
        got += [int(m.value()) for m in c.consume(num_messages=800, timeout=0.5) if m.error() is None]
    c.close()
    assert sorted(got) == list(range(800))
