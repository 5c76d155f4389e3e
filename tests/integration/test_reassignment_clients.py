"""Partition reassignment (KIP-455) and the cluster view through real clients on four real
brokers (issue 14). kafkajs 2.2.4 (`js/reassign_admin.js`) describes the cluster, moves a
partition from brokers {1,2,3} to {2,3,4} with alterPartitionReassignments and follows it with
listPartitionReassignments and fetchTopicMetadata. librdkafka has no reassignment or
describe-cluster call in the bindings here (confluent-kafka 1.7.0 on librdkafka 2.0.2,
@confluentinc/kafka-javascript 1.10.1 on librdkafka 2.15), so the test asserts what librdkafka
sees once the move is done: every broker, the new replicas and ISR in Metadata (and in
DescribeTopics), and records produced before and after the move on the moved partition, all read
back once and in order.

A reassignment onto a SIGSTOPped broker cannot finish: kafkajs lists it in progress (adding and
removing replicas). kafkajs 2.2.4 cannot cancel one (it refuses `replicas: null` before sending
anything), so the cancel is a raw AlterPartitionReassignments v0 with null replicas; kafkajs then
sees no reassignment and the original replica set back.

Stopped nodes are always SIGCONTed before the test ends; every wait is a bounded poll.
"""

import json
import signal
import subprocess

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from conftest import HOST
from helpers import consume_all
from rawkafka import Conn
from test_kafkajs import JS_DIR, node_modules, run_node  # noqa: F401 (the fixture installs the JS clients)
from test_replication import log_dirs
from test_reassignment import alter_request, cluster, create_on, not_controller, parse_alter  # noqa: F401

BOUND_S = 30.0


def run_lines(program, args, timeout=120):
    """Runs a node program that prints one JSON object per line; returns {step: object}."""
    r = subprocess.run(["node", str(JS_DIR / program), json.dumps({"boundMs": int(BOUND_S * 1000), **args})],
                       cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, f"{program} {args} exited {r.returncode}\nstdout:\n{out}\nstderr:\n{err[-8000:]}"
    steps = {}
    for line in out.splitlines():
        obj = json.loads(line)
        steps[obj["step"]] = obj
    assert "done" in steps, f"{program} did not finish\nstdout:\n{out}\nstderr:\n{err[-8000:]}"
    return steps


def produce(bootstrap, topic, values):
    """Idempotent acks=all librdkafka producer to partition 0; returns the offsets in order."""
    reports = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    for v in values:
        p.produce(topic, value=v.encode(), partition=0,
                  on_delivery=lambda err, msg: reports.append((err, msg.value().decode(), msg.offset())))
        p.poll(0)
    assert p.flush(60) == 0, "records left undelivered"
    assert [e for e, _, _ in reports if e is not None] == []
    assert [v for _, v, _ in reports] == values
    return [off for _, _, off in reports]


def librdkafka_view(node, topic):
    md = AdminClient({"bootstrap.servers": node.bootstrap}).list_topics(topic=topic, timeout=10)
    p = md.topics[topic].partitions[0]
    return md, {b.id: (b.host, b.port) for b in md.brokers.values()}, (p.leader, list(p.replicas), sorted(p.isrs))


def test_kafkajs_moves_a_partition_and_librdkafka_sees_it(cluster):
    topic = "moved"
    ports = {n.id: (HOST, n.port) for n in cluster.nodes}
    create_on(cluster, not_controller(cluster), topic, [1, 2, 3])
    before = produce(cluster.bootstrap, topic, [f"a{i}" for i in range(200)])
    assert before == list(range(200))
    controller = cluster.controller()

    res = run_lines("reassign_admin.js", {"brokers": [n.bootstrap for n in cluster.nodes], "topic": topic,
                                          "partition": 0, "mode": "move", "target": [2, 3, 4],
                                          "badReplicas": [2, 3, 9]})
    # describeCluster (Metadata): all four brokers at their listeners, the active controller.
    described = res["describeCluster"]["cluster"]
    assert {b["nodeId"]: (b["host"], b["port"]) for b in described["brokers"]} == ports, described
    assert described["controller"] in ports and described["controller"] == controller, described
    md, _, _ = librdkafka_view(cluster.node(1), topic)
    assert described["clusterId"] and described["clusterId"] == md.cluster_id, (described, md.cluster_id)

    start = res["before"]
    assert start["listed"] is None, start
    assert start["partition"]["replicas"] == [1, 2, 3] and sorted(start["partition"]["isr"]) == [1, 2, 3], start
    # An unknown broker in the target is refused per partition, and nothing starts.
    bad = res["bad"]["error"]
    assert bad is not None and [(e["type"], e["topic"], e["partition"]) for e in bad["errors"]] == [
        ("INVALID_REPLICA_ASSIGNMENT", topic, 0)], bad
    # The move: no longer listed, then replicas in the order given and the same ISR.
    done = res["metadata"]["partition"]
    assert done["replicas"] == [2, 3, 4] and sorted(done["isr"]) == [2, 3, 4] and done["leader"] in (2, 3, 4), done
    if res["unlisted"]["inProgress"] is not None:  # seen mid-way (only when a poll caught it)
        mid = res["unlisted"]["inProgress"]
        assert (mid["addingReplicas"], mid["removingReplicas"]) == ([4], [1]), mid
        assert mid["replicas"] == [2, 3, 4, 1], mid
    print(f"kafkajs: move done in {res['moved']['ms']} ms")
    # Broker 4 joined the ISR, so it holds every record: its copy (DescribeLogDirs) is as large
    # as the two others' (nothing was written meanwhile).
    r = log_dirs(cluster.node(2), "--topic-list", topic, "--broker-list", "2,3,4")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout.splitlines()[2])
    sizes = {b["broker"]: [p["size"] for d in b["logDirs"] for p in d["partitions"] if p["partition"] == f"{topic}-0"]
             for b in doc["brokers"]}
    assert sizes[4] == sizes[2] == sizes[3] and sizes[4][0] > 0, sizes

    # librdkafka 2.0.2 (confluent-kafka): every broker answers Metadata with the four brokers and
    # the moved partition on {2,3,4}, all in sync.
    for n in cluster.nodes:
        md, brokers, (leader, replicas, isr) = librdkafka_view(n, topic)
        assert brokers == ports, (n.id, brokers)
        assert md.controller_id == controller, (n.id, md.controller_id)
        assert replicas == [2, 3, 4] and isr == [2, 3, 4] and leader in (2, 3, 4), (n.id, leader, replicas, isr)

    # librdkafka 2.15 (@confluentinc/kafka-javascript): Metadata and DescribeTopics agree, and it
    # produces to the moved partition.
    js = run_node("rdkafka_view.js", {"brokers": [cluster.bootstrap], "topic": topic, "partition": 0,
                                      "count": 100, "prefix": "r"})
    assert {b["id"]: (b["host"], b["port"]) for b in js["brokers"]} == ports, js["brokers"]
    assert js["partition"]["replicas"] == [2, 3, 4] and sorted(js["partition"]["isrs"]) == [2, 3, 4], js["partition"]
    (described_topic,) = js["described"]
    (described_partition,) = described_topic["partitions"]
    assert described_partition["replicas"] == [2, 3, 4] and sorted(described_partition["isr"]) == [2, 3, 4]
    assert described_partition["leader"] in (2, 3, 4), described_partition
    assert js["delivered"] == [{"value": f"r{i}", "offset": 200 + i} for i in range(100)], js["delivered"][:5]

    after = produce(cluster.bootstrap, topic, [f"b{i}" for i in range(200)])
    assert after == list(range(300, 500))
    got = consume_all(cluster.bootstrap, topic, [0], timeout=BOUND_S)[0]
    assert [r.offset for r in got] == list(range(500))
    assert [r.value.decode() for r in got] == ([f"a{i}" for i in range(200)] + [f"r{i}" for i in range(100)]
                                               + [f"b{i}" for i in range(200)])


