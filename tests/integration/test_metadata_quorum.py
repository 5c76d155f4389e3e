"""`samsa metadata-quorum` (kafka-metadata-quorum.sh) and DescribeQuorum (key 55) on a single
node, which describes its one-voter quorum: itself the leader, the high watermark the end of its
metadata log. Also: the broker listener advertises DescribeQuorum but none of the controller-only
quorum APIs (Vote, BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot, UpdateRaftVoter).
"""

import re
import subprocess
import time

from conftest import SAMSA_BIN
from helpers import unique_topic
from rawkafka import Conn, Reader, compact_string, frame, i32, parse_api_versions, request_header

TOOL_TIMEOUT_S = 60


def samsa(*args, check=True):
    proc = subprocess.run([str(SAMSA_BIN), *args], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    if check:
        assert proc.returncode == 0, f"samsa {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
    return proc


def meta_properties(broker):
    text = (broker.log_dirs / "meta.properties").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def status(broker):
    out = samsa("metadata-quorum", "--bootstrap-server", broker.bootstrap, "describe", "--status").stdout
    lines = out.splitlines()
    # Kafka's layout: the label and its colon padded to 24 columns, then the value.
    assert [l[:24] for l in lines] == [f"{k + ':':<24}" for k in (
        "ClusterId", "LeaderId", "LeaderEpoch", "HighWatermark", "MaxFollowerLag", "MaxFollowerLagTimeMs",
        "CurrentVoters", "CurrentObservers")], out
    return {l.split(":", 1)[0]: l[24:] for l in lines}


def test_describe_status_of_the_single_node_quorum(broker):
    meta = meta_properties(broker)
    s = status(broker)
    node = meta["node.id"]
    assert s["ClusterId"] == meta["cluster.id"]
    assert s["LeaderId"] == node
    assert int(s["LeaderEpoch"]) >= 0
    assert int(s["HighWatermark"]) >= 1  # the broker's own registration is in the log
    assert s["MaxFollowerLag"] == "0"
    assert s["MaxFollowerLagTimeMs"] == "0"
    assert s["CurrentVoters"] == f'[{{"id": {node}, "directoryId": null}}]'
    assert s["CurrentObservers"] == "[]"


def test_high_watermark_follows_the_metadata_log(broker):
    before = int(status(broker)["HighWatermark"])
    topic = unique_topic("quorum")
    samsa("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", topic, "--partitions", "2")
    after = int(status(broker)["HighWatermark"])
    assert after >= before + 3  # a TopicRecord and two PartitionRecords


def test_describe_replication_table(broker):
    node = meta_properties(broker)["node.id"]
    start_ms = int(time.time() * 1000)
    out = samsa("metadata-quorum", "--bootstrap-server", broker.bootstrap, "describe", "--replication").stdout
    rows = [line.split("\t") for line in out.splitlines()]
    # prettyPrintTable: every cell padded to its column's width and followed by a tab.
    assert all(r[-1] == "" for r in rows)
    cells = [[c.strip() for c in r[:-1]] for r in rows]
    assert cells[0] == ["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp",
                        "LastCaughtUpTimestamp", "Status"]
    for col in range(7):
        assert len({len(r[col]) for r in rows}) == 1, f"column {col} not aligned:\n{out}"
    assert len(cells) == 2
    leader = cells[1]
    assert leader[0] == node and leader[1] == "AAAAAAAAAAAAAAAAAAAAAA" and leader[3] == "0"
    assert leader[6] == "Leader"
    assert int(leader[2]) >= 1
    assert int(leader[4]) >= start_ms - 60_000 and int(leader[5]) == int(leader[4])
    human = samsa("metadata-quorum", "--bootstrap-server", broker.bootstrap, "describe", "--replication",
                  "--human-readable").stdout
    assert re.search(r"\t\d+ ms ago\s*\t\d+ ms ago\s*\tLeader", human), human


def test_usage_errors_are_kafkas():
    cases = [
        (["describe", "--status"], "one of the arguments --bootstrap-server --bootstrap-controller is required"),
        (["--bootstrap-server", "127.0.0.1:1", "describe", "--status", "--replication"],
         "Only one of --status or --replication should be specified with describe sub-command"),
        (["--bootstrap-server", "127.0.0.1:1", "describe"],
         "One of --status or --replication must be specified with describe sub-command"),
        (["--bootstrap-server", "127.0.0.1:1", "describe", "--status", "--human-readable"],
         "The option --human-readable is only supported along with --replication"),
    ]
    for args, message in cases:
        p = samsa("metadata-quorum", *args, check=False)
        assert p.returncode != 0 and message in p.stderr, (args, p.stderr)
    p = samsa("metadata-quorum", "--bootstrap-server", "a:1", "--bootstrap-controller", "b:2", "describe",
              "--status", check=False)
    assert p.returncode != 0


def test_broker_listener_advertises_only_broker_scoped_quorum_apis(broker):
    request = request_header(18, 3, 5, flexible=True) + compact_string("samsa-it") + compact_string("0.1") + b"\x00"
    with Conn(broker.port) as conn:
        resp = conn.request(frame(request))
    error, apis = parse_api_versions(resp[4:], 3)
    assert error == 0
    assert apis[55] == (0, 2)  # DescribeQuorum: brokers and controllers
    for controller_only in (52, 53, 54, 59, 82):
        assert controller_only not in apis
    assert apis[1] == (0, 17)  # the broker's Fetch handler serves clients up to v17 (issue 17)


def describe_quorum_v0(conn, topic, partition):
    body = (b"\x02" + compact_string(topic) + b"\x02" + i32(partition) + b"\x00" + b"\x00" + b"\x00")
    resp = conn.request(frame(request_header(55, 0, 9, flexible=True) + body))
    r = Reader(resp)
    assert r.i32() == 9
    r.skip_tags()  # response header v1
    top_error = r.i16()
    assert r.uvarint() - 1 == 1
    name = r.take(r.uvarint() - 1).decode()
    assert r.uvarint() - 1 == 1
    part = {"index": r.i32(), "error": r.i16(), "leader": r.i32(), "epoch": r.i32(), "hw": r.i64()}
    voters = []
    for _ in range(r.uvarint() - 1):
        voters.append((r.i32(), r.i64()))
        r.skip_tags()
    observers = r.uvarint() - 1
    r.skip_tags()
    r.skip_tags()
    r.skip_tags()
    assert r.remaining() == 0
    return top_error, name, part, voters, observers


def test_describe_quorum_v0_on_the_wire(broker):
    node = int(meta_properties(broker)["node.id"])
    with Conn(broker.port) as conn:
        top, name, part, voters, observers = describe_quorum_v0(conn, "__cluster_metadata", 0)
        assert (top, name, part["index"], part["error"], part["leader"]) == (0, "__cluster_metadata", 0, 0, node)
        assert voters == [(node, part["hw"])] and observers == 0
        # Another partition: UNKNOWN_TOPIC_OR_PARTITION (3) on the partition, as Kafka answers.
        top, name, part, voters, observers = describe_quorum_v0(conn, "__cluster_metadata", 1)
        assert part["error"] == 3 and voters == []
