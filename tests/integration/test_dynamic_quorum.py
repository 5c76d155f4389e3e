"""A dynamic KRaft quorum (KIP-853) grown and shrunk with `samsa metadata-quorum add-controller /
remove-controller`, as with kafka-metadata-quorum.sh: node 1 is formatted --standalone (the one
voter), nodes 2 and 3 --no-initial-controllers; those start as observers that find the leader
through controller.quorum.bootstrap.servers, replicate the metadata log and are then added as
voters (AddRaftVoter, api key 80). The grown quorum survives a kill -9 of its leader, and a voter
is removed (RemoveRaftVoter, 81) with changes still committing.

Real processes on free loopback ports; every wait is a bounded poll.
"""

import json
import signal
import subprocess
import time

import pytest

from conftest import HOST, SAMSA_BIN
from test_quorum_cluster import free_ports
from helpers import base_conf
from test_cli import samsa

BOUND_S = 30.0


def meta(d):
    return dict(l.split("=", 1) for l in (d / "meta.properties").read_text().splitlines()
                if l and not l.startswith("#"))


class DynNode:
    def __init__(self, root, node_id, bootstrap_port=None, extra=""):
        self.id = node_id
        self.extra = extra  # more server.properties lines
        # Drawn together (sockets held open while picking): separate draws may repeat a port.
        self.port, self.controller_port, self.http_port = free_ports(3)
        self.dir = root / f"node-{node_id}"
        self.config = root / f"node-{node_id}.properties"
        self.bootstrap_port = bootstrap_port or self.controller_port
        self.proc = None
        self.log_path = root / f"node-{node_id}.log"

    def write_config(self):
        self.config.write_text(
            f"node.id={self.id}\nprocess.roles=broker,controller\nlog.dirs={self.dir}\n"
            f"listeners=PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}\n"
            f"advertised.listeners=PLAINTEXT://{HOST}:{self.port}\n"
            "controller.listener.names=CONTROLLER\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
            f"controller.quorum.bootstrap.servers={HOST}:{self.bootstrap_port}\n"
            f"http.listeners=http://{HOST}:{self.http_port}\n"
            "offsets.topic.replication.factor=1\nnum.io.threads=2\n" + self.extra)

    def format(self, cluster_id, how):
        self.write_config()
        samsa("storage", "format", "-t", cluster_id, "-c", str(self.config), how)

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([str(SAMSA_BIN), "start", "--config", str(self.config)], stdout=log,
                                         stderr=log, stdin=subprocess.DEVNULL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if not self.alive():
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def directory_id(self):
        return meta(self.dir)["directory.id"]


def grown_quorum(tmp_path, extra=""):
    """Node 1 formatted --standalone, nodes 2 and 3 --no-initial-controllers, all started."""
    cluster_id = samsa("storage", "random-uuid").stdout.strip()
    first = DynNode(tmp_path, 1, extra=extra)
    others = [DynNode(tmp_path, i, first.controller_port, extra=extra) for i in (2, 3)]
    first.format(cluster_id, "--standalone")
    for n in others:
        n.format(cluster_id, "--no-initial-controllers")
    all_nodes = [first] + others
    for n in all_nodes:
        n.start()
    return all_nodes


@pytest.fixture
def nodes(tmp_path):
    all_nodes = grown_quorum(tmp_path)
    yield all_nodes
    for n in all_nodes:
        n.stop()


def logs(nodes):
    return "\n".join(f"--- node {n.id} ---\n{n.log_path.read_text(errors='replace')[-3000:]}" for n in nodes)


def controllers(nodes):
    return ",".join(f"{HOST}:{n.controller_port}" for n in nodes)


def status(nodes, among, want=lambda s: True):
    """describe --status through the controllers of `among` until `want` holds; the parsed fields."""
    deadline = time.monotonic() + BOUND_S
    last = None
    while time.monotonic() < deadline:
        r = samsa("metadata-quorum", "--bootstrap-controller", controllers(among), "--timeout-ms", "3000",
                  "describe", "--status", check=False)
        last = r
        if r.returncode == 0 and "LeaderId:" in r.stdout:
            s = {k.strip(): v.strip() for k, v in (l.split(":", 1) for l in r.stdout.splitlines() if ":" in l)}
            s["voters"] = sorted(v["id"] for v in json.loads(s["CurrentVoters"]))
            if want(s):
                return s
        time.sleep(0.3)
    pytest.fail(f"no quorum status as wanted within {BOUND_S} s: {last and (last.stdout + last.stderr)}\n"
                f"{logs(nodes)}")


def add_controller(nodes, node, via_broker=None):
    """add-controller through the controller listeners, or (`via_broker`) through that node's broker
    listener only, which passes the request on to the active controller."""
    deadline = time.monotonic() + BOUND_S
    r = None
    target = ("--bootstrap-server", f"{HOST}:{via_broker.port}") if via_broker else \
        ("--bootstrap-controller", controllers(nodes))
    while time.monotonic() < deadline:
        r = samsa("metadata-quorum", *target, "--timeout-ms", "10000",
                  "add-controller", "--controller.properties", str(node.config), check=False)
        if r.returncode == 0:
            return r.stdout
        # Not caught up yet, or the previous change still committing: Kafka's REQUEST_TIMED_OUT.
        assert "REQUEST_TIMED_OUT" in r.stderr or "not the active controller" in r.stderr, r.stderr
        time.sleep(0.5)
    pytest.fail(f"add-controller {node.id} failed: {r.stderr}\n{logs(nodes)}")


def create_topic(nodes, via, name):
    from confluent_kafka.admin import AdminClient, NewTopic
    deadline = time.monotonic() + BOUND_S
    last = None
    while time.monotonic() < deadline:
        admin = AdminClient(base_conf(f"{HOST}:{via.port}"))
        try:
            admin.create_topics([NewTopic(name, 2, 1)], request_timeout=10)[name].result(timeout=15)
            return
        except Exception as e:  # noqa: BLE001 - retried while leadership settles
            last = e
            if "already exists" in str(e).lower() or "TOPIC_ALREADY_EXISTS" in str(e):
                return
        time.sleep(0.5)
    pytest.fail(f"CreateTopics {name} through node {via.id} failed: {last}\n{logs(nodes)}")


def test_observers_join_as_voters_survive_a_leader_kill_and_one_is_removed(nodes):
    first, second, third = nodes
    s = status(nodes, nodes, lambda s: s["LeaderId"] == "1")
    assert s["voters"] == [1]

    out = add_controller(nodes, second)
    assert out == (f"Added controller 2 with directory id {second.directory_id()} and endpoints: "
                   f"CONTROLLER://{HOST}:{second.controller_port}\n")
    # The third joins through its own broker listener: it is an observer, not the active controller
    # (node 1 is), so it forwards AddRaftVoter there, as a Kafka broker does.
    out = add_controller(nodes, third, via_broker=third)
    assert out.startswith("Added controller 3 with directory id"), out
    s = status(nodes, nodes, lambda s: s["voters"] == [1, 2, 3])
    voters = {v["id"]: v for v in json.loads(s["CurrentVoters"])}
    assert voters[3]["directoryId"] == third.directory_id()
    assert voters[3]["endpoints"] == [f"CONTROLLER://{HOST}:{third.controller_port}"]
    # Adding a voter twice: Kafka's DUPLICATE_VOTER.
    again = samsa("metadata-quorum", "--bootstrap-controller", controllers(nodes), "add-controller",
                  "--controller.properties", str(second.config), check=False)
    assert again.returncode != 0 and "DUPLICATE_VOTER" in again.stderr, again.stderr

    # kill -9 the leader: the other two voters elect one of them and keep committing.
    leader = next(n for n in nodes if n.id == int(s["LeaderId"]))
    leader.stop(signal.SIGKILL)
    survivors = [n for n in nodes if n is not leader]
    s = status(nodes, survivors, lambda s: s["LeaderId"] in {str(n.id) for n in survivors})
    assert s["voters"] == [1, 2, 3]
    create_topic(nodes, survivors[0], "after-leader-kill")

    # Remove the killed voter: two voters remain, and changes still commit.
    r = samsa("metadata-quorum", "--bootstrap-controller", controllers(survivors), "remove-controller",
              "--controller-id", str(leader.id), "--controller-directory-id", leader.directory_id(), check=False)
    assert r.returncode == 0, r.stderr + logs(nodes)
    assert r.stdout == f"Removed KRaft controller {leader.id} with directory id {leader.directory_id()}\n"
    s = status(nodes, survivors, lambda s: len(s["voters"]) == 2)
    assert s["voters"] == sorted(n.id for n in survivors)
    create_topic(nodes, survivors[1], "after-remove")
    # Removing it again: Kafka's VOTER_NOT_FOUND.
    r = samsa("metadata-quorum", "--bootstrap-controller", controllers(survivors), "remove-controller",
              "--controller-id", str(leader.id), "--controller-directory-id", leader.directory_id(), check=False)
    assert r.returncode != 0 and "VOTER_NOT_FOUND" in r.stderr, r.stderr


def test_a_static_quorum_refuses_voter_changes(tmp_path):
    """controller.quorum.voters (kraft.version 0): AddRaftVoter answers UNSUPPORTED_VERSION, as Kafka."""
    n = DynNode(tmp_path, 1)
    n.write_config()
    text = n.config.read_text().replace(f"controller.quorum.bootstrap.servers={HOST}:{n.controller_port}",
                                        f"controller.quorum.voters=1@{HOST}:{n.controller_port}")
    n.config.write_text(text)
    cluster_id = samsa("storage", "random-uuid").stdout.strip()
    samsa("storage", "format", "-t", cluster_id, "-c", str(n.config))
    other = DynNode(tmp_path, 2)
    other.format(cluster_id, "--no-initial-controllers")
    n.start()
    try:
        deadline = time.monotonic() + BOUND_S
        r = None
        while time.monotonic() < deadline:
            r = samsa("metadata-quorum", "--bootstrap-controller", f"{HOST}:{n.controller_port}", "--timeout-ms",
                      "3000", "add-controller", "--controller.properties", str(other.config), check=False)
            if "UNSUPPORTED_VERSION" in r.stderr:
                break
            time.sleep(0.3)
        assert r.returncode != 0 and "UNSUPPORTED_VERSION" in r.stderr, r.stderr
    finally:
        n.stop()


# Small snapshots and segments: a few topics make every node snapshot and drop its log prefix.
SNAPSHOT_CONFIGS = "metadata.log.max.record.bytes.between.snapshots=2048\nmetadata.log.segment.bytes=4096\n"


def metadata_files(node):
    d = node.dir / "__cluster_metadata-0"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def test_the_voter_set_outlives_the_log_prefix_where_it_was_written(tmp_path):
    """The VotersRecords that made the quorum [1, 2, 3] are in the bootstrap checkpoint and the first
    log segments. Once every node's snapshot replaced both, the snapshots must hold the voter set
    (KIP-853's KRaftVersion and Voters control records after the header): restarted, every node
    finds the voters there and the quorum elects a leader and commits again."""
    all_nodes = grown_quorum(tmp_path, SNAPSHOT_CONFIGS)
    try:
        status(all_nodes, all_nodes, lambda s: s["LeaderId"] == "1")
        add_controller(all_nodes, all_nodes[1])
        add_controller(all_nodes, all_nodes[2])
        status(all_nodes, all_nodes, lambda s: s["voters"] == [1, 2, 3])
        bootstrap = "00000000000000000000-0000000000.checkpoint"

        def prefix_gone(n):
            names = metadata_files(n)
            segments = [int(x[:20]) for x in names if x.endswith(".log")]
            return bootstrap not in names and segments and min(segments) > 0

        deadline = time.monotonic() + 90
        made = 0
        while not all(prefix_gone(n) for n in all_nodes):
            assert time.monotonic() < deadline, f"no snapshot replaced the log prefix: " \
                f"{[metadata_files(n) for n in all_nodes]}\n{logs(all_nodes)}"
            create_topic(all_nodes, all_nodes[made % 3], f"snap-voters-{made}")
            made += 1
        for n in all_nodes:
            newest = max(x for x in metadata_files(n) if x.endswith(".checkpoint"))
            out = subprocess.run([str(SAMSA_BIN), "dump-log-segments", "--cluster-metadata-decoder", "--files",
                                  str(n.dir / "__cluster_metadata-0" / newest)],
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            assert 'KRaftVersion {"version":0,"kRaftVersion":1}' in out.stdout, out.stdout[:3000]
            voters = next((line for line in out.stdout.splitlines() if "KRaftVoters {" in line), "")
            assert all(f'"voterId":{i},' in voters for i in (1, 2, 3)), out.stdout[:3000]
        for n in all_nodes:
            n.stop()
        for n in all_nodes:
            n.start()
        s = status(all_nodes, all_nodes, lambda s: s["LeaderId"] in {"1", "2", "3"} and s["voters"] == [1, 2, 3])
        assert s["voters"] == [1, 2, 3]
        create_topic(all_nodes, all_nodes[0], "after-restart")
        for n in all_nodes:
            assert n.alive(), logs(all_nodes)
    finally:
        for n in all_nodes:
            n.stop()


def update_raft_voter(port, cluster_id, epoch, voter_id, directory_id, endpoints, kraft=(0, 1), corr=7):
    """One raw UpdateRaftVoter v0 (api key 82) on a CONTROLLER listener ->
    (error, (leader id, leader epoch, host, port) or None)."""
    from rawkafka import Conn, Reader, compact_string, i16, i32, uvarint
    from test_new_versions import call
    import base64
    dir_bytes = base64.urlsafe_b64decode(directory_id + "=" * (-len(directory_id) % 4))
    listeners = uvarint(len(endpoints) + 1) + b"".join(
        compact_string(name) + compact_string(host) + struct_u16(p) + b"\x00" for name, host, p in endpoints)
    body = (compact_string(cluster_id) + i32(epoch) + i32(voter_id) + dir_bytes + listeners
            + i16(kraft[0]) + i16(kraft[1]) + b"\x00" + b"\x00")
    with Conn(port, timeout=40.0) as conn:
        r = Reader(call(conn, 82, 0, corr, body))
    r.i32()  # throttle
    error = r.i16()
    leader = None
    for _ in range(r.uvarint()):
        tag, size = r.uvarint(), r.uvarint()
        data = Reader(r.take(size))
        if tag == 0:
            lid, lep = data.i32(), data.i32()
            host = data.take(data.uvarint() - 1).decode()
            leader = (lid, lep, host, data.i32())
    return error, leader


def struct_u16(v):
    return v.to_bytes(2, "big")


def voter_endpoints(s):
    return {v["id"]: v["endpoints"] for v in json.loads(s["CurrentVoters"])}


def test_a_voter_that_moved_has_the_leader_record_its_new_endpoint(nodes):
    """KIP-853 UpdateRaftVoter: voter 3 restarts with its CONTROLLER listener on another port. It
    tells the leader, which commits a voter set naming the new endpoint; the quorum then survives a
    kill -9 of its leader (the survivors reach voter 3 where it now listens). Voters whose endpoints
    did not change write nothing. Raw requests show Kafka's answers: a stale leader epoch is
    FENCED_LEADER_EPOCH, an unknown replica key VOTER_NOT_FOUND, a follower NOT_LEADER_OR_FOLLOWER
    naming the leader."""
    first, second, third = nodes
    status(nodes, nodes, lambda s: s["LeaderId"] == "1")
    add_controller(nodes, second)
    add_controller(nodes, third)
    s = status(nodes, nodes, lambda s: s["voters"] == [1, 2, 3])
    old_port = third.controller_port
    assert voter_endpoints(s)[3] == [f"CONTROLLER://{HOST}:{old_port}"]

    third.stop()
    third.controller_port = free_ports(1)[0]
    assert third.controller_port != old_port
    third.write_config()
    third.start()
    moved = f"CONTROLLER://{HOST}:{third.controller_port}"
    s = status(nodes, nodes, lambda s: voter_endpoints(s).get(3) == [moved])
    assert voter_endpoints(s) == {1: [f"CONTROLLER://{HOST}:{first.controller_port}"],
                                  2: [f"CONTROLLER://{HOST}:{second.controller_port}"], 3: [moved]}
    assert "had the voter set record its endpoints CONTROLLER://" in third.log_path.read_text(errors="replace")
    for n in (first, second):
        assert "had the voter set record its endpoints" not in n.log_path.read_text(errors="replace"), logs(nodes)

    # Raw UpdateRaftVoter on the leader and on a follower.
    leader = next(n for n in nodes if n.id == int(s["LeaderId"]))
    follower = next(n for n in nodes if n is not leader)
    epoch = int(s["LeaderEpoch"])
    cluster_id = meta(leader.dir)["cluster.id"]
    ep = [("CONTROLLER", HOST, follower.controller_port)]
    err, hint = update_raft_voter(leader.controller_port, cluster_id, epoch - 1, follower.id,
                                  follower.directory_id(), ep)
    assert err == 74, err  # FENCED_LEADER_EPOCH
    err, hint = update_raft_voter(leader.controller_port, cluster_id, epoch, follower.id,
                                  third.directory_id() if follower is not third else first.directory_id(), ep)
    assert err == 127, err  # VOTER_NOT_FOUND: the id with another node's directory id
    assert hint == (leader.id, epoch, HOST, leader.controller_port), hint
    err, hint = update_raft_voter(follower.controller_port, cluster_id, epoch, follower.id,
                                  follower.directory_id(), ep)
    assert err == 6, err  # NOT_LEADER_OR_FOLLOWER
    assert hint == (leader.id, epoch, HOST, leader.controller_port), hint
    # Its own unchanged endpoint, through the leader: nothing to change, answered NONE.
    err, _ = update_raft_voter(leader.controller_port, cluster_id, epoch, follower.id, follower.directory_id(), ep)
    assert err == 0, err

    leader.stop(signal.SIGKILL)
    survivors = [n for n in nodes if n is not leader]
    s = status(nodes, survivors, lambda s: s["LeaderId"] in {str(n.id) for n in survivors})
    assert voter_endpoints(s)[3] == [moved]
    create_topic(nodes, survivors[0], "after-move-and-kill")