def test_kafkajs_lists_a_stuck_reassignment_and_cancel_restores_the_replicas(cluster):
    topic = "stuck"
    c = cluster.controller()
    newcomer = max(n for n in (1, 2, 3, 4) if n != c)
    original = sorted(n for n in (1, 2, 3, 4) if n != newcomer)
    target = original[1:] + [newcomer]
    removing = original[0]
    via = cluster.node(next(n for n in original if n != c))  # not the controller: it forwards
    create_on(cluster, via, topic, original)
    assert produce(cluster.bootstrap, topic, [f"a{i}" for i in range(100)]) == list(range(100))
    alive = [cluster.node(n).bootstrap for n in original]

    # The newcomer cannot catch up while stopped; the reassignment starts before its session
    # expires, so the controller still takes it as a target.
    cluster.node(newcomer).proc.send_signal(signal.SIGSTOP)
    try:
        res = run_lines("reassign_admin.js", {"brokers": alive, "topic": topic, "partition": 0, "mode": "start",
                                              "target": target})
        want = {"partition": 0, "replicas": target + [removing], "addingReplicas": [newcomer],
                "removingReplicas": [removing]}
        assert res["listed"]["reassignment"] == want, res["listed"]
        # Listing every reassignment (topics null) shows this one alone.
        assert res["listed"]["all"] == [{"name": topic, "partitions": [want]}], res["listed"]["all"]
        # kafkajs 2.2.4 refuses a null replica list itself: nothing sent, still in progress.
        cancel = res["cancel"]["error"]
        assert cancel is not None and cancel["name"] == "KafkaJSNonRetriableError", cancel
        assert cancel["message"].startswith("Invalid replica assignment: null"), cancel
        assert res["still"]["reassignment"] == want, res["still"]

        _, _, (leader, replicas, isr) = librdkafka_view(via, topic)
        assert sorted(replicas) == [1, 2, 3, 4] and isr == original, (leader, replicas, isr)
        # The original ISR still takes acks=all records.
        assert produce(cluster.bootstrap, topic, [f"b{i}" for i in range(100)]) == list(range(100, 200))

        conn = Conn(via.port, timeout=15)
        top, answer = parse_alter(conn.request(alter_request(7, [(topic, 0, None)])))
        assert (top, answer) == (0, {(topic, 0): (0, None)}), (top, answer)
        # Cancelled while the newcomer is still stopped: the original set, all in sync.
        cluster.wait_partition(topic, lambda l, r, i: r == original and i == original and l in original, via=via,
                               what="the original replicas after the cancel")
    finally:
        cluster.node(newcomer).proc.send_signal(signal.SIGCONT)

    res = run_lines("reassign_admin.js", {"brokers": [n.bootstrap for n in cluster.nodes], "topic": topic,
                                          "partition": 0, "mode": "settle", "expect": original})
    back = res["metadata"]["partition"]
    assert sorted(back["replicas"]) == original and sorted(back["isr"]) == original, back
    assert res["unlisted"]["inProgress"] is None, res["unlisted"]
    got = consume_all(cluster.bootstrap, topic, [0], timeout=BOUND_S)[0]
    assert [r.value.decode() for r in got] == [f"a{i}" for i in range(100)] + [f"b{i}" for i in range(100)]
    assert [r.offset for r in got] == list(range(200))
