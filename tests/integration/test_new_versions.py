"""Raw-protocol tests of the newest versions Samsa advertises (issue 17): the request bytes a
client sends and the response bytes Samsa answers, field by field (golden bytes; only values that
differ per run, the port, the cluster id and the producer id, are filled in).

ApiVersions 4, InitProducerId 5, FindCoordinator 5 and 6, DescribeCluster 2,
GetTelemetrySubscriptions 0 and PushTelemetry 0 (KIP-714).
"""

import time

from conftest import HOST
from rawkafka import (Conn, Reader, compact_string, frame, i8, i16, i32, i64, parse_api_versions,
                      request_header, uvarint)

INVALID_REQUEST = 42
UNSUPPORTED_COMPRESSION_TYPE = 76
UNKNOWN_SUBSCRIPTION_ID = 117
TELEMETRY_TOO_LARGE = 118


def hexb(text):
    """Hex digits to bytes; spaces and comments after '#' are ignored."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()).replace(" ", ""))


def call(conn, api_key, version, corr, body):
    """Send a flexible request (header v2); return the response body after its header v1."""
    resp = conn.request(frame(request_header(api_key, version, corr, flexible=True) + body))
    assert resp[:4] == i32(corr) and resp[4:5] == b"\x00", resp[:8].hex()
    return resp[5:]


def test_api_versions_v4_lists_the_new_ranges(broker):
    request = request_header(18, 4, 41, flexible=True) + compact_string("samsa-it") + compact_string("0.1") + b"\x00"
    assert request == hexb("""
        0012 0004 00000029        # api key 18, version 4, correlation id 41
        0008 73616d73612d6974     # client id "samsa-it"
        00                        # header tags
        09 73616d73612d6974       # client_software_name (compact)
        04 302e31                 # client_software_version "0.1"
        00                        # tags""")
    with Conn(broker.port) as conn:
        resp = conn.request(frame(request))
    assert resp[:4] == i32(41)  # ApiVersions answers with response header v0 (no tags)
    error, apis = parse_api_versions(resp[4:], 4)
    assert error == 0
    assert apis[18] == (0, 4) and apis[22] == (0, 5) and apis[10] == (0, 6) and apis[60] == (0, 2)
    assert apis[71] == (0, 0) and apis[72] == (0, 0)
    # v4 has v3's layout: the same request at v3 gets the same api keys. Only v4 lists
    # transaction.version among the supported features (its minimum is 0, KAFKA-17492); both
    # list it as finalized.
    with Conn(broker.port) as conn:
        v3 = conn.request(frame(request_header(18, 3, 41, flexible=True) + request[len(request_header(18, 4, 41, flexible=True)):]))
    assert parse_api_versions(v3[4:], 3) == (error, apis)
    assert resp.count(b"transaction.version") == 2 and v3.count(b"transaction.version") == 1


def test_init_producer_id_v5(broker):
    body = compact_string(None) + i32(60000) + i64(-1) + i16(-1) + b"\x00"
    assert body == hexb("00 0000ea60 ffffffffffffffff ffff 00")  # null transactional id, 60 s, no id/epoch
    with Conn(broker.port) as conn:
        resp = call(conn, 22, 5, 7, body)
    pid = Reader(resp[6:14]).i64()
    assert pid >= 0
    assert resp == hexb("00000000 0000") + i64(pid) + hexb("0000 00")  # throttle, error, id, epoch 0, tags


