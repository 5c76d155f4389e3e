"""The HTTP server (http.listeners): /metrics in Prometheus text format while real clients
produce and consume (counters move by what was sent), consumer lag computed by the broker with
Burrow's status rules, the health endpoints, the JSON admin API, and HTTP garbage that must not
hurt the broker."""

import json
import re
import socket
import struct
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Consumer, TopicPartition

import rawkafka
from conftest import HOST, Broker, BrokerError, free_port
from helpers import Msg, base_conf, create_topic, produce, unique_topic

HTTP_TIMEOUT_S = 10
POLL_DEADLINE_S = 15


@pytest.fixture(scope="module")
def broker_config():
    return 1, {}


def http(broker, path, method="GET", body=None):
    """-> (status, headers, text)"""
    req = urllib.request.Request(broker.http_url + path, method=method, data=body)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(broker):
    """{(name, frozenset(labels.items())): value} of one /metrics scrape, checking the format."""
    status, headers, text = http(broker, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out = {}
    typed = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in typed, f"TYPE of {name} twice"
            typed.add(name)
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    """The sum of the series of `name` whose labels include `labels` (0 when none)."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def has(samples, name):
    return any(n == name for (n, _) in samples)


def test_health_and_routing(broker):
    status, _, text = http(broker, "/v1/health/live")
    assert status == 200 and json.loads(text) == {"status": "live"}
    status, _, text = http(broker, "/v1/health/ready")
    ready = json.loads(text)
    assert status == 200, text
    assert ready["status"] == "ready"
    assert ready["checks"] == {"log_recovery_done": True, "metadata_loaded": True, "log_dirs_online": True}
    status, _, text = http(broker, "/no/such/thing")
    assert status == 404 and json.loads(text)["error"] == "Not Found"
    status, headers, _ = http(broker, "/metrics", method="POST", body=b"x")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    status, headers, text = http(broker, "/metrics", method="HEAD")
    assert status == 200 and text == "" and int(headers["Content-Length"]) > 0


def test_cluster_and_topics_api(broker):
    topic = unique_topic("obs-api")
    create_topic(broker.bootstrap, topic, 3)
    produce(broker.bootstrap, topic, [Msg(value=b"v" * 50) for _ in range(9)], {"acks": "all"})
    status, _, text = http(broker, "/v1/cluster")
    assert status == 200
    cluster = json.loads(text)
    assert cluster["node_id"] == 1 and cluster["ready"] is True
    assert [b["port"] for b in cluster["brokers"]] == [broker.port]
    assert all(d["online"] for d in cluster["log_dirs"])
    status, _, text = http(broker, f"/v1/topics?search={topic}")
    assert status == 200
    topics = json.loads(text)
    assert topics["total"] == 1
    (t,) = topics["topics"]
    assert t["name"] == topic and t["partitions"] == 3 and t["replication_factor"] == 1
    assert t["messages"] == 9 and t["size_bytes"] >= 9 * 50
    assert json.loads(http(broker, "/v1/topics?limit=0")[2])["topics"] == []
    status, _, text = http(broker, f"/v1/topics/{topic}")
    assert status == 200, text
    detail = json.loads(text)
    assert [p["partition"] for p in detail["partitions"]] == [0, 1, 2]
    assert all(p["leader"] == 1 and p["replicas"] == [1] and p["isr"] == [1] and p["online"]
               for p in detail["partitions"])
    assert sum(p["high_watermark"] for p in detail["partitions"]) == 9
    assert sum(p["size_bytes"] for p in detail["partitions"]) == t["size_bytes"]
    assert http(broker, "/v1/topics/no-such-topic")[0] == 404


def test_counters_move_by_what_was_sent(broker):
    topic = unique_topic("obs-counters")
    create_topic(broker.bootstrap, topic, 2)
    n, size = 120, 100
    before = scrape(broker)
    results = produce(broker.bootstrap, topic, [Msg(value=bytes([65 + i % 26]) * size) for i in range(n)],
                      {"acks": "all"})
    assert all(r.error is None for r in results)
    mid = scrape(broker)
    assert value(mid, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == n
    # Record batches carry headers and per-record framing: at least the values' bytes.
    bytes_in = value(mid, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic)
    assert n * size <= bytes_in < n * size * 2
    for name in ("kafka_network_requestmetrics_requests_total", "kafka_network_requestmetrics_totaltimems_count",
                 "kafka_network_requestmetrics_localtimems_count", "kafka_network_requestmetrics_sendtimems_count"):
        assert value(mid, name, request="Produce") > value(before, name, request="Produce"), name
    assert value(mid, "kafka_network_requestmetrics_errors_total", request="Produce", error="NONE") > \
        value(before, "kafka_network_requestmetrics_errors_total", request="Produce", error="NONE")
    # acks=all waited for group commits: fsyncs were timed.
    assert value(mid, "kafka_log_logflushstats_logflushrateandtimems_count") > \
        value(before, "kafka_log_logflushstats_logflushrateandtimems_count")
    assert value(mid, "samsa_log_group_commit_partitions_count") >= 1
    # Log gauges per partition add up to what was appended.
    assert value(mid, "kafka_log_log_logendoffset", topic=topic) == n
    assert value(mid, "kafka_log_log_size", topic=topic) == bytes_in
    assert value(mid, "kafka_log_log_numlogsegments", topic=topic) == 2
    # Consuming everything moves bytes out by at least the values' bytes.
    c = Consumer({**base_conf(broker.bootstrap), "group.id": "obs-reader", "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(2)])
        got, deadline = 0, time.monotonic() + POLL_DEADLINE_S
        while got < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got += 1
        assert got == n
    finally:
        c.close()
    after = scrape(broker)
    assert value(after, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) >= n * size
    assert value(after, "kafka_network_requestmetrics_requests_total", request="Fetch") > 0
    assert value(after, "kafka_server_socket_server_metrics_connection_creation_total", listener="PLAINTEXT") > \
        value(before, "kafka_server_socket_server_metrics_connection_creation_total", listener="PLAINTEXT")
    # Present with the values a healthy single node has.
    assert value(after, "process_resident_memory_bytes") > 0
    assert has(after, "kafka_network_socketserver_memorypoolused")
    assert value(after, "kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert has(after, "kafka_server_replicamanager_underreplicatedpartitions")
    assert value(after, "kafka_controller_kafkacontroller_offlinepartitionscount") == 0
    assert value(after, "kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert value(after, "kafka_server_replicamanager_partitioncount") >= 2
    assert value(after, "samsa_broker_ready") == 1


def offset_commit_v1(correlation_id, group, topic, partition, offset, timestamp_ms):
    """OffsetCommit v1 without a generation or member (a group with no active members), with the
    commit timestamp given by the client: how this test drives the lag window's clock."""
    body = (rawkafka.string(group) + rawkafka.i32(-1) + rawkafka.string("") + rawkafka.i32(1) +
            rawkafka.string(topic) + rawkafka.i32(1) + rawkafka.i32(partition) + rawkafka.i64(offset) +
            rawkafka.i64(timestamp_ms) + rawkafka.i16(-1))
    return rawkafka.frame(rawkafka.request_header(8, 1, correlation_id) + body)


def group_lag(broker, group):
    status, _, text = http(broker, "/v1/groups")
    assert status == 200
    for g in json.loads(text)["groups"]:
        if g["group"] == group:
            return g
    return None


def wait_group(broker, group, pred):
    """Polls /v1/groups (bounded) until pred(group entry) holds; returns the last entry."""
    deadline = time.monotonic() + POLL_DEADLINE_S
    g = None
    while time.monotonic() < deadline:
        g = group_lag(broker, group)
        if g is not None and pred(g):
            return g
        time.sleep(0.1)
    return g


def test_consumer_lag_grows_and_a_stalled_group_is_stall(broker):
    topic = unique_topic("obs-lag")
    group = f"obs-group-{topic}"
    create_topic(broker.bootstrap, topic, 1)
    produce(broker.bootstrap, topic, [Msg(value=b"x" * 10) for _ in range(10)], {"acks": "all"})
    # A real consumer group reads everything and commits: no lag, status OK.
    c = Consumer({**base_conf(broker.bootstrap), "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.subscribe([topic])
        got, deadline = 0, time.monotonic() + POLL_DEADLINE_S
        while got < 10 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got += 1
        assert got == 10
        c.commit(asynchronous=False)
    finally:
        c.close()  # the group stops consuming
    g = wait_group(broker, group, lambda g: g["partitions"] and g["partitions"][0]["committed_offset"] == 10)
    assert g["total_lag"] == 0 and g["lag_status"] == "OK", g

    # Producers go on: the lag grows, computed by the broker.
    for total in (7, 12):
        produce(broker.bootstrap, topic, [Msg(value=b"y") for _ in range(total - (0 if total == 7 else 7))],
                {"acks": "all"})
        g = group_lag(broker, group)
        assert g["total_lag"] == total and g["partitions"][0]["lag"] == total, g
        samples = scrape(broker)
        assert value(samples, "kafka_consumergroup_lag", group=group, topic=topic, partition="0") == total
        assert value(samples, "kafka_consumergroup_lag_sum", group=group) == total

    # The group keeps committing the same offset (one commit a second, by its timestamps) while
    # lag stays: after a full window of such commits Burrow's rules say STALL.
    conn = rawkafka.Conn(broker.port)
    try:
        now = int(time.time() * 1000)
        for i in range(10):
            frame = conn.request(offset_commit_v1(100 + i, group, topic, 0, 10, now - (9 - i) * 1000))
            r = rawkafka.Reader(frame)
            assert r.i32() == 100 + i
            assert r.i32() == 1 and r.string() == topic and r.i32() == 1 and r.i32() == 0
            assert r.i16() == 0  # committed
    finally:
        conn.sock.close()
    g = wait_group(broker, group, lambda g: g["lag_status"] == "STALL")
    assert g["lag_status"] == "STALL", g
    assert g["partitions"][0]["status"] == "STALL" and g["partitions"][0]["lag"] == 12
    samples = scrape(broker)
    assert value(samples, "kafka_consumergroup_lag_status", group=group) == 5  # Burrow's code for STALL


def raw_http(broker, data, read=True):
    """Sends raw bytes to the HTTP port; returns what comes back until the server closes."""
    with socket.create_connection((HOST, broker.http_port), timeout=HTTP_TIMEOUT_S) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            return b""
        out = b""
        while read:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out


def test_garbage_http_does_not_hurt_the_broker(broker):
    assert raw_http(broker, b"\x00\x01\x02\x03 \xff\xfe\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw_http(broker, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 431 ")
    many = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n"
    assert raw_http(broker, many).startswith(b"HTTP/1.1 431 ")
    assert raw_http(broker, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n") \
        .startswith(b"HTTP/1.1 413 ")
    assert raw_http(broker, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") \
        .startswith(b"HTTP/1.1 501 ")
    assert raw_http(broker, b"GET / HTTP/9.9\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 505 ")
    # A request cut off in the middle, a Kafka request on the HTTP port, pipelined requests.
    raw_http(broker, b"GET /metr", read=False)
    raw_http(broker, struct.pack(">i", 12) + b"\x00\x12\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00")
    two = raw_http(broker, b"GET /v1/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"GET /v1/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert two.count(b"HTTP/1.1 200 OK") == 2
    # A Kafka listener that receives HTTP closes the connection and goes on.
    with socket.create_connection((HOST, broker.port), timeout=HTTP_TIMEOUT_S) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
    assert broker.alive()
    assert http(broker, "/v1/health/live")[0] == 200
    assert value(scrape(broker), "process_open_fds") > 0


def test_a_taken_http_port_is_a_clear_start_up_error(tmp_path):
    with socket.socket() as holder:
        holder.bind((HOST, 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        b = Broker(tmp_path, overrides={"http.listeners": f"http://{HOST}:{port}"})
        with pytest.raises(BrokerError):
            b.start()
        log = b.log_tail()
        assert "http.listeners" in log and str(port) in log, log
        assert b.proc.returncode == 1


def test_http_server_can_be_turned_off(make_broker):
    b = make_broker(overrides={"http.listeners": ""})
    with pytest.raises(OSError):
        socket.create_connection((HOST, b.http_port), timeout=2).close()


def test_per_partition_series_switch_off_above_the_limit(make_broker):
    b = make_broker(overrides={"metrics.partition.series.limit": "0"})
    topic = unique_topic("obs-limit")
    create_topic(b.bootstrap, topic, 2)
    produce(b.bootstrap, topic, [Msg(value=b"z" * 20) for _ in range(5)], {"acks": "all"})
    samples = scrape(b)
    assert not has(samples, "kafka_log_log_size")
    assert not has(samples, "kafka_log_log_numlogsegments")
    assert value(samples, "samsa_log_topic_size_bytes", topic=topic) >= 5 * 20
    assert value(samples, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == 5
