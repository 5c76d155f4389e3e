"""Integration tests of `samsa consumer-groups`, `delete-records`, `storage format/info` and
`stop` (issue 6) against a real broker, with confluent-kafka (librdkafka) consumers making the
groups and committing the offsets the tools read and change.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import HOST, SAMSA_BIN, free_port
from helpers import Msg, base_conf, create_topic, produce, unique_topic
from test_cli import samsa

# Kafka's header of the offsets view when no value is wider than the 15-character minimum.
OFFSETS_HEADER = ("GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  "
                  "LAG             CONSUMER-ID     HOST            CLIENT-ID")


def new_group():
    return f"g-{uuid.uuid4().hex[:8]}"  # short: keeps the GROUP column at its minimum width


def group_consumer(broker, group, extra=None):
    return Consumer({**base_conf(broker.bootstrap), "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "client.id": "cli-groups-test",
                     **(extra or {})})


def wait_assigned(c, partitions, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c.poll(0.2)
        if len(c.assignment()) == partitions:
            return
    raise AssertionError(f"no assignment of {partitions} partitions within {timeout}s")


def topic_with_records(broker, per_partition=50, partitions=2):
    topic = unique_topic("grp")
    create_topic(broker.bootstrap, topic, partitions)
    produce(broker.bootstrap, topic,
            [Msg(value=b"v%d" % i, partition=p) for p in range(partitions) for i in range(per_partition)])
    return topic


def commit_after_consuming(broker, group, topic, per_partition):
    """A group consumer reads at least `per_partition` records of each partition, then commits
    exactly `per_partition` on each and leaves (the group is Empty afterwards)."""
    c = group_consumer(broker, group)
    try:
        c.subscribe([topic])
        seen = {0: 0, 1: 0}
        deadline = time.monotonic() + 30
        while min(seen.values()) < per_partition and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                seen[m.partition()] += 1
        assert min(seen.values()) >= per_partition, f"consumed only {seen}"
        c.commit(offsets=[TopicPartition(topic, p, per_partition) for p in (0, 1)], asynchronous=False)
    finally:
        c.close()


def committed(broker, group, topic, partitions=(0, 1)):
    """The group's committed offsets as a real client reads them (OffsetFetch)."""
    c = group_consumer(broker, group)
    try:
        return {tp.partition: tp.offset
                for tp in c.committed([TopicPartition(topic, p) for p in partitions], timeout=15)}
    finally:
        c.close()


def groups(broker, *args, check=True):
    return samsa("consumer-groups", "--bootstrap-server", broker.bootstrap, *args, check=check)


def rows(stdout):
    """Data rows of a table (after the header line), split on whitespace."""
    lines = [l for l in stdout.splitlines() if l.strip()]
    return [l.split() for l in lines[1:]]


# ---- consumer-groups ------------------------------------------------------------------------

def test_groups_help_flags_and_unreachable():
    out = samsa("consumer-groups", "--help").stdout
    assert "Examples:" in out and "--reset-offsets" in out and "--output" in out
    p = samsa("consumer-groups", "--bootstrap-server", "127.0.0.1:1", check=False)
    assert p.returncode != 0 and p.stderr.startswith("ERROR: Command must include exactly one action")
    start = time.monotonic()
    p = samsa("consumer-groups", "--bootstrap-server", "127.0.0.1:1", "--list", check=False)
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1
    assert "cannot connect" in p.stderr and time.monotonic() - start < 10
    p = samsa("consumer-groups", "--bootstrap-server", "127.0.0.1:1", "--describe", check=False)
    assert p.returncode != 0 and "[all-groups], [group]" in p.stderr
    for tool in (["consumer-groups", "--list"], ["delete-records"], ["storage", "format"], ["stop"]):
        p = samsa(*tool, "--no-such-flag", check=False)
        assert p.returncode != 0 and p.stderr.startswith("ERROR: ") and len(p.stderr.splitlines()) == 1, p.stderr


