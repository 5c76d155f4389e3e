"""The walkthrough of issue 13's "done when": three brokers from `samsa dev-cluster`, kcat
producing with acks=all (idempotent) and kcat consuming, and a user kills one broker with
kill -9. Nothing kcat was told was delivered may be missing afterwards, nothing may appear twice,
and nothing the running consumer printed may disappear.

The topic has three partitions with replication factor 3 and min.insync.replicas=2, so each node
leads one partition and the killed node (the active controller, chosen as the worst case) takes a
leader and the quorum's leader with it. dev-cluster does not restart a node that died; the two left
keep the topic writable. kcat produces in small runs: a run that exits 0 had every record of it
acknowledged (kcat exits 1 when a delivery fails), so only those records are promised.
"""

import json
import signal
import subprocess
import time

import pytest

from conftest import SAMSA_BIN, free_port_run
from test_quorum_cluster import FORM_BOUND_S, Node

TOPIC = "walk"
PARTITIONS = 3
RUN = 40         # records per kcat producer run
RUNS_BEFORE = 5  # runs before the kill
RUNS_AFTER = 8   # runs after it
BOUND_S = 60.0


def kcat(bootstrap, *args, stdin=None, timeout=90):
    return subprocess.run(["kcat", "-b", bootstrap, *args], input=stdin, capture_output=True, timeout=timeout)


def leaders(bootstrap):
    """{partition: leader id} as kcat -L -J shows the topic, or None."""
    try:
        out = kcat(bootstrap, "-L", "-J", "-t", TOPIC, "-m", "5", timeout=20)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    try:
        meta = json.loads(out.stdout)
    except ValueError:
        return None
    for t in meta.get("topics", []):
        if t.get("topic") == TOPIC and not t.get("error"):
            return {p["partition"]: p["leader"] for p in t.get("partitions", [])}
    return None


def produce_run(bootstrap, lines):
    """One kcat producer run; True when kcat reports every record delivered."""
    out = kcat(bootstrap, "-P", "-t", TOPIC, "-X", "acks=all", "-X", "enable.idempotence=true",
               "-X", "message.timeout.ms=60000", "-X", "linger.ms=5", stdin=("\n".join(lines) + "\n").encode())
    return out.returncode == 0


def read_all(bootstrap):
    """Every record of the topic from the beginning, as {(partition, offset): value}."""
    out = kcat(bootstrap, "-C", "-t", TOPIC, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n", timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    return parse(out.stdout.decode())


def parse(text):
    records = {}
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            records[(int(parts[0]), int(parts[1]))] = parts[2]
    return records


def children_of(pid):
    """{node id: pid} of dev-cluster's nodes, read from their command lines in /proc."""
    nodes = {}
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        fields = line.split()
        for f in fields:
            if f.endswith(".properties") and "node-" in f:
                nodes[int(f.rsplit("node-", 1)[1].split(".")[0])] = int(fields[0])
    return nodes


def test_killing_any_one_dev_cluster_broker_under_kcat_loses_nothing_acknowledged(tmp_path):
    base = free_port_run(9)
    data = tmp_path / "data"
    proc = subprocess.Popen([str(SAMSA_BIN), "dev-cluster", "--nodes", "3", "--base-port", str(base),
                             "--http-base-port", str(base + 6), "--data-dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    bootstrap = ",".join(f"localhost:{base + 2 * i}" for i in range(3))
    consumer = None
    try:
        # The topic, once all three brokers are registered (creation with RF 3 fails before).
        deadline = time.monotonic() + BOUND_S
        created = None
        while time.monotonic() < deadline:
            created = subprocess.run([str(SAMSA_BIN), "topics", "--bootstrap-server", bootstrap, "--create",
                                      "--topic", TOPIC, "--partitions", str(PARTITIONS), "--replication-factor", "3",
                                      "--config", "min.insync.replicas=2", "--if-not-exists"],
                                     capture_output=True, text=True, timeout=40)
            if created.returncode == 0:
                break
            time.sleep(0.5)
        assert created is not None and created.returncode == 0, created and created.stdout + created.stderr
        deadline = time.monotonic() + BOUND_S
        lead = None
        while time.monotonic() < deadline:
            lead = leaders(bootstrap)
            if lead and len(lead) == PARTITIONS and all(l > 0 for l in lead.values()):
                break
            time.sleep(0.3)
        assert lead and all(l > 0 for l in lead.values()), f"no leaders: {lead}"

        consumer = subprocess.Popen(["kcat", "-b", bootstrap, "-C", "-t", TOPIC, "-o", "beginning", "-q",
                                     "-f", "%p %o %s\n"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        acked, failed_runs = [], 0
        for r in range(RUNS_BEFORE):
            lines = [f"v{r}-{i}" for i in range(RUN)]
            assert produce_run(bootstrap, lines), "a run failed before any fault"
            acked += lines

        # The user kills one broker: the active controller, which also leads a partition.
        nodes = children_of(proc.pid)
        assert sorted(nodes) == [1, 2, 3], f"dev-cluster's nodes: {nodes}"
        deadline = time.monotonic() + FORM_BOUND_S
        victim = None
        while victim is None and time.monotonic() < deadline:
            for i in range(3):
                d = Node(i + 1, tmp_path / "probe", base + 2 * i, base + 2 * i + 1, 0, "").describe_quorum()
                if d and d[0] == 0 and d[1] in nodes:
                    victim = d[1]
            time.sleep(0.2)
        assert victim in nodes, "no active controller"
        subprocess.run(["kill", "-9", str(nodes[victim])], check=True)

        for r in range(RUNS_BEFORE, RUNS_BEFORE + RUNS_AFTER):
            lines = [f"v{r}-{i}" for i in range(RUN)]
            if produce_run(bootstrap, lines):
                acked += lines
            else:
                failed_runs += 1
        # Two brokers of three, min.insync.replicas=2: the topic stays writable.
        assert failed_runs < RUNS_AFTER, "no run succeeded after the kill"
        survivors = ",".join(f"localhost:{base + 2 * (i - 1)}" for i in nodes if i != victim)
        lead = leaders(survivors)
        assert lead and victim not in lead.values(), f"the killed node still leads: {lead}"

        final = read_all(survivors)
        values = list(final.values())
        assert len(values) == len(set(values)), "a record was written twice"
        missing = sorted(set(acked) - set(values))
        assert not missing, f"{len(missing)} acknowledged records missing, e.g. {missing[:10]}"

        # What the running consumer printed is still there, at the same offsets.
        consumer.send_signal(signal.SIGTERM)
        out, _ = consumer.communicate(timeout=30)
        seen = parse(out.decode())
        assert seen, "the running consumer printed nothing"
        vanished = [(pos, v) for pos, v in seen.items() if final.get(pos) != v]
        assert not vanished, f"records the consumer saw disappeared: {vanished[:5]}"
    finally:
        if consumer is not None and consumer.poll() is None:
            consumer.kill()
            consumer.wait(10)
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=10)
        if proc.returncode is None:
            pytest.fail("dev-cluster did not stop")
