"""End-to-end tests of the `samsa` operator tools (issue 6) against a real broker.

Each tool runs as a subprocess of the broker binary under test; output layouts are compared
with fixtures of Kafka's format (tests/integration/fixtures/cli/, variable parts such as topic
ids, timestamps and rates masked).
"""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SAMSA_BIN
from helpers import unique_topic

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cli"
TOOL_TIMEOUT_S = 60


def samsa(*args, stdin=None, timeout=TOOL_TIMEOUT_S, check=True):
    proc = subprocess.run([str(SAMSA_BIN), *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, f"samsa {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
    return proc


def fixture(name):
    return (FIXTURES / name).read_text()


def mask_ids(text):
    return re.sub(r"TopicId: [A-Za-z0-9_-]{22}", "TopicId: <ID>", text)


# ---- topics ---------------------------------------------------------------------------------

def test_topics_help_has_examples():
    out = samsa("topics", "--help").stdout
    assert "--bootstrap-server" in out and "Examples:" in out


def test_topics_requires_one_action(broker):
    p = samsa("topics", "--bootstrap-server", broker.bootstrap, check=False)
    assert p.returncode != 0
    assert "exactly one action" in p.stderr


def test_topics_unreachable_broker_fails_fast():
    start = time.monotonic()
    p = samsa("topics", "--bootstrap-server", "127.0.0.1:1", "--list", "--timeout-ms", "3000",
              check=False)
    assert p.returncode != 0
    assert len(p.stderr.strip().splitlines()) == 1
    assert time.monotonic() - start < 10


def test_topics_create_describe_alter_delete(broker):
    b = ["--bootstrap-server", broker.bootstrap]
    out = samsa("topics", *b, "--create", "--topic", "cli-desc", "--partitions", "3",
                "--replication-factor", "1", "--config", "retention.ms=60000").stdout
    assert out == "Created topic cli-desc.\n"
    again = samsa("topics", *b, "--create", "--topic", "cli-desc", "--partitions", "3", check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    samsa("topics", *b, "--create", "--topic", "cli-desc", "--if-not-exists")

    assert "cli-desc" in samsa("topics", *b, "--list").stdout.split("\n")
    desc = samsa("topics", *b, "--describe", "--topic", "cli-desc").stdout
    assert mask_ids(desc) == fixture("topics_describe.txt")

    samsa("topics", *b, "--alter", "--topic", "cli-desc", "--partitions", "5")
    js = json.loads(samsa("topics", *b, "--describe", "--topic", "cli-desc", "--output",
                          "json").stdout)
    t = js["topics"][0]
    assert t["partition_count"] == 5 and t["configs"] == {"retention.ms": "60000"}
    assert [p["partition"] for p in t["partitions"]] == [0, 1, 2, 3, 4]

    # Nothing is under-replicated or unavailable on one healthy node.
    assert samsa("topics", *b, "--describe", "--under-replicated-partitions").stdout == ""
    assert samsa("topics", *b, "--describe", "--unavailable-partitions").stdout == ""

    samsa("topics", *b, "--delete", "--topic", "cli-desc")
    deadline = time.monotonic() + 10
    while "cli-desc" in samsa("topics", *b, "--list").stdout.split("\n"):
        assert time.monotonic() < deadline, "deleted topic still listed"
        time.sleep(0.2)
    missing = samsa("topics", *b, "--describe", "--topic", "cli-desc", check=False)
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    samsa("topics", *b, "--delete", "--topic", "cli-desc", "--if-exists")


def test_topics_list_regex_and_replica_assignment(broker):
    b = ["--bootstrap-server", broker.bootstrap]
    name = unique_topic("cli-ra")
    samsa("topics", *b, "--create", "--topic", name, "--replica-assignment", "1,1")
    other = unique_topic("cli-other")
    samsa("topics", *b, "--create", "--topic", other)
    listed = samsa("topics", *b, "--list", "--topic", "cli-ra-.*").stdout.split()
    assert name in listed and other not in listed
    js = json.loads(samsa("topics", *b, "--describe", "--topic", name, "--output", "json").stdout)
    assert js["topics"][0]["partition_count"] == 2


# ---- console producer / consumer --------------------------------------------------------------

def mask_ts(text):
    return re.sub(r"CreateTime:\d+", "CreateTime:<TS>", text)


def test_console_round_trip_keys_headers(broker):
    b = ["--bootstrap-server", broker.bootstrap]
    topic = unique_topic("cli-console")
    samsa("topics", *b, "--create", "--topic", topic, "--partitions", "1")
    samsa("console-producer", "--broker-list", broker.bootstrap, "--topic", topic,
          "--property", "parse.key=true", "--property", "parse.headers=true",
          "--compression-codec", "lz4", "--request-required-acks", "1",
          stdin="h1:x,h2:y\tk1\tv1\n\tk2\tv2\n")
    samsa("console-producer", *b, "--topic", topic, "--sync", stdin="plain\n")
    p = samsa("console-consumer", *b, "--topic", topic, "--from-beginning", "--max-messages", "3",
              "--timeout-ms", "10000", "--property", "print.timestamp=true",
              "--property", "print.partition=true", "--property", "print.offset=true",
              "--property", "print.headers=true", "--property", "print.key=true")
    assert mask_ts(p.stdout) == fixture("console_consumer_all_props.txt")
    assert p.stderr.strip().endswith("Processed a total of 3 messages")


def test_console_consumer_partition_offset_and_separator(broker):
    b = ["--bootstrap-server", broker.bootstrap]
    topic = unique_topic("cli-console-off")
    samsa("topics", *b, "--create", "--topic", topic, "--partitions", "1")
    lines = "".join(f"k{i}:v{i}\n" for i in range(5))
    samsa("console-producer", *b, "--topic", topic, "--property", "parse.key=true",
          "--property", "key.separator=:", stdin=lines)
    p = samsa("console-consumer", *b, "--topic", topic, "--partition", "0", "--offset", "3",
              "--max-messages", "2", "--timeout-ms", "10000", "--property", "print.key=true",
              "--property", "key.separator=|")
    assert p.stdout == "k3|v3\nk4|v4\n"
    assert "Processed a total of 2 messages" in p.stderr


def test_console_consumer_timeout_reports_total(broker):
    b = ["--bootstrap-server", broker.bootstrap]
    topic = unique_topic("cli-console-empty")
    samsa("topics", *b, "--create", "--topic", topic)
    p = samsa("console-consumer", *b, "--topic", topic, "--from-beginning", "--timeout-ms", "1500")
    assert p.stdout == ""
    assert p.stderr.strip().endswith("Processed a total of 0 messages")


def test_console_tools_validate_and_fail_fast():
    p = samsa("console-consumer", "--bootstrap-server", "127.0.0.1:1", "--topic", "t",
              "--offset", "5", check=False)
    assert p.returncode != 0 and "partition is required" in p.stderr
    start = time.monotonic()
    p = samsa("console-producer", "--bootstrap-server", "127.0.0.1:1", "--topic", "t",
              "--timeout", "2000", stdin="x\n", check=False)
    assert p.returncode != 0 and p.stderr.startswith("ERROR")
    p = samsa("console-consumer", "--bootstrap-server", "127.0.0.1:1", "--topic", "t",
              "--timeout-ms", "2000", check=False)
    assert p.returncode != 0 and p.stderr.startswith("ERROR")
    assert time.monotonic() - start < 30


# ---- get-offsets / broker-api-versions ---------------------------------------------------------

def test_get_offsets(broker):
    b = ["--bootstrap-server", broker.bootstrap]
    topic = unique_topic("cli-offsets")
    samsa("topics", *b, "--create", "--topic", topic, "--partitions", "2")
    samsa("console-producer", *b, "--topic", topic, "--property", "parse.key=true",
          "--property", "key.separator=:", stdin="a:1\na:2\na:3\n")
    latest = samsa("get-offsets", *b, "--topic", topic).stdout.splitlines()
    assert sorted(latest) in ([f"{topic}:0:3", f"{topic}:1:0"], [f"{topic}:0:0", f"{topic}:1:3"])
    earliest = samsa("get-offsets", "--broker-list", broker.bootstrap, "--topic", topic,
                     "--time", "-2").stdout
    assert earliest == f"{topic}:0:0\n{topic}:1:0\n"
    one = samsa("get-offsets", *b, "--topic", topic, "--partitions", "1", "--time", "-1").stdout
    assert re.fullmatch(rf"{topic}:1:\d+\n", one)
    bad = samsa("get-offsets", *b, "--topic", topic, "--time", "yesterday", check=False)
    assert bad.returncode != 0 and "Malformed time argument" in bad.stderr


def test_broker_api_versions_layout(broker):
    out = samsa("broker-api-versions", "--bootstrap-server", broker.bootstrap).stdout
    lines = out.splitlines()
    assert re.fullmatch(r"127\.0\.0\.1:\d+ \(id: \d+ rack: null\) -> \(", lines[0])
    assert lines[-1] == ")"
    body = lines[1:-1]
    assert body and all(re.fullmatch(r"\t[A-Za-z]+\(\d+\): \d+( to \d+)? \[usable: \d+\],?", l)
                        for l in body)
    assert body[-1].endswith("]") and all(l.endswith(",") for l in body[:-1])
    assert any(l.startswith("\tApiVersions(18): 0 to 4") for l in body)


# ---- perf tests -------------------------------------------------------------------------------

PRODUCER_FINAL = re.compile(
    r"(\d+) records sent, \d+\.\d{6} records/sec \(\d+\.\d{2} MB/sec\), \d+\.\d{2} ms avg latency, "
    r"\d+\.\d{2} ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.")
CONSUMER_HEADER = ("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, "
                   "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
DATE = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}:\d{3}"
CONSUMER_ROW = re.compile(rf"{DATE}, {DATE}, (\d+\.\d{{4}}), \d+\.\d{{4}}, (\d+), \d+\.\d{{4}}, \d+, \d+, "
                          r"\d+\.\d{4}, \d+\.\d{4}")


def test_perf_tools_round_trip(broker):
    topic = unique_topic("cli-perf")
    samsa("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", topic,
          "--partitions", "2")
    out = samsa("producer-perf-test", "--topic", topic, "--num-records", "20000", "--record-size",
                "1000", "--throughput", "-1", "--producer-props",
                f"bootstrap.servers={broker.bootstrap}", "acks=1").stdout
    m = PRODUCER_FINAL.fullmatch(out.splitlines()[-1])
    assert m and m.group(1) == "20000", out
    out = samsa("consumer-perf-test", "--broker-list", broker.bootstrap, "--topic", topic,
                "--fetch-size", "104876", "--messages", "20000").stdout.splitlines()
    assert out[0] == CONSUMER_HEADER
    m = CONSUMER_ROW.fullmatch(out[1])
    assert m, out
    assert m.group(2) == "20000" and abs(float(m.group(1)) - 20000 * 1000 / 2**20) < 0.01


def test_producer_perf_throttled_and_payload_file(broker, tmp_path):
    topic = unique_topic("cli-perf-thr")
    payloads = tmp_path / "payloads.txt"
    payloads.write_text("alpha\nbeta\ngamma\n")
    start = time.monotonic()
    out = samsa("producer-perf-test", "--topic", topic, "--num-records", "20", "--payload-file",
                str(payloads), "--throughput", "20", "--producer-props",
                f"bootstrap.servers={broker.bootstrap}").stdout
    assert time.monotonic() - start >= 0.8  # 20 records at 20/s take about a second
    assert PRODUCER_FINAL.fullmatch(out.splitlines()[-1])
    p = samsa("consumer-perf-test", "--bootstrap-server", broker.bootstrap, "--topic", topic,
              "--messages", "100", "--timeout", "1500", check=False)
    assert p.returncode == 0 and "WARNING: Exiting before consuming" in p.stderr
    assert CONSUMER_ROW.fullmatch(p.stdout.splitlines()[1]).group(2) == "20"


def test_perf_tools_validate_flags():
    p = samsa("producer-perf-test", "--topic", "t", "--num-records", "10", "--throughput", "-1",
              "--producer-props", "bootstrap.servers=127.0.0.1:1", check=False)
    assert p.returncode != 0 and "--record-size or --payload-file" in p.stderr
    p = samsa("consumer-perf-test", "--bootstrap-server", "127.0.0.1:1", "--topic", "t", check=False)
    assert p.returncode != 0 and "messages" in p.stderr


# ---- configs ----------------------------------------------------------------------------------

def test_configs_describe_alter_topic(broker):
    b = ["--bootstrap-server", broker.bootstrap]
    topic = unique_topic("cli-configs")
    samsa("topics", *b, "--create", "--topic", topic, "--config", "retention.ms=60000")
    out = samsa("configs", *b, "--describe", "--entity-type", "topics", "--entity-name", topic).stdout
    lines = out.splitlines()
    assert lines[0] == f"Dynamic configs for topic {topic} are:"
    assert lines[1].startswith("  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000")
    out = samsa("configs", *b, "--alter", "--entity-type", "topics", "--entity-name", topic,
                "--add-config", "cleanup.policy=compact,segment.ms=100000").stdout
    assert out == f"Completed updating config for topic {topic}.\n"
    samsa("configs", *b, "--alter", "--entity-type", "topics", "--entity-name", topic,
          "--delete-config", "retention.ms")
    js = json.loads(samsa("configs", *b, "--describe", "--entity-type", "topics", "--entity-name",
                          topic, "--output", "json").stdout)
    assert js["configs"] == {"cleanup.policy": "compact", "segment.ms": "100000"}
    bad = samsa("configs", *b, "--alter", "--entity-type", "topics", "--entity-name", topic, check=False)
    assert bad.returncode != 0 and "--add-config" in bad.stderr


# ---- leader-election / storage ----------------------------------------------------------------

def test_leader_election_single_node_needs_nothing(broker):
    b = ["--bootstrap-server", broker.bootstrap]
    topic = unique_topic("cli-elect")
    samsa("topics", *b, "--create", "--topic", topic, "--partitions", "3")
    out = samsa("leader-election", *b, "--topic", topic, "--partition=2", "--election-type",
                "preferred").stdout
    assert out == f"Valid replica already elected for partitions {topic}-2\n"
    p = samsa("leader-election", *b, "--topic", topic, "--election-type", "preferred", check=False)
    assert p.returncode != 0 and "partition" in p.stderr


def test_leader_election_from_json_file(broker, tmp_path):
    b = ["--bootstrap-server", broker.bootstrap]
    topic = unique_topic("cli-elect-json")
    samsa("topics", *b, "--create", "--topic", topic, "--partitions", "3")
    f = tmp_path / "elect.json"
    f.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 0}, {"topic": topic, "partition": 2}]}))
    out = samsa("leader-election", *b, "--path-to-json-file", str(f), "--election-type", "preferred").stdout
    assert out == f"Valid replica already elected for partitions {topic}-0, {topic}-2\n"
    f.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 7}]}))
    p = samsa("leader-election", *b, "--path-to-json-file", str(f), "--election-type", "preferred", check=False)
    # As kafka-leader-election.sh: the partition's error on stdout, the count on stderr, exit 1.
    assert p.returncode != 0 and "1 replica(s) could not be elected" in p.stderr
    assert f"Error completing leader election (PREFERRED) for partition: {topic}-7: UNKNOWN_TOPIC_OR_PARTITION" in p.stdout
    f.write_text("{\"partitions\": [{\"topic\": 1}]}")
    p = samsa("leader-election", *b, "--path-to-json-file", str(f), "--election-type", "preferred", check=False)
    assert p.returncode != 0 and "partition" in p.stderr