def test_groups_describe_offsets_lag(broker):
    topic, group = topic_with_records(broker), new_group()
    commit_after_consuming(broker, group, topic, 15)

    assert group in groups(broker, "--list").stdout.splitlines()
    listing = groups(broker, "--list", "--state").stdout.splitlines()
    assert listing[0] == "GROUP           STATE"
    assert [group, "Empty"] in [l.split() for l in listing[1:]]

    p = groups(broker, "--describe", "--group", group)
    assert "Consumer group '%s' has no active members." % group in p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "" and lines[1] == OFFSETS_HEADER
    table = rows(p.stdout)
    assert table == [[group, topic, "0", "15", "50", "35", "-", "-", "-"],
                     [group, topic, "1", "15", "50", "35", "-", "-", "-"]]
    assert sum(int(r[5]) for r in table) == 70

    js = json.loads(groups(broker, "--describe", "--group", group, "--output", "json").stdout)
    g = js["groups"][0]
    assert g["state"] == "Empty" and g["members"] == []
    assert [(o["partition"], o["current_offset"], o["log_end_offset"], o["lag"]) for o in g["offsets"]] == \
        [(0, 15, 50, 35), (1, 15, 50, 35)]
    listed = json.loads(groups(broker, "--list", "--output", "json").stdout)["groups"]
    assert {"group": group, "state": "Empty"} in listed


def test_groups_unknown_group_messages(broker):
    p = groups(broker, "--describe", "--group", "no-such-group", check=False)
    assert p.returncode != 0 and p.stderr.strip() == "Error: Consumer group 'no-such-group' does not exist."
    assert p.stdout == ""
    p = groups(broker, "--delete", "--group", "no-such-group", check=False)
    assert p.returncode != 0
    assert p.stdout.strip() == ("* Group 'no-such-group' could not be deleted due to: "
                                "org.apache.kafka.common.errors.GroupIdNotFoundException: "
                                "The group id does not exist.")


def test_groups_members_state_and_refusals_for_active_group(broker):
    topic, group = topic_with_records(broker, per_partition=5), new_group()
    c = group_consumer(broker, group)
    try:
        c.subscribe([topic])
        wait_assigned(c, 2)
        members = groups(broker, "--describe", "--group", group, "--members").stdout.splitlines()
        assert members[0] == "" and members[1].split() == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]
        (row,) = [l.split() for l in members[2:]]
        assert row[0] == group and row[1].startswith("cli-groups-test-") and row[3:] == ["cli-groups-test", "2"]
        verbose = rows(groups(broker, "--describe", "--group", group, "--members", "--verbose").stdout)
        assert verbose[0][-2:] == ["2", f"{topic}(0,1)"]

        state = groups(broker, "--describe", "--group", group, "--state").stdout.splitlines()
        assert state[0] == ""
        assert re.fullmatch(r"GROUP\s+COORDINATOR \(ID\)\s+ASSIGNMENT-STRATEGY\s+STATE\s+#MEMBERS\s*", state[1])
        assert state[2].split() == [group, broker.bootstrap, "(1)", "range", "Stable", "1"]

        offsets = groups(broker, "--describe", "--group", group).stdout
        assert all(r[6].startswith("cli-groups-test-") and r[8] == "cli-groups-test" for r in rows(offsets))

        p = groups(broker, "--reset-offsets", "--group", group, "--all-topics", "--to-earliest", "--execute",
                   check=False)
        assert p.returncode != 0
        assert p.stderr.strip() == (f"Error: Assignments can only be reset if the group '{group}' is inactive, "
                                    "but the current state is Stable.")
        p = groups(broker, "--delete", "--group", group, check=False)
        assert p.returncode != 0
        assert "GroupNotEmptyException: The group is not empty." in p.stdout
        assert group in groups(broker, "--list").stdout.splitlines()
    finally:
        c.close()


def test_groups_reset_offsets(broker):
    topic, group = topic_with_records(broker), new_group()
    commit_after_consuming(broker, group, topic, 15)

    dry = groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--dry-run")
    assert dry.stdout.splitlines()[1].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    assert rows(dry.stdout) == [[group, topic, "0", "0"], [group, topic, "1", "0"]]
    assert committed(broker, group, topic) == {0: 15, 1: 15}
    default = groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest")
    assert default.stderr.startswith("WARN: No action will be performed as the --execute option is missing.")
    assert rows(default.stdout) == rows(dry.stdout)
    assert committed(broker, group, topic) == {0: 15, 1: 15}

    groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
    assert committed(broker, group, topic) == {0: 0, 1: 0}
    groups(broker, "--reset-offsets", "--group", group, "--all-topics", "--shift-by", "7", "--execute")
    assert committed(broker, group, topic) == {0: 7, 1: 7}
    out = groups(broker, "--reset-offsets", "--group", group, "--topic", f"{topic}:1", "--to-offset", "20",
                 "--execute").stdout
    assert rows(out) == [[group, topic, "1", "20"]]
    assert committed(broker, group, topic) == {0: 7, 1: 20}
    groups(broker, "--reset-offsets", "--group", group, "--all-topics", "--shift-by", "-100", "--execute")
    assert committed(broker, group, topic) == {0: 0, 1: 0}  # clamped to the earliest offset
    p = groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-offset", "999", "--execute")
    assert "Value will be set to 50" in p.stderr
    assert committed(broker, group, topic) == {0: 50, 1: 50}
    groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-datetime",
           "2000-01-01T00:00:00.000", "--execute")
    assert committed(broker, group, topic) == {0: 0, 1: 0}
    table = rows(groups(broker, "--describe", "--group", group).stdout)
    assert [r[3:6] for r in table] == [["0", "50", "50"], ["0", "50", "50"]]