def test_find_coordinator_v5_and_v6(broker):
    host = HOST.encode()
    for version in (5, 6):
        group = f"nv-group-{version}"
        body = i8(0) + b"\x02" + compact_string(group) + b"\x00"
        assert body == hexb("00 02") + bytes([len(group) + 1]) + group.encode() + hexb("00")  # key type 0, 1 key, tags
        deadline = time.monotonic() + 20
        with Conn(broker.port) as conn:
            while True:  # the first lookup may wait for __consumer_offsets to get a leader
                resp = call(conn, 10, version, 9, body)
                if resp[-5:-3] != i16(15) or time.monotonic() > deadline:  # COORDINATOR_NOT_AVAILABLE
                    break
                time.sleep(0.2)
        assert resp == (hexb("00000000 02")  # throttle 0, one coordinator
                        + compact_string(group) + i32(1) + compact_string(host) + i32(broker.port)
                        + hexb("0000 00 00 00")), resp.hex()  # error 0, message null, tags, tags
    # v6's key type 2 (share groups): a broker without share groups refuses the key.
    with Conn(broker.port) as conn:
        resp = call(conn, 10, 6, 9, i8(2) + b"\x02" + compact_string("nv-share") + b"\x00")
    assert resp == (hexb("00000000 02") + compact_string("nv-share") + i32(-1) + compact_string("") + i32(-1)
                    + i16(INVALID_REQUEST) + hexb("00 00 00")), resp.hex()


def test_describe_cluster_v2(broker):
    body = i8(0) + i8(1) + i8(1) + b"\x00"  # no authorized operations, brokers, include fenced, tags
    assert body == hexb("00 01 01 00")
    with Conn(broker.port) as conn:
        resp = call(conn, 60, 2, 11, body)
    r = Reader(resp)
    r.take(4 + 2 + 1 + 1)  # throttle, error, null message, endpoint type
    cluster_id = r.take(r.uvarint() - 1)
    controller = r.i32()
    assert resp == (hexb("00000000 0000 00 01")  # throttle 0, error 0, message null, endpoint type 1
                    + compact_string(cluster_id) + i32(controller)
                    + hexb("02") + i32(1) + compact_string(HOST) + i32(broker.port)  # one broker: id 1
                    + hexb("00 00 00")  # rack null, is_fenced false, broker tags
                    + i32(-2147483648) + hexb("00")), resp.hex()  # no authorized operations, tags


def test_telemetry_subscription_without_metrics_and_pushes(broker):
    """A Java client (3.7+) asks for its telemetry subscription on every connection: Samsa assigns
    a client instance id and answers Kafka's defaults with no requested metrics, so the client
    pushes nothing; a push is still checked as Kafka checks it."""
    with Conn(broker.port) as conn:
        resp = call(conn, 71, 0, 3, bytes(16) + b"\x00")  # zero client instance id, tags
        instance = resp[6:22]
        assert instance != bytes(16)
        assert resp == (hexb("00000000 0000") + instance  # throttle, error, the assigned id
                        + hexb("""00000001              # subscription id
                                  05 04 03 01 02        # accepted codecs: zstd, lz4, gzip, snappy
                                  000493e0              # push interval 300000 ms
                                  00100000              # telemetry.max.bytes 1048576
                                  01                    # delta temporality
                                  01                    # no requested metrics
                                  00""")), resp.hex()
        assert call(conn, 71, 0, 4, instance + b"\x00") == resp  # the id is kept once assigned

        def push(client_id, subscription, codec, metrics):
            body = client_id + i32(subscription) + b"\x00" + i8(codec) + bytes([len(metrics) + 1]) + metrics + b"\x00"
            resp = call(conn, 72, 0, 5, body)
            assert len(resp) == 7 and resp[:4] == i32(0) and resp[6:] == b"\x00", resp.hex()
            return Reader(resp[4:6]).i16()

        assert push(instance, 1, 0, b"otlp") == 0
        assert push(bytes(16), 1, 0, b"otlp") == INVALID_REQUEST
        assert push(instance, 7, 0, b"otlp") == UNKNOWN_SUBSCRIPTION_ID
        assert push(instance, 1, 9, b"otlp") == UNSUPPORTED_COMPRESSION_TYPE
        big = b"m" * (1048576 + 1)
        body = instance + i32(1) + b"\x00" + i8(0) + uvarint(len(big) + 1) + big + b"\x00"
        assert call(conn, 72, 0, 6, body) == hexb("00000000") + i16(TELEMETRY_TOO_LARGE) + b"\x00"
