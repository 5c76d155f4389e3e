"""deploy/entrypoint.sh, the container entrypoint of deploy/docker-compose.yml, run here without a
container: three nodes configured only by SAMSA_* variables (as the compose file gives them) form
one cluster on loopback: the generated server.properties hold the mapped keys, the three brokers
register, a topic created through one is written and read back through another, and a node
restarted through the entrypoint keeps its formatted data (the format step is skipped).

Every wait is a bounded poll.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import HOST, SAMSA_BIN
from test_quorum_cluster import free_ports

ENTRYPOINT = Path(__file__).resolve().parents[2] / "deploy" / "entrypoint.sh"
BOUND_S = 30.0
CLUSTER = "q1Sh-9_ISia_zwGINzRvyQ"


def node_env(tmp_path, node_id, ports, voters):
    port, controller_port, http_port = ports
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSA_")}
    env.update({
        "SAMSA_BIN": str(SAMSA_BIN),
        "SAMSA_CONFIG_FILE": str(tmp_path / f"node-{node_id}" / "server.properties"),
        "CLUSTER_ID": CLUSTER,
        "SAMSA_NODE_ID": str(node_id),
        "SAMSA_PROCESS_ROLES": "broker,controller",
        "SAMSA_LISTENERS": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "SAMSA_ADVERTISED_LISTENERS": f"PLAINTEXT://{HOST}:{port}",
        "SAMSA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "SAMSA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "SAMSA_CONTROLLER_QUORUM_VOTERS": voters,
        "SAMSA_LOG_DIRS": str(tmp_path / f"node-{node_id}" / "data"),
        "SAMSA_HTTP_LISTENERS": f"http://{HOST}:{http_port}",
        "SAMSA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "SAMSA_NUM_IO_THREADS": "2",
    })
    return env


def start(tmp_path, node_id, env):
    log = open(tmp_path / f"node-{node_id}.log", "ab")
    return subprocess.Popen(["bash", str(ENTRYPOINT)], env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_brokers(bootstrap, n):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + BOUND_S
    seen = None
    while time.monotonic() < deadline:
        try:
            seen = sorted(admin.list_topics(timeout=5).brokers)
            if len(seen) == n:
                return seen
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.3)
    raise AssertionError(f"brokers seen through {bootstrap}: {seen}")


def test_three_nodes_from_environment_variables(tmp_path):
    ports = free_ports(9)
    node_ports = [ports[i * 3:i * 3 + 3] for i in range(3)]
    voters = ",".join(f"{i + 1}@{HOST}:{node_ports[i][1]}" for i in range(3))
    envs = [node_env(tmp_path, i + 1, node_ports[i], voters) for i in range(3)]
    procs = [start(tmp_path, i + 1, envs[i]) for i in range(3)]
    try:
        props = (tmp_path / "node-2" / "server.properties").read_text() if (tmp_path / "node-2" / "server.properties").exists() else ""
        deadline = time.monotonic() + BOUND_S
        while "node.id" not in props and time.monotonic() < deadline:
            time.sleep(0.1)
            props = (tmp_path / "node-2" / "server.properties").read_text()
        lines = set(props.splitlines())
        assert "node.id=2" in lines
        assert f"controller.quorum.voters={voters}" in lines
        assert "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" in lines
        assert "offsets.topic.replication.factor=1" in lines
        assert not any(l.startswith(("bin=", "config.file=", "cluster.id=")) for l in lines)  # not server keys

        b = [f"{HOST}:{p[0]}" for p in node_ports]
        assert wait_brokers(b[0], 3) == [1, 2, 3]
        for node in (1, 2, 3):
            meta = (tmp_path / f"node-{node}" / "data" / "meta.properties").read_text()
            assert f"cluster.id={CLUSTER}" in meta and f"node.id={node}" in meta

        admin = AdminClient({"bootstrap.servers": b[1]})  # kept alive until the result is in
        admin.create_topics([NewTopic("from-env", 3, 1)])["from-env"].result(timeout=20)
        producer = Producer({"bootstrap.servers": b[0], "enable.idempotence": True})
        for i in range(30):
            producer.produce("from-env", f"v{i}".encode())
        assert producer.flush(20) == 0

        # Node 1 goes and comes back through the entrypoint: its dir is formatted, so the format
        # step leaves it (meta.properties unchanged) and the node rejoins.
        before = (tmp_path / "node-1" / "data" / "meta.properties").read_text()
        stop(procs[0])
        procs[0] = start(tmp_path, 1, envs[0])
        assert wait_brokers(b[2], 3) == [1, 2, 3]
        assert (tmp_path / "node-1" / "data" / "meta.properties").read_text() == before

        consumer = Consumer({"bootstrap.servers": b[2], "group.id": "env-g", "auto.offset.reset": "earliest"})
        consumer.subscribe(["from-env"])
        got = set()
        deadline = time.monotonic() + BOUND_S
        while len(got) < 30 and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                got.add(m.value())
        consumer.close()
        assert got == {f"v{i}".encode() for i in range(30)}
    finally:
        for p in procs:
            stop(p)


def test_cluster_id_is_required(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSA_") and k != "CLUSTER_ID"}
    env["SAMSA_BIN"] = str(SAMSA_BIN)
    env["SAMSA_CONFIG_FILE"] = str(tmp_path / "server.properties")
    r = subprocess.run(["bash", str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "CLUSTER_ID" in r.stderr
