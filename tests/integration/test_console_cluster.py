"""The web console's JSON API in a three-broker cluster (test_cluster_brokers' nodes, each with its
own http.listeners): every broker's console serves every partition, group and the quorum, not
only what that broker leads. A record is produced and read through the console of a broker that
does not lead its partition (the request goes to the leader), a group's details and offset reset
work through a broker that is not its coordinator (the coordinator answers, and refuses a reset
while the group is active), the quorum is described by a broker that is not the active
controller, and the requests a console makes are counted in the kafka_network_requestmetrics_*
series of the broker whose console was used.

The first test checks what each broker's console did before forwarding: the leader's, the
coordinator's and the controller's own answers. Every wait is a bounded poll.
"""

import base64
import re
import time
import urllib.parse
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

import rawkafka as rk
from conftest import HOST
from helpers import base_conf, consume_n, group_consumer, unique_topic
from test_cluster_brokers import BROKER_CONFIGS
from test_cluster_brokers import Cluster as BrokersCluster
from test_console import http

BOUND_S = 30.0
PARTITIONS = 3
RECORDS_PER_PARTITION = 3  # produced before the groups commit

CONFIGS = {
    **BROKER_CONFIGS,
    "group.initial.rebalance.delay.ms": "0",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
}


def url(node):
    return f"http://{HOST}:{node.http_port}"


def records_of(body):
    """{offset: (key, value)} of a records answer, key and value decoded from base64."""
    dec = lambda s: None if s is None else base64.b64decode(s)
    return {r["offset"]: (dec(r["key"]), dec(r["value"])) for r in body.get("records", [])}


class Cluster(BrokersCluster):
    def __init__(self, root):
        super().__init__(root, 3, CONFIGS)

    def leaders(self, topic, via):
        """{partition: leader} once `via`'s Metadata shows every partition led with its full ISR."""
        deadline = time.monotonic() + BOUND_S
        seen = None
        while time.monotonic() < deadline:
            try:
                t = self.metadata(via, topic).topics.get(topic)
            except Exception as e:  # noqa: BLE001 (not answering yet)
                t, seen = None, repr(e)
            if t is not None and t.error is None and len(t.partitions) == PARTITIONS:
                seen = {p: (m.leader, sorted(m.isrs)) for p, m in t.partitions.items()}
                if all(l > 0 and isr == [1, 2, 3] for l, isr in seen.values()):
                    return {p: l for p, (l, _) in seen.items()}
            time.sleep(0.2)
        pytest.fail(f"{topic}: partitions not all led with a full ISR on node {via.id}: {seen}\n{self.logs()}")

    def coordinator(self, group):
        """The coordinator of `group` (FindCoordinator v1 on every node, until one names it)."""
        deadline = time.monotonic() + BOUND_S
        seen = None
        while time.monotonic() < deadline:
            for n in self.nodes:
                try:
                    with rk.Conn(n.port, timeout=5.0) as c:
                        r = rk.Reader(c.request(rk.frame(rk.request_header(10, 1, 1) + rk.string(group) + rk.i8(0))))
                    r.i32()  # correlation id
                    r.i32()  # throttle
                    err = r.i16()
                    r.string()  # message
                    seen = (err, r.i32())
                except Exception as e:  # noqa: BLE001
                    seen = repr(e)
                    continue
                if seen[0] == 0 and seen[1] > 0:
                    return seen[1]
            time.sleep(0.2)
        pytest.fail(f"no coordinator for {group}: {seen}\n{self.logs()}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("console-cluster"))
    for n in c.nodes:
        n.start()
    try:
        c.controller()
        c.wait_brokers([1, 2, 3])
        deadline = time.monotonic() + BOUND_S
        for n in c.nodes:  # every console up, with the metadata loaded
            while http("GET", url(n) + "/v1/health/ready")[0] != 200:
                if time.monotonic() > deadline:
                    pytest.fail(f"node {n.id} not ready on {url(n)}\n{c.logs()}")
                time.sleep(0.2)
        yield c
    finally:
        for n in c.nodes:
            n.stop()


@pytest.fixture(scope="module")
def topic(cluster):
    """A topic of 3 partitions, replicated 3 times, created through a non-controller's console
    (forwarded to the active controller), with RECORDS_PER_PARTITION records in each partition;
    -> (name, {partition: leader})."""
    controller = cluster.controller()
    via = next(n for n in cluster.nodes if n.id != controller)
    name = unique_topic("console-cluster")
    st, _, body = http("POST", url(via) + "/v1/topics", {"name": name, "partitions": PARTITIONS, "replication_factor": 3})
    assert st == 200 and body == {"name": name, "error": "NONE", "message": None}, body
    leaders = cluster.leaders(name, via)
    for n in cluster.nodes:
        assert cluster.leaders(name, n) == leaders
    p = Producer({**base_conf(cluster.bootstrap), "acks": "all"})
    for part in range(PARTITIONS):
        for i in range(RECORDS_PER_PARTITION):
            p.produce(name, key=f"seed-{part}-{i}".encode(), value=b"seed", partition=part)
    assert p.flush(30) == 0
    return name, leaders


def non_leaders(cluster, leaders, partition):
    return [n for n in cluster.nodes if n.id != leaders[partition]]


def committed_group(cluster, topic_name, prefix):
    """A consumer group that read every partition to its end, committed and left (state Empty);
    -> (group, {partition: committed offset})."""
    group = f"{prefix}-{uuid.uuid4().hex[:6]}"
    end = watermarks(cluster, topic_name)
    total = sum(end.values())
    g = group_consumer(cluster.bootstrap, group)
    try:
        g.subscribe([topic_name])
        got = consume_n(g, total, timeout=BOUND_S)
        assert len(got) == total, f"{len(got)} of {total} records consumed"
        g.commit(asynchronous=False)
    finally:
        g.close()
    return group, end


def watermarks(cluster, topic_name):
    c = Consumer({**base_conf(cluster.bootstrap), "group.id": "console-cluster-wm"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic_name, p), timeout=10)[1] for p in range(PARTITIONS)}
    finally:
        c.close()