def test_groups_reset_by_duration_export_and_from_file(broker, tmp_path):
    topic, group = topic_with_records(broker, per_partition=10), new_group()
    commit_after_consuming(broker, group, topic, 5)
    # Every record is younger than a day: a day back is the earliest offset. --export is CSV.
    plan = groups(broker, "--reset-offsets", "--group", group, "--all-topics", "--by-duration", "P1D",
                  "--export", "--dry-run").stdout
    assert plan == f"{topic},0,0\n{topic},1,0\n"
    assert committed(broker, group, topic) == {0: 5, 1: 5}
    # Nothing is younger than now + 1 hour: the latest offset.
    future = groups(broker, "--reset-offsets", "--group", group, "--all-topics", "--by-duration", "-PT1H",
                    "--export").stdout
    assert future == f"{topic},0,10\n{topic},1,10\n"

    spec = tmp_path / "plan.csv"
    spec.write_text(f"{topic},0,3\n{topic},1,42\n")
    p = groups(broker, "--reset-offsets", "--group", group, "--from-file", str(spec), "--execute")
    assert f"New offset (42) is higher than latest offset for topic partition {topic}-1. Value will be set to 10" \
        in p.stderr
    assert rows(p.stdout) == [[group, topic, "0", "3"], [group, topic, "1", "10"]]
    assert committed(broker, group, topic) == {0: 3, 1: 10}
    spec.write_text(f"{topic},zero,3\n")
    p = groups(broker, "--reset-offsets", "--group", group, "--from-file", str(spec), "--dry-run", check=False)
    assert p.returncode != 0 and p.stderr.startswith("ERROR: ") and len(p.stderr.splitlines()) == 1
    p = groups(broker, "--reset-offsets", "--group", group, "--all-topics", "--by-duration", "1h", "--dry-run",
               check=False)
    assert p.returncode != 0 and "Error parsing duration '1h'" in p.stderr


def test_groups_delete_offsets_and_delete(broker):
    topic, group = topic_with_records(broker, per_partition=20), new_group()
    commit_after_consuming(broker, group, topic, 15)

    out = groups(broker, "--delete-offsets", "--group", group, "--topic", f"{topic}:0").stdout
    assert out.splitlines()[0] == f"Request succeed for deleting offsets with topic {topic} group {group}"
    assert rows(out.split("\n", 1)[1]) == [[topic, "0", "Successful"]]
    assert committed(broker, group, topic) == {0: -1001, 1: 15}  # -1001: no committed offset

    out = groups(broker, "--delete", "--group", group).stdout
    assert out == f"Deletion of requested consumer groups ('{group}') was successful.\n"
    assert group not in groups(broker, "--list").stdout.splitlines()
    p = groups(broker, "--describe", "--group", group, check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr


# ---- delete-records -------------------------------------------------------------------------

def test_delete_records_moves_low_watermark(broker, tmp_path):
    topic = topic_with_records(broker, per_partition=20)
    spec = tmp_path / "offsets.json"
    spec.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 0, "offset": 5},
                                               {"topic": topic, "partition": 1, "offset": -1}],
                                "version": 1}))
    out = samsa("delete-records", "--bootstrap-server", broker.bootstrap, "--offset-json-file", str(spec)).stdout
    assert out == ("Executing records delete operation\nRecords delete operation completed:\n"
                   f"partition: {topic}-0\tlow_watermark: 5\npartition: {topic}-1\tlow_watermark: 20\n")
    earliest = samsa("get-offsets", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--time", "-2").stdout
    assert earliest == f"{topic}:0:5\n{topic}:1:20\n"
    js = json.loads(samsa("get-offsets", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--time", "-2",
                          "--output", "json").stdout)
    assert js == {"offsets": [{"topic": topic, "partition": 0, "offset": 5},
                              {"topic": topic, "partition": 1, "offset": 20}]}

    spec.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 0, "offset": 100}], "version": 1}))
    p = samsa("delete-records", "--bootstrap-server", broker.bootstrap, "--offset-json-file", str(spec), check=False)
    assert p.returncode != 0 and f"partition: {topic}-0\terror: " in p.stdout
    spec.write_text('{"partitions": [{"topic": "t", "partition": 0}]}')
    p = samsa("delete-records", "--bootstrap-server", broker.bootstrap, "--offset-json-file", str(spec), check=False)
    assert p.returncode != 0 and p.stderr.startswith("ERROR: ") and len(p.stderr.splitlines()) == 1


