"""Preferred leaders on three brokers (issue 14): after a broker restarts, the partitions it
prefers (it is their first replica) stay led elsewhere until `samsa leader-election` (ElectLeaders
v2, sent to any broker and relayed to the active controller) gives them back, with
kafka-leader-election.sh's output; with `auto.leader.rebalance.enable` the controller does it by
itself after `leader.imbalance.check.interval.seconds`.

Every wait is a bounded poll.
"""

import signal
import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient

from conftest import SAMSA_BIN
from test_replication import BOUND_S, Cluster, create_replicated

TOPIC = "prefs"
PARTITIONS = 3


def leaders_and_preferred(cluster, via=None):
    """{partition: (leader, first replica)} as a live node's Metadata shows it, or None."""
    for n in [via] if via else [n for n in cluster.nodes if n.alive()]:
        try:
            md = AdminClient({"bootstrap.servers": n.bootstrap}).list_topics(topic=TOPIC, timeout=5)
        except Exception:
            continue
        t = md.topics.get(TOPIC)
        if t is None or t.error is not None or len(t.partitions) != PARTITIONS:
            continue
        return {p.id: (p.leader, p.replicas[0]) for p in t.partitions.values()}
    return None


def wait_for(cluster, want, what, bound=BOUND_S):
    deadline = time.monotonic() + bound
    seen = None
    while time.monotonic() < deadline:
        seen = leaders_and_preferred(cluster)
        if seen and want(seen):
            return seen
        time.sleep(0.3)
    pytest.fail(f"{what} not reached, last seen {seen}\n{cluster.logs()}")


def election(cluster, *args):
    return subprocess.run([str(SAMSA_BIN), "leader-election", "--bootstrap-server", cluster.nodes[0].bootstrap,
                           *args], capture_output=True, text=True, timeout=60)


def restart_a_preferred_leader(cluster):
    """Stops the preferred leader of partition 0, waits for the leadership to move, restarts it and
    waits for it to be back in every ISR; returns its id."""
    state = wait_for(cluster, lambda s: all(l == pref for l, pref in s.values()), "every preferred replica leading")
    victim = cluster.node(state[0][1])
    victim.stop(signal.SIGKILL)
    wait_for(cluster, lambda s: s[0][0] not in (-1, victim.id), "partition 0 led elsewhere")
    victim.start()
    for p in range(PARTITIONS):
        cluster.wait_partition(TOPIC, lambda l, r, i: len(i) == 3, what=f"partition {p} with ISR of 3", partition=p)
    return victim.id


def cluster_with(tmp_path, extra):
    """Three nodes with `extra` broker configs; stopped when the generator closes."""
    c = Cluster(tmp_path)
    for n in c.nodes:
        n.extra.update(extra)
    for n in c.nodes:
        n.start()
    try:
        yield c
    finally:
        for n in c.nodes:
            n.stop()


@pytest.fixture
def manual_cluster(tmp_path):
    yield from cluster_with(tmp_path, {"auto.leader.rebalance.enable": "false"})


def test_leader_election_tool_gives_partitions_back_to_their_preferred_replica(manual_cluster):
    c = manual_cluster
    create_replicated(c, TOPIC, partitions=PARTITIONS, min_isr=1)
    victim = restart_a_preferred_leader(c)
    time.sleep(2.0)  # no automatic balance: the leadership stays where it moved
    state = leaders_and_preferred(c)
    assert state[0][0] != victim, f"partition 0 went back to {victim} without an election: {state}"
    moved = sorted(p for p, (l, pref) in state.items() if l != pref)

    out = election(c, "--election-type", "preferred", "--all-topic-partitions")
    assert out.returncode == 0, out.stdout + out.stderr
    names = ", ".join(f"{TOPIC}-{p}" for p in moved)
    assert f"Successfully completed leader election (PREFERRED) for partitions {names}" in out.stdout, out.stdout
    wait_for(c, lambda s: all(l == pref for l, pref in s.values()), "every preferred replica leading again")

    again = election(c, "--election-type", "preferred", "--topic", TOPIC, "--partition", "0")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Valid replica already elected for partitions {TOPIC}-0" in again.stdout, again.stdout
    unclean = election(c, "--election-type", "unclean", "--topic", TOPIC, "--partition", "1")
    assert unclean.returncode == 0 and f"Valid replica already elected for partitions {TOPIC}-1" in unclean.stdout

    bad = election(c, "--election-type", "preferred", "--topic", TOPIC, "--partition", "7")
    assert bad.returncode != 0
    assert f"Error completing leader election (PREFERRED) for partition: {TOPIC}-7: UNKNOWN_TOPIC_OR_PARTITION" in \
        bad.stdout, bad.stdout + bad.stderr
    assert "1 replica(s) could not be elected" in bad.stdout + bad.stderr


@pytest.fixture
def balancing_cluster(tmp_path):
    yield from cluster_with(tmp_path, {"leader.imbalance.check.interval.seconds": "1"})


def test_auto_leader_rebalance_gives_leadership_back_by_itself(balancing_cluster):
    c = balancing_cluster
    create_replicated(c, TOPIC, partitions=PARTITIONS, min_isr=1)
    victim = restart_a_preferred_leader(c)
    state = wait_for(c, lambda s: all(l == pref for l, pref in s.values()),
                     "the preferred replicas leading again without an election request")
    assert state[0][0] == victim
    assert "moved back to their preferred replicas" in "".join(n.log_tail(200000) for n in c.nodes)