def test_storage_random_uuid():
    ids = {samsa("storage", "random-uuid").stdout.strip() for _ in range(3)}
    assert len(ids) == 3 and all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", i) for i in ids)


def test_producer_perf_unreachable_fails_fast():
    start = time.monotonic()
    p = samsa("producer-perf-test", "--topic", "t", "--num-records", "10", "--record-size", "10",
              "--throughput", "-1", "--producer-props", "bootstrap.servers=127.0.0.1:1", check=False)
    assert p.returncode != 0 and p.stderr.startswith("ERROR")
    assert time.monotonic() - start < 30


def test_seed_commands_run_with_only_the_prefix_changed(broker):
    """Commands as the seeds write them (joptsimple's one-dash long options, --partition=2,
    --broker-list), with kafka-*.sh replaced by `samsa <tool>`."""
    b = broker.bootstrap
    topic = f"seed-{os.getpid()}"
    samsa("topics", "--create", "--bootstrap-server", b, "--replication-factor", "1", "--partitions", "3",
          "--topic", topic)
    listed = samsa("topics", "--list", "-bootstrap-server", b).stdout.split()
    assert topic in listed
    samsa("console-producer", "--broker-list", b, "--topic", topic, stdin="x\ny\n")
    out = samsa("leader-election", "--bootstrap-server", b, "--topic", topic, "--partition=2",
                "--election-type", "preferred").stdout
    assert f"{topic}-2" in out
    offsets = samsa("get-offsets", "--broker-list", b, "--topic", topic).stdout.split()
    assert sum(int(line.rsplit(":", 1)[1]) for line in offsets) == 2
    samsa("topics", "--delete", "--bootstrap-server", b, "--topic", topic)
