"""The metadata log's record formats. A data dir written by an older Samsa (metadata records as
int16 type, int16 version, see src/cluster/FORMAT.md "The old format") keeps working: its topics,
partitions and configs survive, new changes are written as Kafka's KRaft records beside the old
ones, and both survive a restart. `samsa dump-log-segments --cluster-metadata-decoder` prints the
records as Kafka's tool does."""

import json
import re
import struct
import subprocess
import uuid

from confluent_kafka.admin import ConfigResource

from conftest import SAMSA_BIN, Broker
from helpers import (CLIENT_TIMEOUT_S, Msg, admin_client, assert_delivered, consume_all, create_topic,
                     produce, wait_for_topic, wait_for_topic_gone)
from rawkafka import record_batch

CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qk"
LEGACY_ID = uuid.UUID("0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0").bytes
GONE_ID = uuid.UUID("11111111-2222-4333-8444-555555555555").bytes


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def cstring(s):  # compact string, as the old format wrote them
    if s is None:
        return b"\x00"
    b = s.encode()
    return uvarint(len(b) + 1) + b


def old(type_, fields):
    return struct.pack(">hh", type_, 0) + fields


def ids(v):
    return uvarint(len(v)) + b"".join(struct.pack(">i", x) for x in v)


def old_records(broker_port):
    """The batches an older Samsa would have written (one batch per controller change)."""
    return [
        [old(100, cstring(CLUSTER_ID))],
        [old(17, struct.pack(">i", 1) + cstring("127.0.0.1") + struct.pack(">i", broker_port) + cstring(None))],
        [old(2, cstring("legacy-topic") + LEGACY_ID),
         old(3, LEGACY_ID + struct.pack(">i", 0) + ids([1]) + ids([1]) + struct.pack(">ii", 1, 0)),
         old(3, LEGACY_ID + struct.pack(">i", 1) + ids([1]) + ids([1]) + struct.pack(">ii", 1, 0)),
         old(4, b"\x02" + cstring("legacy-topic") + cstring("retention.ms") + cstring("123456789"))],
        [old(2, cstring("gone-topic") + GONE_ID),
         old(3, GONE_ID + struct.pack(">i", 0) + ids([1]) + ids([1]) + struct.pack(">ii", 1, 0))],
        [old(9, GONE_ID)],
        [old(15, struct.pack(">iq", 1, 1000))],
    ]


def write_old_data_dir(broker):
    """meta.properties and a metadata log segment in the old format."""
    (broker.log_dirs / "meta.properties").write_text(
        f"#\n#Written by an older Samsa\nnode.id=1\nversion=1\ncluster.id={CLUSTER_ID}\n")
    md = broker.log_dirs / "__cluster_metadata-0"
    md.mkdir(parents=True)
    segment = b""
    offset = 0
    # The old run listened elsewhere: this start registers the broker again, in the new format.
    for batch in old_records(broker.port + 1 if broker.port < 65535 else broker.port - 1):
        b = bytearray(record_batch([(None, v) for v in batch], base_timestamp=1_700_000_000_000))
        struct.pack_into(">q", b, 0, offset)  # base offset (not covered by the CRC)
        struct.pack_into(">i", b, 12, 0)      # partition leader epoch: the one voter's epoch 0
        segment += bytes(b)
        offset += len(batch)
    (md / "00000000000000000000.log").write_bytes(segment)
    return md / "00000000000000000000.log"