def test_broker_api_versions_json(broker):
    js = json.loads(samsa("broker-api-versions", "--bootstrap-server", broker.bootstrap, "--output", "json").stdout)
    (b,) = js["brokers"]
    assert b["id"] == 1 and b["port"] == broker.port
    apis = {a["name"]: (a["key"], a["min_version"], a["max_version"]) for a in b["apis"]}
    assert apis["DeleteRecords"] == (21, 0, 2) and apis["Metadata"][0] == 3


# ---- storage format / info, stop -----------------------------------------------------------

def wait_port(port, proc, deadline_s=20):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"broker exited with {proc.returncode} during start-up"
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"broker did not listen on {port} within {deadline_s}s")


def test_storage_format_info_start_and_stop(tmp_path):
    dirs = [tmp_path / "logs-a", tmp_path / "logs-b"]
    port = free_port()
    config = tmp_path / "server.properties"
    config.write_text(f"listeners=PLAINTEXT://{HOST}:{port}\nlog.dirs={dirs[0]},{dirs[1]}\nnode.id=1\n"
                      f"http.listeners=http://{HOST}:{free_port()}\n")
    cluster_id = samsa("storage", "random-uuid").stdout.strip()

    out = samsa("storage", "format", "-t", cluster_id, "-c", str(config)).stdout
    assert out.splitlines() == [f"Formatting {d} with cluster.id {cluster_id} and node.id 1." for d in dirs]
    for d in dirs:
        meta = dict(l.split("=", 1) for l in (d / "meta.properties").read_text().splitlines()
                    if l and not l.startswith("#"))
        assert meta == {"version": "1", "node.id": "1", "cluster.id": cluster_id}
    again = samsa("storage", "format", "-t", cluster_id, "-c", str(config), check=False)
    assert again.returncode != 0
    assert again.stderr.strip() == (f"Log directory {dirs[0]} is already formatted. Use --ignore-formatted to "
                                    "ignore this directory and format the others.")
    ignored = samsa("storage", "format", "-t", cluster_id, "-c", str(config), "--ignore-formatted")
    assert ignored.stdout == "All of the log directories are already formatted.\n"
    bad = samsa("storage", "format", "-t", "not-an-id", "-c", str(config), check=False)
    assert bad.returncode != 0 and "not-an-id" in bad.stderr

    info = samsa("storage", "info", "-c", str(config)).stdout
    assert info == (f"Found log directories:\n  {dirs[0]}\n  {dirs[1]}\n\n"
                    f"Found metadata: {{cluster.id={cluster_id}, node.id=1, version=1}}\n\n")

    with open(tmp_path / "broker.log", "wb") as log:
        proc = subprocess.Popen([str(SAMSA_BIN), "start", "--config", str(config)], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        from confluent_kafka.admin import AdminClient
        md = AdminClient(base_conf(f"{HOST}:{port}")).list_topics(timeout=10)
        assert md.cluster_id == cluster_id
        for d in dirs:
            assert (d / "samsa.pid").read_text().strip() == str(proc.pid)

        stopped = samsa("stop", "--config", str(config))
        assert stopped.stdout == ""
        assert proc.wait(timeout=20) == 0  # a clean SIGTERM shutdown
        assert not any((d / "samsa.pid").exists() for d in dirs)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    p = samsa("stop", "--data-dir", str(dirs[0]), check=False)
    assert p.returncode == 1 and p.stdout == "No kafka server to stop\n"


def test_storage_info_unformatted_and_stop_ignores_stale_pid(tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    config = tmp_path / "server.properties"
    config.write_text(f"log.dirs={d}\n")
    p = samsa("storage", "info", "-c", str(config), check=False)
    assert p.returncode == 1
    assert p.stdout == f"Found log directory:\n  {d}\n\nFound problem:\n  {d} is not formatted.\n\n"
    # A stale pid file naming a live process that is not a samsa broker (this test) is left alone.
    (d / "samsa.pid").write_text(f"{os.getpid()}\n")
    p = samsa("stop", "--data-dir", str(d), check=False)
    assert p.returncode == 1 and p.stdout == "No kafka server to stop\n"
