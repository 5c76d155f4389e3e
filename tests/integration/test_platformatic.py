"""@platformatic/kafka (a pure-JavaScript client for Kafka 3.5-4.1, pinned in js/package-lock.json)
against one broker: admin calls, a producer with keys and headers, a consumer group that reads
everything back from the earliest offset and commits, and the group and its offsets as the admin
client lists them (issue 17)."""

import json
from pathlib import Path

from helpers import unique_topic
from test_kafkajs import node_modules, run_node  # noqa: F401 (the fixture installs the JS clients)

JS_DIR = Path(__file__).parent / "js"
COUNT = 30
PARTITIONS = 3


def test_platformatic_admin_produce_and_group_consume(broker, node_modules):  # noqa: F811
    version = json.loads((JS_DIR / "node_modules" / "@platformatic" / "kafka" / "package.json").read_text())
    assert version["version"] == "1.35.0"
    topic, scratch, group = unique_topic("plat"), unique_topic("plat-scratch"), unique_topic("plat-group")
    res = run_node("platformatic.js", {"brokers": [broker.bootstrap], "topic": topic, "scratchTopic": scratch,
                                       "group": group, "partitions": PARTITIONS, "count": COUNT})
    assert res["listed"] == sorted([topic, scratch])
    assert len(res["brokers"]) == 1, res["brokers"]
    assert res["partitionCount"] == PARTITIONS
    assert res["scratchPartitions"] == 3  # createPartitions 1 -> 3
    assert res["cleanupPolicy"] == "delete"
    assert res["sentOffsets"] >= 1
    consumed = res["consumed"]
    assert sorted(m["value"] for m in consumed) == sorted(f"v{i}" for i in range(COUNT))
    for m in consumed:
        i = m["value"][1:]
        assert m["key"] == f"k{i}" and m["headers"] == {"n": i}, m
    # Per partition the records arrive in offset order and densely from 0.
    by_partition = {}
    for m in consumed:
        by_partition.setdefault(m["partition"], []).append(m["offset"])
    for offsets in by_partition.values():
        assert offsets == list(range(len(offsets))), by_partition
    assert res["groupListed"] is True
    assert res["groupState"] == "EMPTY", res["groupState"]  # the consumer left
    committed = {(t, p): o for t, p, o in res["committed"] if t == topic}
    assert committed == {(topic, p): len(o) for p, o in by_partition.items()}, (committed, by_partition)
    assert res["afterDelete"] is False
