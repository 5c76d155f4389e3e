"""`samsa storage format` for a dynamic quorum (KIP-853, as kafka-storage.sh format in Kafka 3.9/4.0):
--standalone, --initial-controllers, --no-initial-controllers, their checks and Kafka's messages,
directory.id in meta.properties, and the bootstrap checkpoint
(__cluster_metadata-0/00000000000000000000-0000000000.checkpoint: SnapshotHeader, KRaftVersion 1,
Voters, SnapshotFooter) decoded here byte by byte; a node formatted --standalone starts, leads
its one-voter quorum and serves clients.
"""

import base64
import struct
import subprocess
import time

from conftest import HOST, SAMSA_BIN, free_port
from helpers import base_conf
from rawkafka import Reader
from test_cli import samsa

CHECKPOINT = "00000000000000000000-0000000000.checkpoint"


def uuid_text(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # Kafka's Uuid.toString


class Buf(Reader):
    """rawkafka's Reader with the pieces of record and control-record framing."""

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def varint(self):
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def compact_string(self):
        return self.take(self.uvarint() - 1).decode()


def control_records(path):
    """(base offset, control type, value bytes) of every control batch of a file of v2 batches."""
    data, pos, out = path.read_bytes(), 0, []
    while pos < len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        batch = Buf(data[pos:pos + 12 + length])
        batch.take(17)  # base offset, length, leader epoch, magic
        batch.take(4)   # crc
        attributes = batch.i16()
        assert attributes & 0x20, "only control batches in a bootstrap checkpoint"
        batch.take(4 + 8 + 8 + 8 + 2 + 4)  # lastOffsetDelta, timestamps, producer id/epoch, base sequence
        for _ in range(batch.i32()):
            rec = Buf(batch.take(batch.varint()))
            rec.take(1)
            rec.varint()
            rec.varint()
            key = Buf(rec.take(rec.varint()))
            key.i16()
            out.append((base, key.i16(), rec.take(rec.varint())))
        pos += 12 + length
    return out


def decode_voters(value):
    v = Buf(value)
    assert v.i16() == 0  # the record's version field
    voters = []
    for _ in range(v.uvarint() - 1):
        voter_id = struct.unpack(">i", v.take(4))[0]
        directory_id = uuid_text(v.take(16))
        endpoints = []
        for _ in range(v.uvarint() - 1):
            endpoints.append((v.compact_string(), v.compact_string(), v.u16()))
            v.skip_tags()
        min_v, max_v = v.i16(), v.i16()
        v.skip_tags()  # KRaftVersionFeature
        v.skip_tags()  # Voter
        voters.append({"id": voter_id, "directory_id": directory_id, "endpoints": endpoints,
                       "kraft_versions": (min_v, max_v)})
    return voters


def meta(d):
    return dict(l.split("=", 1) for l in (d / "meta.properties").read_text().splitlines()
                if l and not l.startswith("#"))


def controller_config(tmp_path, name, node_id, port, controller_port, extra=""):
    d = tmp_path / name
    config = tmp_path / f"{name}.properties"
    config.write_text(f"node.id={node_id}\nprocess.roles=broker,controller\nlog.dirs={d}\n"
                      f"listeners=PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}\n"
                      f"controller.listener.names=CONTROLLER\n"
                      f"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
                      f"http.listeners=http://{HOST}:{free_port()}\n{extra}")
    return d, config


def test_format_flags_are_checked_as_kafka_does(tmp_path):
    cluster_id = samsa("storage", "random-uuid").stdout.strip()
    d, config = controller_config(tmp_path, "n1", 1, free_port(), free_port(),
                                  f"controller.quorum.bootstrap.servers={HOST}:9093\n")
    fmt = ["storage", "format", "-t", cluster_id, "-c", str(config)]
    none = samsa(*fmt, check=False)
    assert none.returncode == 1
    assert none.stderr.strip() == ("Because controller.quorum.voters is not set on this controller, you must specify "
                                   "one of the following: --standalone, --initial-controllers, or "
                                   "--no-initial-controllers.")
    both = samsa(*fmt, "--standalone", "--no-initial-controllers", check=False)
    assert both.returncode == 1
    assert both.stderr.strip() == "argument --no-initial-controllers/-N: not allowed with argument --standalone/-s"
    bad = samsa(*fmt, "--initial-controllers", "1@localhost:9093", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "Invalid --initial-controllers: No colon following port could be found."
    assert not (d / "meta.properties").exists()

    _, static = controller_config(tmp_path, "n2", 1, free_port(), 9093, "controller.quorum.voters=1@localhost:9093\n")
    refused = samsa("storage", "format", "-t", cluster_id, "-c", str(static), "--standalone", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("You cannot specify controller.quorum.voters and format the node with "
                                             "--initial-controllers or --standalone.")

    _, broker_only = controller_config(tmp_path, "n3", 1, free_port(), 9093)
    broker_only.write_text(broker_only.read_text().replace("process.roles=broker,controller", "process.roles=broker"))
    not_controller = samsa("storage", "format", "-t", cluster_id, "-c", str(broker_only), "--standalone", check=False)
    assert not_controller.stderr.strip() == "You can only use --standalone on a controller."

    # A controller that joins later: a directory id, no bootstrap checkpoint.
    later = samsa(*fmt, "--no-initial-controllers")
    assert later.stdout == f"Formatting {d} with cluster.id {cluster_id} and node.id 1.\n"
    assert len(meta(d)["directory.id"]) == 22
    assert not (d / "__cluster_metadata-0" / CHECKPOINT).exists()


def test_initial_controllers_write_the_same_voter_set_on_every_controller(tmp_path):
    cluster_id = samsa("storage", "random-uuid").stdout.strip()
    dir_ids = [samsa("storage", "random-uuid").stdout.strip() for _ in range(3)]
    ports = [free_port() for _ in range(3)]
    initial = ",".join(f"{i + 1}@{HOST}:{ports[i]}:{dir_ids[i]}" for i in range(3))
    checkpoints = []
    for i in range(3):
        d, config = controller_config(tmp_path, f"n{i + 1}", i + 1, free_port(), ports[i],
                                      f"controller.quorum.bootstrap.servers={HOST}:{ports[0]}\n")
        out = samsa("storage", "format", "-t", cluster_id, "-c", str(config), "--initial-controllers", initial).stdout
        assert out == (f"Formatting dynamic metadata voter directory {d} with cluster.id {cluster_id}, "
                       f"node.id {i + 1} and kraft.version 1.\n")
        assert meta(d) == {"version": "1", "node.id": str(i + 1), "cluster.id": cluster_id,
                           "directory.id": dir_ids[i]}
        checkpoints.append((d / "__cluster_metadata-0" / CHECKPOINT).read_bytes())
        records = control_records(d / "__cluster_metadata-0" / CHECKPOINT)
        assert [(base, kind) for base, kind, _ in records] == [(0, 3), (1, 5), (2, 6), (3, 4)]
        kraft = Buf(records[1][2])
        assert (kraft.i16(), kraft.i16()) == (0, 1)  # KRaftVersionRecord version 0, kraft.version 1
        assert decode_voters(records[2][2]) == [
            {"id": n + 1, "directory_id": dir_ids[n], "endpoints": [("CONTROLLER", HOST, ports[n])],
             "kraft_versions": (0, 1)} for n in range(3)]
    # The same voter set everywhere (the header's timestamp aside).
    assert len({len(c) for c in checkpoints}) == 1


def test_standalone_node_leads_its_quorum_and_serves(tmp_path):
    cluster_id = samsa("storage", "random-uuid").stdout.strip()
    port, controller_port = free_port(), free_port()
    d, config = controller_config(tmp_path, "solo", 1, port, controller_port,
                                  f"controller.quorum.bootstrap.servers={HOST}:{controller_port}\n"
                                  # One broker: as with Kafka, the internal topics' replication factor must
                                  # fit it, or FindCoordinator answers COORDINATOR_NOT_AVAILABLE.
                                  "offsets.topic.replication.factor=1\n")
    out = samsa("storage", "format", "-t", cluster_id, "-c", str(config), "--standalone").stdout
    assert out == (f"Formatting dynamic metadata voter directory {d} with cluster.id {cluster_id}, node.id 1 and "
                   "kraft.version 1.\n")
    records = control_records(d / "__cluster_metadata-0" / CHECKPOINT)
    assert decode_voters(records[2][2]) == [{"id": 1, "directory_id": meta(d)["directory.id"],
                                             "endpoints": [("CONTROLLER", HOST, controller_port)],
                                             "kraft_versions": (0, 1)}]

    with open(tmp_path / "broker.log", "wb") as log:
        proc = subprocess.Popen([str(SAMSA_BIN), "start", "--config", str(config)], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
    try:
        from confluent_kafka import Consumer, Producer
        from confluent_kafka.admin import AdminClient, NewTopic
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "broker.log").read_text()
            r = samsa("metadata-quorum", "--bootstrap-server", f"{HOST}:{port}", "describe", "--status", check=False)
            if r.returncode == 0 and "LeaderId:" in r.stdout:
                status = dict(l.split(":", 1) for l in r.stdout.splitlines() if ":" in l)
                break
            time.sleep(0.2)
        assert status is not None, "no quorum status within 30 s"
        assert status["ClusterId"].strip() == cluster_id
        assert status["LeaderId"].strip() == "1"

        admin = AdminClient(base_conf(f"{HOST}:{port}"))
        admin.create_topics([NewTopic("voters-t", 1, 1)])["voters-t"].result(timeout=20)
        producer = Producer(base_conf(f"{HOST}:{port}"))
        producer.produce("voters-t", b"hello")
        assert producer.flush(20) == 0
        consumer = Consumer({**base_conf(f"{HOST}:{port}"), "group.id": "voters-g", "auto.offset.reset": "earliest"})
        consumer.subscribe(["voters-t"])
        got = None
        for _ in range(60):
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                got = m.value()
                break
        consumer.close()
        assert got == b"hello"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
