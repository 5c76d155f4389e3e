"""A three-node cluster whose nodes live in network namespaces (issue 13's partition fault).

Each node runs in its own namespace (`ip netns exec`), reached through a veth pair whose outer
end is a port of a bridge in the test's namespace. The bridge has 10.213.S.254/24 (S differs per
test process), node k has 10.213.S.k. Clients run in the test's namespace and reach every node
through the bridge; nodes reach each other the same way. `isolate(k)` puts blackhole routes in
node k's namespace for the other nodes' addresses and in theirs for k's: k can no longer talk to
the other nodes (neither the quorum nor replication) while clients still reach it — the classic
partitioned leader. `heal(k)` removes the routes. Everything the class creates it removes in
`close()` (the subnet's blackhole route in the test's namespace stays until the test process
exits, so a client handle that outlives the cluster reaches nothing); names carry the test's pid
so two runs never share one.

Traffic stays inside these namespaces and the bridge: no address outside 10.213.S.0/24 is used.
"""

import atexit
import gc
import os
import signal
import subprocess

from test_cluster_brokers import Node
from test_replication import Cluster

PORT, CONTROLLER_PORT, HTTP_PORT = 9092, 9093, 9644  # each node has its own namespace: no clashes


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=check)


def netns_available():
    """None when this machine lets the test create namespaces, veths and a bridge; else why not."""
    if os.geteuid() != 0:
        return "not root: network namespaces need CAP_NET_ADMIN"
    name = f"samsa-probe-{os.getpid()}"
    try:
        r = ip("netns", "add", name, check=False)
        if r.returncode != 0:
            return f"ip netns add failed: {r.stderr.strip()}"
        r = ip("link", "add", f"sp{os.getpid() % 100000}", "type", "bridge", check=False)
        if r.returncode != 0:
            return f"cannot create a bridge: {r.stderr.strip()}"
        ip("link", "del", f"sp{os.getpid() % 100000}", check=False)
        return None
    except (OSError, subprocess.SubprocessError) as e:
        return f"ip failed: {e}"
    finally:
        ip("netns", "del", name, check=False)


class NetnsNode(Node):
    """A test_cluster_brokers.Node started inside namespace `ns`, listening on `host`."""

    def __init__(self, node_id, root, host, ns, voters, configs):
        self.host, self.ns = host, ns
        super().__init__(node_id, root, PORT, CONTROLLER_PORT, HTTP_PORT, voters, configs)

    @property
    def bootstrap(self):
        return f"{self.host}:{self.port}"

    def command(self):
        cmd = super().command()
        cmd = [c.replace("127.0.0.1", self.host) for c in cmd]
        return ["ip", "netns", "exec", self.ns, *cmd]  # ip execs the broker: the pid is the broker's

    def describe_quorum(self):
        from test_quorum_cluster import describe_quorum_request, parse_describe_quorum
        from rawkafka import Conn
        try:
            with Conn(self.controller_port, timeout=2.0, host=self.host) as c:
                return parse_describe_quorum(c.request(describe_quorum_request(11)))
        except Exception:  # not up yet, stopped, isolated or restarting
            return None


class NetnsCluster(Cluster):
    """test_replication.Cluster (its waits and Metadata reads) over namespaced nodes, for the fault
    rounds of soak_replication_faults."""

    def __init__(self, root, configs, n=3):  # noqa: super().__init__ would start loopback nodes
        self.root = root
        tag = os.getpid() % 100000
        # Distinct per xdist worker (the last bit) and per process (the rest).
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
        self.subnet = f"10.213.{20 + (os.getpid() % 100) * 2 + (int(worker) % 2 if worker.isdigit() else 0)}"
        self.bridge = f"sbr{tag}"
        self.namespaces, self.nodes = [], []
        self.isolated = set()
        try:
            ip("link", "add", self.bridge, "type", "bridge")
            ip("addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
            ip("link", "set", self.bridge, "up")
            voters = ",".join(f"{k}@{self.subnet}.{k}:{CONTROLLER_PORT}" for k in range(1, n + 1))
            for k in range(1, n + 1):
                ns, outer = f"samsa-{tag}-{k}", f"sv{tag}n{k}"
                ip("netns", "add", ns)
                self.namespaces.append(ns)
                ip("link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
                ip("link", "set", outer, "master", self.bridge, "up")
                ip("-n", ns, "link", "set", "lo", "up")
                ip("-n", ns, "addr", "add", f"{self.subnet}.{k}/24", "dev", "eth0")
                ip("-n", ns, "link", "set", "eth0", "up")
                self.nodes.append(NetnsNode(k, root, f"{self.subnet}.{k}", ns, voters, configs))
        except Exception:
            self.close()
            raise

    def _routes(self, k, verb):
        me = self.node(k)
        for other in self.nodes:
            if other.id == k:
                continue
            ip("-n", me.ns, "route", verb, "blackhole", f"{other.host}/32", check=verb == "add")
            ip("-n", other.ns, "route", verb, "blackhole", f"{me.host}/32", check=verb == "add")

    def isolate(self, k):
        """Cuts node k off from the other nodes (both ways); clients still reach it."""
        self._routes(k, "add")
        self.isolated.add(k)

    def heal(self, k):
        self._routes(k, "del")
        self.isolated.discard(k)

    def close(self):
        # Clients the test dropped may still be alive (librdkafka handles in reference cycles):
        # collect them while their brokers are reachable, and once the bridge is gone let the
        # subnet lead nowhere (a blackhole route until this process exits) rather than to the
        # default route.
        gc.collect()
        for n in self.nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGCONT)
                n.stop()
        # A metric of its own: it may sit beside the bridge's route (this test's or a later one's).
        hole = ["route", "add", "blackhole", f"{self.subnet}.0/24", "metric", "4242"]
        if ip(*hole, check=False).returncode == 0:
            atexit.register(ip, "route", "del", *hole[2:], check=False)
        for ns in self.namespaces:
            ip("netns", "del", ns, check=False)
        ip("link", "del", self.bridge, check=False)
