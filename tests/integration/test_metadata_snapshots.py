"""Metadata snapshots in a three-node quorum (issue 12, KIP-630): with a small
metadata.log.max.record.bytes.between.snapshots and small metadata log segments, the leader
snapshots its state and drops the log prefix; a follower that was silent meanwhile (SIGSTOP)
is behind the leader's log start, so it fetches and installs the leader's snapshot
(FetchSnapshot): a `<offset>-<epoch>.checkpoint` appears in its __cluster_metadata-0 dir, its
log starts past 0, and it serves every topic in Metadata. Restarted, it loads its newest
snapshot and serves them again.

Every wait is bounded; a SIGSTOPped process is always SIGCONTed (Cluster.stop).
"""

import re
import signal
import subprocess
import time

import pytest

from rawadmin import create_topics_request, metadata_request, parse_create_topics, parse_metadata
from conftest import SAMSA_BIN
from rawkafka import Conn
from test_controller_answers import settled_leader
from test_quorum_cluster import Cluster

BOUND_S = 30.0
SNAPSHOTS = {
    "metadata.log.max.record.bytes.between.snapshots": "2048",
    "metadata.log.segment.bytes": "4096",
}
CHECKPOINT = re.compile(r"^(\d{20})-(\d{10})\.checkpoint$")
SEGMENT = re.compile(r"^(\d{20})\.log$")
TOPICS = [f"snap-{i:02d}" for i in range(40)]


@pytest.fixture
def cluster3(tmp_path):
    c = Cluster(tmp_path, 3, extra=SNAPSHOTS)
    c.start()
    yield c
    c.stop()


def metadata_dir(node):
    return node.dir / "data" / "__cluster_metadata-0"


def checkpoints(node):
    return sorted(int(m.group(1)) for p in metadata_dir(node).iterdir() if (m := CHECKPOINT.match(p.name)))


def log_start(node):
    """The base offset of the metadata log's first segment."""
    bases = [int(m.group(1)) for p in metadata_dir(node).iterdir() if (m := SEGMENT.match(p.name))]
    return min(bases) if bases else None


def dump_newest_checkpoint(node):
    """`samsa dump-log-segments --cluster-metadata-decoder` of the newest snapshot (Kafka's
    kafka-dump-log.sh reads .checkpoint files the same way)."""
    newest = max((p for p in metadata_dir(node).iterdir() if CHECKPOINT.match(p.name)), key=lambda p: p.name)
    out = subprocess.run([str(SAMSA_BIN), "dump-log-segments", "--cluster-metadata-decoder", "--files", str(newest)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def wait_for(what, cond, cluster, bound=BOUND_S):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} not within {bound} s\n{cluster.logs()}")


def serves_every_topic(node):
    try:
        with Conn(node.port, timeout=5.0) as c:
            topics = parse_metadata(c.request(metadata_request(9, TOPICS, auto_create=False))[4:])
    except OSError:
        return False
    return all(t in topics and topics[t][0] == 0 and len(topics[t][2]) == 1 for t in TOPICS)


def test_a_silent_follower_installs_the_leaders_snapshot_and_loads_it_at_restart(cluster3):
    leader_id = settled_leader(cluster3)
    leader = cluster3.node(leader_id)
    victim = next(n for n in cluster3.nodes if n.id != leader_id)
    cluster3.create_topic("before-stop", partitions=1)
    cluster3.wait_topic_everywhere("before-stop", 1)
    victim.proc.send_signal(signal.SIGSTOP)
    try:
        # Many small batches through the leader (two voters of three commit them).
        with Conn(leader.port, timeout=20.0) as c:
            for i in range(0, len(TOPICS), 4):
                batch = [{"name": t, "partitions": 1, "rf": 1} for t in TOPICS[i:i + 4]]
                answer = parse_create_topics(c.request(create_topics_request(i, batch))[4:])
                assert all(answer[t["name"]][0] == 0 for t in batch), answer
        # The leader snapshotted and dropped its log prefix: the silent follower is behind it.
        wait_for("a leader snapshot", lambda: checkpoints(leader) and log_start(leader) > 0, cluster3)
    finally:
        victim.proc.send_signal(signal.SIGCONT)
    wait_for("the follower serving every topic", lambda: serves_every_topic(victim), cluster3)
    assert "installed the snapshot" in victim.log_path.read_text(errors="replace"), cluster3.logs()
    assert checkpoints(victim), list(metadata_dir(victim).iterdir())
    assert log_start(victim) > 0, list(metadata_dir(victim).iterdir())
    dumped = dump_newest_checkpoint(victim)
    # The snapshot holds the state at its end offset (the topics after it arrived through the log).
    assert "Snapshot end offset" in dumped and "SnapshotHeader" in dumped and "SnapshotFooter" in dumped, dumped
    assert '"name":"snap-00"' in dumped and '"name":"before-stop"' in dumped, dumped[-3000:]

    # Restarted, it loads its newest snapshot and the log after it.
    victim.stop()
    newest = checkpoints(victim)[-1]
    victim.start()
    wait_for("the restarted follower serving every topic", lambda: serves_every_topic(victim), cluster3)
    text = victim.log_path.read_text(errors="replace")
    assert re.search(rf"metadata snapshots: loaded {newest}-\d+ ", text), text[-3000:]
    cluster3.create_topic("after-restart", partitions=1)
    cluster3.wait_topic_everywhere("after-restart", 1)
