"""kafkajs 2.2.4 (pinned in js/package-lock.json) against the broker. The node programs in js/
do the client work and print a `RESULT {json}` line; these tests check that output and read
the produced data back with librdkafka (assign(), no group)."""

import json
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from helpers import Msg, assert_delivered, consume_all, create_topic, produce, read_to_end, unique_topic

JS_DIR = Path(__file__).resolve().parent / "js"
PARTITIONS = 3
COUNT = 300


@pytest.fixture(scope="module")
def broker_config():
    return 1, {}


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    r = subprocess.run(["bash", str(JS_DIR / "setup.sh")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    assert r.returncode == 0, f"js/setup.sh failed:\n{r.stdout.decode(errors='replace')}"
    assert (JS_DIR / "node_modules" / "kafkajs" / "package.json").exists()
    version = json.loads((JS_DIR / "node_modules" / "kafkajs" / "package.json").read_text())
    assert version["version"] == "2.2.4"


def run_node(program, args, timeout=120):
    cmd = ["node", str(JS_DIR / program), json.dumps(args)]
    r = subprocess.run(cmd, cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, f"{program} exited {r.returncode}\nstdout:\n{out}\nstderr:\n{err[-8000:]}"
    results = [line[len("RESULT "):] for line in out.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 1, f"{program} printed no RESULT line\nstdout:\n{out}\nstderr:\n{err}"
    return json.loads(results[0])


def headers_dict(headers):
    return {k: (v.decode() if v is not None else None) for k, v in headers}


def test_kafkajs_admin_and_producer(broker):
    topic = unique_topic("js")
    scratch = unique_topic("js-scratch")
    res = run_node("produce_admin.js", {"brokers": [broker.bootstrap], "topic": topic,
                                        "partitions": PARTITIONS, "count": COUNT,
                                        "scratchTopic": scratch})

    assert res["created"] is True
    assert res["createdAgain"] is False, "second createTopics must hit TOPIC_ALREADY_EXISTS"
    (b,) = res["cluster"]["brokers"]
    assert (b["host"], b["port"]) == ("127.0.0.1", broker.port)
    assert res["cluster"]["controller"] == b["nodeId"]
    (tmd,) = res["metadata"]["topics"]
    assert tmd["name"] == topic
    assert sorted(p["partitionId"] for p in tmd["partitions"]) == list(range(PARTITIONS))
    for p in tmd["partitions"]:
        assert p["partitionErrorCode"] == 0
        assert p["leader"] == b["nodeId"]
        assert p["replicas"] == [b["nodeId"]] and p["isr"] == [b["nodeId"]]
    assert res["scratchDeleted"] is True
    assert topic in res["topicsAfter"] and scratch not in res["topicsAfter"]

    sent = res["sent"]
    assert len(sent) == COUNT + 1

    # Read back with librdkafka and match every record to what kafkajs sent.
    got = consume_all(broker.bootstrap, topic, list(range(PARTITIONS)))
    records = [(p, r) for p, recs in got.items() for r in recs]
    consumed = Counter((r.key.decode() if r.key is not None else None,
                        r.value.decode() if r.value is not None else None,
                        json.dumps(headers_dict(r.headers), sort_keys=True)) for _, r in records)
    expected = Counter((m["key"], m["value"], json.dumps(m["headers"], sort_keys=True))
                       for m in sent)
    assert consumed == expected

    where = {}  # value -> partition (values are unique except the tombstone's null)
    for p, recs in got.items():
        assert [r.offset for r in recs] == list(range(len(recs))), f"partition {p}"
        for r in recs:
            where[(r.key, r.value)] = p
    key_partition = {}
    for m in sent:
        p = where[(m["key"].encode(), m["value"].encode() if m["value"] is not None else None)]
        if m["partition"] is not None:
            assert p == m["partition"], f"explicit partition ignored for {m}"
        else:
            assert key_partition.setdefault(m["key"], p) == p, f"key {m['key']} split"
    for p, recs in got.items():
        want = [m["value"] for m in sent
                if where[(m["key"].encode(),
                          m["value"].encode() if m["value"] is not None else None)] == p]
        assert [r.value.decode() if r.value is not None else None for r in recs] == want, \
            f"partition {p}: not in send order"

    # Produce responses: one entry per partition written, base offsets consistent with the data.
    first, second = res["sends"]
    first_counts = Counter(where[(m["key"].encode(), m["value"].encode())]
                           for m in sent[:COUNT // 2])
    for meta in first:
        assert meta["errorCode"] == 0 and meta["topicName"] == topic
        assert int(meta["baseOffset"]) == 0
    assert sorted(m["partition"] for m in first) == sorted(first_counts)
    for meta in second:
        assert meta["errorCode"] == 0
        assert int(meta["baseOffset"]) == first_counts.get(meta["partition"], 0)

    offsets = {o["partition"]: (int(o["low"]), int(o["high"])) for o in res["offsets"]}
    assert offsets == {p: (0, len(got[p])) for p in range(PARTITIONS)}


@pytest.mark.groups
def test_kafkajs_group_consumer(broker):
    topic = unique_topic("js-group")
    msgs = [Msg(key=f"k{i % 4}".encode(), value=f"v{i}".encode(),
                headers=[("idx", str(i).encode())], partition=i % PARTITIONS)
            for i in range(150)]
    create_topic(broker.bootstrap, topic, PARTITIONS)
    assert_delivered(produce(broker.bootstrap, topic, msgs, {"acks": "all"}), msgs)

    res = run_node("consume_group.js", {"brokers": [broker.bootstrap], "topic": topic,
                                        "groupId": f"js-it-{uuid.uuid4().hex[:8]}",
                                        "expected": len(msgs)})
    by_partition = {}
    for r in res["records"]:
        by_partition.setdefault(r["partition"], []).append(
            (r["offset"], r["key"], r["value"], r["headers"]))
    want = {}
    for m in msgs:
        recs = want.setdefault(m.partition, [])
        recs.append((len(recs), m.key.decode(), m.value.decode(),
                     {k: v.decode() for k, v in m.headers}))
    assert by_partition == want


def test_kafkajs_round_robin_group_of_two(broker):
    """kafkajs's round-robin assigner, 2 members on 4 partitions: 2 partitions each, every record
    consumed exactly once, by the member that owns its partition."""
    topic = unique_topic("js-rr")
    create_topic(broker.bootstrap, topic, 4)
    count = 200
    res = run_node("round_robin_group.js", {"brokers": [broker.bootstrap], "topic": topic,
                                            "groupId": f"js-rr-{uuid.uuid4().hex[:8]}", "partitions": 4,
                                            "count": count, "graceMs": 1500})
    members = res["members"]
    assert len(members) == 2 and members[0]["memberId"] != members[1]["memberId"]
    assert all(m["protocol"] == "RoundRobinAssigner" for m in members)
    assert [len(m["assignment"]) for m in members] == [2, 2]
    assert sorted(members[0]["assignment"] + members[1]["assignment"]) == [0, 1, 2, 3]
    keys = Counter()
    for m in members:
        for r in m["records"]:
            assert r["partition"] in m["assignment"]
            assert int(r["key"][len("rr-"):]) % 4 == r["partition"]
            keys[r["key"]] += 1
    assert keys == Counter({f"rr-{i}": 1 for i in range(count)})


def test_kafkajs_idempotent_and_transactional_producers(broker):
    idem_topic, txn_topic = unique_topic("js-idem"), unique_topic("js-txn")
    create_topic(broker.bootstrap, idem_topic, 1)
    create_topic(broker.bootstrap, txn_topic, 1)
    group = f"js-eos-{uuid.uuid4().hex[:6]}"
    res = run_node("transactions.js", {"brokers": [broker.bootstrap], "idemTopic": idem_topic,
                                       "txnTopic": txn_topic, "group": group, "count": 50})
    assert res["idem"] == [str(i) for i in range(0, 50, 10)]
    assert res["seen"] == [f"commit-{i}" for i in range(5)] + ["last"]
    partitions = res["offsets"][0]["partitions"]
    assert [(p["partition"], p["offset"]) for p in partitions] == [(0, "5")]
    recs = consume_all(broker.bootstrap, idem_topic, [0])
    assert [r.value for r in recs[0]] == [f"idem-{i}".encode() for i in range(50)]
    # librdkafka agrees: read_committed hides the aborted records, read_uncommitted shows them.
    assert read_to_end(broker.bootstrap, txn_topic, 1, "read_committed")[0] == \
        [f"commit-{i}".encode() for i in range(5)] + [b"last"]
    assert len(read_to_end(broker.bootstrap, txn_topic, 1, "read_uncommitted")[0]) == 9


def test_kafkajs_consume_transform_produce_is_exactly_once(broker):
    """The EOS loop of test_transactions.py with kafkajs: killed twice in the middle of a
    transaction, every third transaction aborted; read_committed sees each input once."""
    n = 30_000
    in_topic, out_topic = unique_topic("js-eos-in"), unique_topic("js-eos-out")
    create_topic(broker.bootstrap, in_topic, PARTITIONS)
    create_topic(broker.bootstrap, out_topic, PARTITIONS)
    # Small record batches, so that the consumer's fetches (16 KiB per partition) split the
    # input into many transactions whatever the timing.
    produce(broker.bootstrap, in_topic, [Msg(key=str(i).encode(), value=f"{i:06d}".encode(), partition=i % PARTITIONS)
                                         for i in range(n)], conf={"batch.num.messages": 100, "linger.ms": 1})
    args = {"brokers": [broker.bootstrap], "inTopic": in_topic, "outTopic": out_topic,
            "group": f"js-eos-{uuid.uuid4().hex[:6]}", "txnId": f"js-eos-{uuid.uuid4().hex[:6]}"}
    for pause_at in (2, 5):
        proc = subprocess.Popen(["node", str(JS_DIR / "eos_transform.js"), json.dumps({**args, "pauseAt": pause_at})],
                                cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            assert line.startswith("PAUSED"), f"no PAUSED: {line!r} {proc.stderr.read()[-3000:] if proc.poll() is not None else ''}"
        finally:
            proc.kill()
            proc.wait(30)
    res = run_node("eos_transform.js", {**args, "pauseAt": -1}, timeout=240)
    assert res["aborted"] >= 1
    committed = read_to_end(broker.bootstrap, out_topic, PARTITIONS, "read_committed")
    for part, values in committed.items():
        assert values == [f"out:{i:06d}".encode() for i in range(part, n, PARTITIONS)], \
            f"partition {part}: {len(values)} records"
    uncommitted = read_to_end(broker.bootstrap, out_topic, PARTITIONS, "read_uncommitted")
    assert sum(len(v) for v in uncommitted.values()) > n