def committed(cluster, group, topic_name):
    c = Consumer({**base_conf(cluster.bootstrap), "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic_name, p) for p in range(PARTITIONS)], timeout=15)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def describe_group(node, group):
    st, _, body = http("GET", url(node) + "/v1/group?" + urllib.parse.urlencode({"group": group}))
    assert st == 200, body
    return body


def group_offsets(body, topic_name):
    return {p["partition"]: p["committed_offset"] for p in body.get("partitions", []) if p["topic"] == topic_name}


def test_each_console_serves_what_its_broker_leads(cluster, topic):
    """What worked before forwarding: the leader's, the coordinator's and the controller's consoles."""
    name, leaders = topic
    for part, leader in leaders.items():
        node = cluster.node(leader)
        body = http("POST", url(node) + f"/v1/topics/{name}/records",
                    {"partition": part, "key": "on-leader", "value": f"leader {leader}"})[2]
        assert body["error"] == "NONE" and body["partition"] == part and body["offset"] >= RECORDS_PER_PARTITION, body
        offset = body["offset"]
        got = http("GET", url(node) + f"/v1/topics/{name}/records?partition={part}&offset=0")[2]
        assert got["error"] == "NONE", got
        assert records_of(got)[offset] == (b"on-leader", f"leader {leader}".encode())

    controller = cluster.controller()
    assert http("GET", url(cluster.node(controller)) + "/v1/cluster")[2]["controller_id"] == controller
    q = http("GET", url(cluster.node(controller)) + "/v1/quorum")[2]
    assert q["error"] == "NONE" and q["leader_id"] == controller, q
    assert sorted(v["id"] for v in q["voters"]) == [1, 2, 3], q

    group, end = committed_group(cluster, name, "console-own")
    body = describe_group(cluster.node(cluster.coordinator(group)), group)
    assert body["error"] == "NONE" and body["state"] == "Empty", body
    assert group_offsets(body, name) == end, body


def test_record_produced_through_a_non_leader_console(cluster, topic):
    name, leaders = topic
    part = 0
    for node in non_leaders(cluster, leaders, part):
        key, value = f"via-{node.id}", f"written through node {node.id}, led by {leaders[part]}"
        st, _, body = http("POST", url(node) + f"/v1/topics/{name}/records",
                           {"partition": part, "key": key, "value": value, "headers": "origin=console"})
        assert st == 200, body
        assert body["error"] == "NONE", \
            f"produce to {name}-{part} (leader {leaders[part]}) through node {node.id}'s console: {body}"
        assert body["partition"] == part and isinstance(body["offset"], int) and body["offset"] >= 0, body
        # Read back at once through the same console (from the leader: no follower's stale high watermark).
        got = http("GET", url(node) + f"/v1/topics/{name}/records?partition={part}&offset={body['offset']}&limit=1")[2]
        assert got["error"] == "NONE" and records_of(got) == {body["offset"]: (key.encode(), value.encode())}, \
            f"read back of {name}-{part} through node {node.id}'s console: {got}"
        assert [(h["key"], base64.b64decode(h["value"])) for h in got["records"][0]["headers"]] == [("origin", b"console")]
        # In the partition, as a Kafka client reads it.
        c = Consumer({**base_conf(cluster.bootstrap), "group.id": "console-cluster-check", "enable.auto.commit": False})
        try:
            c.assign([TopicPartition(name, part, body["offset"])])
            (m,) = consume_n(c, 1, timeout=BOUND_S)
        finally:
            c.close()
        assert (m.partition(), m.offset(), m.key(), m.value(), m.headers()) == \
            (part, body["offset"], key.encode(), value.encode(), [("origin", b"console")])


def test_records_read_through_a_non_leader_console(cluster, topic):
    name, leaders = topic
    part = 1
    before = int(time.time() * 1000) - 1000
    delivered = []
    p = Producer({**base_conf(cluster.bootstrap), "acks": "all"})
    p.produce(name, key=b"from-producer", value=b"read me anywhere", partition=part,
              on_delivery=lambda err, msg: delivered.append((err, msg.offset())))
    assert p.flush(30) == 0 and len(delivered) == 1 and delivered[0][0] is None, delivered
    offset = delivered[0][1]
    for node in non_leaders(cluster, leaders, part):
        where = f"{name}-{part} (leader {leaders[part]}) through node {node.id}'s console"
        # From offset 0: Fetch only (polled: the point here is not read-your-writes, see the test above).
        deadline = time.monotonic() + BOUND_S
        while True:
            st, _, body = http("GET", url(node) + f"/v1/topics/{name}/records?partition={part}&offset=0")
            assert st == 200 and body["error"] == "NONE", f"read of {where}: {body}"
            recs = records_of(body)
            if offset in recs:
                break
            assert time.monotonic() < deadline, f"record {offset} never shown by {where}: {body}"
            time.sleep(0.2)
        assert recs[offset] == (b"from-producer", b"read me anywhere"), f"{where}: {body}"
        assert sorted(recs)[:RECORDS_PER_PARTITION] == list(range(RECORDS_PER_PARTITION))
        assert body["high_watermark"] > offset and body["next_offset"] == max(recs) + 1, body
        # By timestamp and from the end: ListOffsets, then Fetch.
        body = http("GET", url(node) + f"/v1/topics/{name}/records?partition={part}&timestamp={before}")[2]
        assert body["error"] == "NONE" and offset in records_of(body), f"read by timestamp of {where}: {body}"
        body = http("GET", url(node) + f"/v1/topics/{name}/records?partition={part}&limit=1")[2]
        assert body["error"] == "NONE", f"read of the end of {where}: {body}"
        assert list(records_of(body)) == [body["high_watermark"] - 1], body


def test_group_described_through_a_non_coordinator_console(cluster, topic):
    name, _ = topic
    group, end = committed_group(cluster, name, "console-describe")
    coordinator = cluster.coordinator(group)
    others = [n for n in cluster.nodes if n.id != coordinator]
    for node in others:
        body = describe_group(node, group)
        assert body["error"] == "NONE", f"group {group} (coordinator {coordinator}) through node {node.id}: {body}"
        assert body["state"] == "Empty" and body["protocol_type"] == "consumer" and body["members"] == [], body
        assert group_offsets(body, name) == end, body
        assert body["total_lag"] == 0, body
    # One more record per partition: a lag of 1 on each, seen through the others too.
    p = Producer({**base_conf(cluster.bootstrap), "acks": "all"})
    for part in range(PARTITIONS):
        p.produce(name, value=b"lag", partition=part)
    assert p.flush(30) == 0
    for node in others:
        deadline = time.monotonic() + BOUND_S
        while True:
            body = describe_group(node, group)
            lags = {p["partition"]: p["lag"] for p in body.get("partitions", []) if p["topic"] == name}
            if body.get("total_lag") == PARTITIONS and lags == {p: 1 for p in range(PARTITIONS)}:
                break
            assert time.monotonic() < deadline, f"lag through node {node.id}: {body}"
            time.sleep(0.2)


def test_group_reset_through_a_non_coordinator_console(cluster, topic):
    name, _ = topic
    group, end = committed_group(cluster, name, "console-reset")
    coordinator = cluster.coordinator(group)
    node = next(n for n in cluster.nodes if n.id != coordinator)
    fields = {"group": group, "topic": name, "to": "offset", "offset": 1}
    st, _, body = http("POST", url(node) + "/v1/group/offsets", fields)
    assert st == 200, body
    where = f"reset of {group} (coordinator {coordinator}) through node {node.id}"
    assert body["state"] == "Empty" and body["inactive"] is True and body["applied"] is False, f"{where}: {body}"
    preview = {p["partition"]: p for p in body["partitions"]}
    assert sorted(preview) == list(range(PARTITIONS)), body
    errors = {part: row["error"] for part, row in preview.items() if "error" in row}
    assert errors == {}, f"{where}: errors {errors} in the preview {body}"
    for part, row in preview.items():
        assert (row["current_offset"], row["new_offset"], row["log_start_offset"]) == (end[part], 1, 0), \
            f"{where}, partition {part}: {row}"
        assert row["log_end_offset"] >= end[part], row
    st, _, body = http("POST", url(node) + "/v1/group/offsets", {**fields, "apply": "true"})
    assert st == 200 and body["applied"] is True and "error" not in body, f"{where}: {body}"
    assert sorted((r["partition"], r["error"]) for r in body["results"]) == \
        [(p, "NONE") for p in range(PARTITIONS)], f"{where}: {body}"
    assert committed(cluster, group, name) == {p: 1 for p in range(PARTITIONS)}


def test_group_reset_through_a_non_coordinator_console_refused_while_active(cluster, topic):
    name, _ = topic
    group = f"console-active-{uuid.uuid4().hex[:6]}"
    total = sum(watermarks(cluster, name).values())
    g = group_consumer(cluster.bootstrap, group)
    try:
        g.subscribe([name])
        assert len(consume_n(g, total, timeout=BOUND_S)) == total
        g.commit(asynchronous=False)
        before = committed(cluster, group, name)
        coordinator = cluster.coordinator(group)
        node = next(n for n in cluster.nodes if n.id != coordinator)
        st, _, body = http("POST", url(node) + "/v1/group/offsets",
                           {"group": group, "topic": name, "to": "earliest", "apply": "true"})
        assert st == 200, body
        assert body["applied"] is False and body["error"] == "GROUP_NOT_EMPTY" and body["state"] == "Stable", \
            f"reset of the active group {group} (coordinator {coordinator}) through node {node.id}: {body}"
        assert committed(cluster, group, name) == before
    finally:
        g.close()


def test_quorum_described_through_a_non_controller_console(cluster):
    controller = cluster.controller()
    for node in cluster.nodes:
        assert http("GET", url(node) + "/v1/cluster")[2]["controller_id"] == controller
    for node in (n for n in cluster.nodes if n.id != controller):
        st, _, body = http("GET", url(node) + "/v1/quorum")
        assert st == 200, body
        assert body["error"] == "NONE", f"quorum through node {node.id} (active controller {controller}): {body}"
        assert body["leader_id"] == controller and body["leader_epoch"] > 0 and body["high_watermark"] > 0, body
        assert sorted(v["id"] for v in body["voters"]) == [1, 2, 3], body


SERIES = re.compile(r'^kafka_network_requestmetrics_requests_total\{([^}]*)\} (\S+)$')


def requests_total(node, api):
    """kafka_network_requestmetrics_requests_total{request="<api>"} of `node`'s /metrics (summed)."""
    st, _, text = http("GET", url(node) + "/metrics")
    assert st == 200
    total = 0.0
    for line in text.splitlines():
        m = SERIES.match(line)
        if m and f'request="{api}"' in m.group(1):
            total += float(m.group(2))
    return total


def test_console_requests_are_counted_in_request_metrics(cluster, topic):
    """On a partition the console's broker leads (no forwarding involved): a browse by timestamp is a
    ListOffsets and a test record a Produce of that broker. Followers fetch but never send
    ListOffsets or Produce, and no client runs meanwhile."""
    name, leaders = topic
    part, leader = sorted(leaders.items())[-1]
    node = cluster.node(leader)
    before = requests_total(node, "ListOffsets")
    body = http("GET", url(node) + f"/v1/topics/{name}/records?partition={part}&timestamp=0")[2]
    assert body["error"] == "NONE" and body["records"], body
    after = requests_total(node, "ListOffsets")
    assert after >= before + 1, f'ListOffsets requests of node {node.id}: {before} before a console read, {after} after'
    before = requests_total(node, "Produce")
    body = http("POST", url(node) + f"/v1/topics/{name}/records", {"partition": part, "value": "counted"})[2]
    assert body["error"] == "NONE", body
    after = requests_total(node, "Produce")
    assert after >= before + 1, f"Produce requests of node {node.id}: {before} before a console write, {after} after"


def test_lag_of_partitions_the_coordinator_does_not_host(cluster):
    """Replication factor 1: most partitions live on a broker that is not the group's
    coordinator. The coordinator asks their leaders for the high watermark, so its /metrics and its
    console show their lag (with a status by Burrow's rules, from the commits it noted)."""
    via = cluster.nodes[0]
    name = unique_topic("lag-remote")
    st, _, body = http("POST", url(via) + "/v1/topics", {"name": name, "partitions": 6, "replication_factor": 1})
    assert st == 200 and body["error"] == "NONE", body
    group = f"lag-remote-{uuid.uuid4().hex[:6]}"
    coordinator = cluster.coordinator(group)
    deadline = time.monotonic() + BOUND_S
    while True:
        t = cluster.metadata(via, name).topics.get(name)
        leaders = {p: m.leader for p, m in t.partitions.items()} if t is not None and t.error is None else {}
        if len(leaders) == 6 and all(l > 0 for l in leaders.values()):
            break
        assert time.monotonic() < deadline, f"{name} not led: {leaders}"
        time.sleep(0.2)
    remote = sorted(p for p, l in leaders.items() if l != coordinator)
    assert remote, f"every partition of {name} on the coordinator {coordinator}: {leaders}"
    p = Producer({**base_conf(cluster.bootstrap), "acks": "all"})
    for part in remote:
        for i in range(5):
            p.produce(name, value=f"r{i}".encode(), partition=part)
    assert p.flush(30) == 0
    c = Consumer({**base_conf(cluster.bootstrap), "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(name, part, 2) for part in remote], asynchronous=False)
    finally:
        c.close()
    node = cluster.node(coordinator)
    want = {part: 3 for part in remote}
    deadline = time.monotonic() + BOUND_S
    while True:
        st, _, text = http("GET", url(node) + "/metrics")
        lags = {}
        for line in text.splitlines() if isinstance(text, str) else []:
            m = re.match(r'kafka_consumergroup_lag\{group="([^"]+)",topic="([^"]+)",partition="(\d+)"\} (\S+)', line)
            if m and m.group(1) == group and m.group(2) == name:
                lags[int(m.group(3))] = float(m.group(4))
        if lags == want:
            break
        assert time.monotonic() < deadline, f"lag on the coordinator {coordinator}: {lags}, want {want}"
        time.sleep(0.3)
    body = describe_group(node, group)
    rows = {r["partition"]: r for r in body["partitions"] if r["topic"] == name}
    assert {part: r["lag"] for part, r in rows.items()} == want, body
    assert all(r["status"] in ("OK", "WARN", "STALL", "STOP", "ERR") for r in rows.values()), body
    assert body["total_lag"] == 3 * len(remote), body