def retention_of(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    cfg = admin.describe_configs([res])[res].result(timeout=CLIENT_TIMEOUT_S)
    return cfg["retention.ms"].value


def dump(segments):
    files = ",".join(str(s) for s in segments)
    out = subprocess.run([str(SAMSA_BIN), "dump-log-segments", "--cluster-metadata-decoder", "--files", files],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def payloads(text):
    return [json.loads(m) for m in re.findall(r"^\| offset: \d+ .* payload: (\{.*\})$", text, re.M)]


def test_old_format_data_dir_keeps_working(tmp_path):
    broker = Broker(tmp_path)
    segment = write_old_data_dir(broker)
    try:
        broker.start()
        admin = admin_client(broker.bootstrap)
        wait_for_topic(admin, "legacy-topic", 2)
        wait_for_topic_gone(admin, "gone-topic")
        assert retention_of(admin, "legacy-topic") == "123456789"
        md = admin.list_topics(timeout=CLIENT_TIMEOUT_S)
        assert md.cluster_id == CLUSTER_ID
        assert [b.id for b in md.brokers.values()] == [1]

        msgs = [Msg(key=b"k", value=f"v{i}".encode()) for i in range(20)]
        assert_delivered(produce(broker.bootstrap, "legacy-topic", msgs, {"acks": "all"}), msgs)
        create_topic(broker.bootstrap, "new-topic", 3, {"retention.ms": "987654321"})

        # Old and new records side by side survive a restart.
        assert broker.restart() == 0
        admin = admin_client(broker.bootstrap)
        wait_for_topic(admin, "legacy-topic", 2)
        wait_for_topic(admin, "new-topic", 3)
        wait_for_topic_gone(admin, "gone-topic")
        assert retention_of(admin, "legacy-topic") == "123456789"
        assert retention_of(admin, "new-topic") == "987654321"
        got = consume_all(broker.bootstrap, "legacy-topic", [0, 1])
        assert sum(len(v) for v in got.values()) == 20
        assert "skipping the record" not in broker.log_tail(200000)
    finally:
        broker.stop()

    # The first start rolled a new segment after the old ones: dump them all, in order.
    segments = sorted(segment.parent.glob("*.log"))
    assert segments[0] == segment
    text = dump(segments)
    records = payloads(text)
    old_ones = [r for r in records if r.get("samsaOldFormat")]
    new_ones = [r for r in records if not r.get("samsaOldFormat")]
    assert [r["type"] for r in old_ones] == [
        "SAMSA_OLD_CLUSTER_ID_RECORD", "REGISTER_BROKER_RECORD", "TOPIC_RECORD", "PARTITION_RECORD",
        "PARTITION_RECORD", "CONFIG_RECORD", "TOPIC_RECORD", "PARTITION_RECORD", "REMOVE_TOPIC_RECORD",
        "PRODUCER_IDS_RECORD"]
    assert old_ones[2]["data"] == {"name": "legacy-topic", "topicId": "Dx4tPEtaSXiHlqW0w9Lh8A"}
    topics = [r for r in new_ones if r["type"] == "TOPIC_RECORD" and r["data"]["name"] == "new-topic"]
    assert len(topics) == 1
    assert topics[0]["version"] == 0
    parts = [r for r in new_ones if r["type"] == "PARTITION_RECORD" and r["data"]["topicId"] == topics[0]["data"]["topicId"]]
    assert sorted(p["data"]["partitionId"] for p in parts) == [0, 1, 2]
    assert all(p["data"]["replicas"] == [1] and p["data"]["leader"] == 1 for p in parts)
    configs = [r["data"] for r in new_ones if r["type"] == "CONFIG_RECORD"]
    assert {"resourceType": 2, "resourceName": "new-topic", "name": "retention.ms", "value": "987654321"} in configs
    brokers = [r for r in new_ones if r["type"] == "REGISTER_BROKER_RECORD"]
    assert brokers and brokers[0]["data"]["brokerId"] == 1
    assert brokers[0]["data"]["endPoints"][0]["port"] == broker.port
    # Kafka's line shape: batch lines, then one line per record with its metadata and payload.
    assert text.startswith(f"Dumping {segment}\nLog starting offset: 0\nbaseOffset: 0 lastOffset: 0 count: 1 ")
    assert re.search(r"^\| offset: 0 CreateTime: 1700000000000 keySize: -1 valueSize: \d+ sequence: -1 "
                     r"headerKeys: \[\] payload: \{", text, re.M)
