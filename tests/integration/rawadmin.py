"""Raw-protocol encoders/decoders for the admin APIs used by test_abuse_admin.py (non-flexible
versions only, so no tagged fields): CreateTopics v4, DeleteTopics v3, CreatePartitions v1,
Metadata v4, ListOffsets v1, Fetch v4, DeleteRecords v0, AlterConfigs v0.

Every decoder returns plain tuples/dicts; unknown trailing bytes are ignored.
"""

from rawkafka import Reader, frame, i8, i16, i32, i64, request_header, string


def array(items):
    return i32(len(items)) + b"".join(items)


def nullable_string(s):
    return i16(-1) if s is None else string(s)


def _nstring(r):
    n = r.i16()
    return None if n < 0 else r.take(n).decode()


def create_topics_request(corr, topics, validate_only=False, timeout_ms=30000):
    """topics: list of dicts name, partitions=-1, rf=-1, assignments=[(p, [brokers])],
    configs={k: v}."""
    body = b""
    for t in topics:
        body += string(t["name"]) + i32(t.get("partitions", -1)) + i16(t.get("rf", -1))
        body += array([i32(p) + array([i32(b) for b in brokers])
                       for p, brokers in t.get("assignments", [])])
        body += array([string(k) + nullable_string(v) for k, v in t.get("configs", {}).items()])
    payload = (request_header(19, 4, corr) + i32(len(topics)) + body + i32(timeout_ms)
               + i8(1 if validate_only else 0))
    return frame(payload)


def parse_create_topics(body):
    """CreateTopics v4 / CreatePartitions v1 response -> {name: (error_code, error_message)}"""
    r = Reader(body)
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        name = r.string()
        code = r.i16()
        out[name] = (code, _nstring(r))
    return out


def create_topics_request_raw_assignments(corr, name, count, per_partition_brokers=1):
    """One topic whose replica assignment has `count` entries (built without Python lists of
    that size in the body beyond what is sent)."""
    entry = lambda p: i32(p) + i32(per_partition_brokers) + i32(1) * per_partition_brokers
    body = (string(name) + i32(-1) + i16(-1) + i32(count)
            + b"".join(entry(p) for p in range(count)) + i32(0))
    return frame(request_header(19, 4, corr) + i32(1) + body + i32(30000) + i8(0))


def delete_topics_request(corr, names):
    return frame(request_header(20, 3, corr) + array([string(n) for n in names]) + i32(30000))


def parse_delete_topics(body):
    r = Reader(body)
    r.i32()
    return {r.string(): r.i16() for _ in range(r.i32())}


def create_partitions_request(corr, topics, validate_only=False):
    """topics: list of (name, count)."""
    items = [string(n) + i32(c) + i32(-1) for n, c in topics]
    return frame(request_header(37, 1, corr) + array(items) + i32(30000)
                 + i8(1 if validate_only else 0))


parse_create_partitions = parse_create_topics  # the same layout


def metadata_request(corr, topics=None, auto_create=True):
    t = i32(-1) if topics is None else array([string(n) for n in topics])
    return frame(request_header(3, 4, corr) + t + i8(1 if auto_create else 0))


def parse_metadata(body):
    """-> {name: (error_code, is_internal, [(partition, error, leader)])}"""
    r = Reader(body)
    r.i32()
    for _ in range(r.i32()):
        r.i32(), r.string(), r.i32(), _nstring(r)
    _nstring(r)  # cluster id
    r.i32()  # controller
    out = {}
    for _ in range(r.i32()):
        code = r.i16()
        name = r.string()
        internal = r.take(1)[0] != 0
        parts = []
        for _ in range(r.i32()):
            perr, index, leader = r.i16(), r.i32(), r.i32()
            for _ in range(2):  # replicas, isr
                for _ in range(r.i32()):
                    r.i32()
            parts.append((index, perr, leader))
        out[name] = (code, internal, parts)
    return out


def parse_metadata_brokers(body):
    """-> sorted broker ids listed in a Metadata v1-v8 answer (the unfenced brokers)."""
    r = Reader(body)
    r.i32()
    ids = []
    for _ in range(r.i32()):
        ids.append(r.i32())
        r.string(), r.i32(), _nstring(r)
    return sorted(ids)


def list_offsets_request(corr, topic, partition=0, timestamp=-1):
    t = string(topic) + array([i32(partition) + i64(timestamp)])
    return frame(request_header(2, 1, corr) + i32(-1) + array([t]))


def parse_list_offsets_error(body):
    r = Reader(body)
    r.i32()  # topics
    r.string()
    r.i32()  # partitions
    r.i32()
    return r.i16()


def fetch_request(corr, topic, partition=0, offset=0):
    t = string(topic) + array([i32(partition) + i64(offset) + i32(1 << 20)])
    return frame(request_header(1, 4, corr) + i32(-1) + i32(0) + i32(1) + i32(1 << 20) + i8(0)
                 + array([t]))


def parse_fetch_error(body):
    r = Reader(body)
    r.i32()  # throttle
    r.i32()
    r.string()
    r.i32()
    r.i32()
    return r.i16()


def delete_records_request(corr, topic, partition=0, offset=-1):
    t = string(topic) + array([i32(partition) + i64(offset)])
    return frame(request_header(21, 0, corr) + array([t]) + i32(30000))


def parse_delete_records_error(body):
    r = Reader(body)
    r.i32()
    r.i32()
    r.string()
    r.i32()
    r.i32()
    r.i64()
    return r.i16()


def alter_configs_request(corr, topic, configs):
    res = i8(2) + string(topic) + array([string(k) + nullable_string(v) for k, v in configs.items()])
    return frame(request_header(33, 0, corr) + array([res]) + i8(0))


def parse_alter_configs_error(body):
    r = Reader(body)
    r.i32()
    r.i32()
    return r.i16()


class MetadataProbe:
    """Another client: one connection sending Metadata for `topic` every 10 ms in a thread,
    recording each round trip (seconds) until stop()."""

    def __init__(self, port, topic, timeout=30.0):
        import threading
        self.port, self.topic, self.timeout = port, topic, timeout
        self.latencies = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import time
        from rawkafka import Conn
        with Conn(self.port, timeout=self.timeout) as c:
            while not self._stop.is_set() and len(self.latencies) < 100000:
                t0 = time.monotonic()
                c.request(metadata_request(9, [self.topic], auto_create=False))
                self.latencies.append(time.monotonic() - t0)
                time.sleep(0.01)

    def stop(self):
        """-> 'n=.. median .. ms max .. ms' (or 'n=0')."""
        self._stop.set()
        self._thread.join(timeout=self.timeout)
        lat = sorted(self.latencies)
        if not lat:
            return "n=0"
        return f"n={len(lat)} median {lat[len(lat) // 2] * 1000:.1f} ms max {lat[-1] * 1000:.1f} ms"
