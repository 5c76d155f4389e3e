"""Fetch v12-v17 requests and responses by hand, and a fetch-session consumer as the Java client's
FetchSessionHandler behaves (KIP-227): a full fetch opens a session, then each incremental fetch
sends only partitions whose fetch offset changed and reads only the partitions the broker sends.
Used by tests/integration/test_fetch_sessions.py and bench/fetch_sessions.sh (issue 17)."""

import struct
import time

from rawkafka import Reader, compact_string, frame, i8, i32, i64, request_header, uvarint

FETCH = 1
METADATA = 3


def compact_array(items):
    return uvarint(len(items) + 1) + b"".join(items)


def fetch_body(version, topics, session_id=0, epoch=-1, forgotten=(), max_wait_ms=0, min_bytes=0,
               max_bytes=50 << 20, replica_id=-1, isolation=0):
    """A flexible Fetch (v12+) body. `topics`: [(name_or_uuid16, [(partition, offset)...])];
    v13+ names topics by their 16-byte id. `forgotten`: [(name_or_uuid16, [partition...])]."""
    assert 12 <= version <= 17
    by_id = version >= 13

    def topic_key(t):
        if by_id:
            assert isinstance(t, bytes) and len(t) == 16
            return t
        return compact_string(t)

    body = b""
    if version <= 14:
        body += i32(replica_id)
    body += i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(isolation) + i32(session_id) + i32(epoch)
    body += compact_array([
        topic_key(t) + compact_array([
            i32(p) + i32(-1) + i64(off) + i32(-1) + i64(-1) + i32(1 << 20) + uvarint(0)
            for p, off in parts]) + uvarint(0)
        for t, parts in topics])
    body += compact_array([
        topic_key(t) + uvarint(len(ps) + 1) + b"".join(i32(p) for p in ps) + uvarint(0)
        for t, ps in forgotten])
    body += compact_string("")  # rack id
    if version >= 15 and replica_id >= 0:  # replica state, tag 1: replica id and broker epoch -1
        state = i32(replica_id) + i64(-1) + uvarint(0)
        body += uvarint(1) + uvarint(1) + uvarint(len(state)) + state
    else:
        body += uvarint(0)
    return body


def fetch_frame(version, corr, body):
    return frame(request_header(FETCH, version, corr, flexible=True) + body)


def parse_fetch(resp, version):
    """A Fetch v12+ response frame (correlation id first) -> dict: error, session_id, topics
    [(name_or_uuid16, [partition dict])], node_endpoints [(id, host, port, rack)]. The whole
    frame must be consumed."""
    assert version >= 12
    r = Reader(resp)
    out = {"corr": r.i32()}
    r.skip_tags()
    out["throttle"] = r.i32()
    out["error"] = r.i16()
    out["session_id"] = r.i32()
    topics = []
    for _ in range(r.uvarint() - 1):
        if version >= 13:
            key = r.take(16)
        else:
            key = r.take(r.uvarint() - 1).decode()
        parts = []
        for _ in range(r.uvarint() - 1):
            p = {"partition": r.i32(), "error": r.i16(), "hw": r.i64(), "lso": r.i64(),
                 "log_start": r.i64(), "aborted": None, "leader": None, "diverging": None}
            n = r.uvarint()
            if n:
                p["aborted"] = []
                for _ in range(n - 1):
                    p["aborted"].append((r.i64(), r.i64()))
                    r.skip_tags()
            p["preferred"] = r.i32()
            size = r.uvarint()
            p["records"] = r.take(size - 1) if size > 1 else b""
            for _ in range(r.uvarint()):
                tag, length = r.uvarint(), r.uvarint()
                data = Reader(r.take(length))
                if tag == 0:
                    p["diverging"] = (data.i32(), data.i64())
                elif tag == 1:
                    p["leader"] = (data.i32(), data.i32())
            parts.append(p)
        r.skip_tags()
        topics.append((key, parts))
    out["topics"] = topics
    out["node_endpoints"] = []
    for _ in range(r.uvarint()):
        tag, length = r.uvarint(), r.uvarint()
        data = Reader(r.take(length))
        if tag == 0:
            for _ in range(data.uvarint() - 1):
                node, host, port = data.i32(), data.take(data.uvarint() - 1).decode(), data.i32()
                n = data.uvarint()
                rack = data.take(n - 1).decode() if n else None
                data.skip_tags()
                out["node_endpoints"].append((node, host, port, rack))
    assert r.remaining() == 0, f"{r.remaining()} bytes left after the Fetch v{version} response"
    return out


def partitions_of(resp):
    """{(topic, partition): partition dict} of a parsed response."""
    return {(t, p["partition"]): p for t, ps in resp["topics"] for p in ps}


def _varint(r):
    v = r.uvarint()
    return (v >> 1) ^ -(v & 1)


def records_of(data):
    """[(offset, value)] of the uncompressed v2 batches in `data` (a partial last batch is left)."""
    out = []
    pos = 0
    while pos + 61 <= len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        end = pos + 12 + length
        if end > len(data):
            break
        attributes = struct.unpack(">h", data[pos + 21:pos + 23])[0]
        assert attributes & 0x7 == 0, "compressed batch"
        count = struct.unpack(">i", data[pos + 57:pos + 61])[0]
        r = Reader(data[pos + 61:end])
        for _ in range(count):
            _varint(r)  # length
            r.take(1)  # attributes
            _varint(r)  # timestamp delta
            delta = _varint(r)
            k = _varint(r)
            if k > 0:
                r.take(k)
            v = _varint(r)
            value = r.take(v) if v >= 0 else None
            for _ in range(_varint(r)):  # headers
                r.take(_varint(r))
                n = _varint(r)
                if n > 0:
                    r.take(n)
            out.append((base + delta, value))
        pos = end
    return out


def metadata_topic_id(conn, topic, timeout=10.0):
    """The topic id of `topic` from Metadata v12 (no auto-creation); asks again until the topic
    is known or `timeout` seconds pass (then None)."""
    deadline = time.monotonic() + timeout
    while True:
        tid = _topic_id_once(conn, topic)
        if tid or time.monotonic() > deadline:
            return tid
        time.sleep(0.05)


def _topic_id_once(conn, topic, corr=3):
    body = uvarint(2) + bytes(16) + compact_string(topic) + uvarint(0) + i8(0) + i8(0) + uvarint(0)
    r = Reader(conn.request(frame(request_header(METADATA, 12, corr, flexible=True) + body)))
    r.i32()
    r.skip_tags()
    r.i32()  # throttle
    for _ in range(r.uvarint() - 1):  # brokers
        r.i32(), r.take(r.uvarint() - 1), r.i32()
        n = r.uvarint()
        if n:
            r.take(n - 1)
        r.skip_tags()
    n = r.uvarint()  # cluster id
    if n:
        r.take(n - 1)
    r.i32()  # controller
    assert r.uvarint() == 2, "one topic expected"
    err = r.i16()
    r.take(r.uvarint() - 1)  # name
    tid = r.take(16)
    return tid if err == 0 else None


class SessionConsumer:
    """Consumes `partitions` {(topic_key, partition): next offset} through one fetch session on
    `conn` (Fetch `version`), as the Java client does: the first fetch is full (epoch 0), then
    each incremental fetch names only the partitions whose offset moved since the broker last
    saw it. With sessions=False every fetch is a full sessionless one (epoch -1)."""

    def __init__(self, conn, version, partitions, sessions=True, max_wait_ms=0):
        self.conn = conn
        self.version = version
        self.offsets = dict(partitions)
        self.sessions = sessions
        self.max_wait_ms = max_wait_ms
        self.session_id = 0
        self.epoch = 0 if sessions else -1
        self.sent = {}  # what the broker's session holds: (topic, partition) -> offset
        self.corr = 100
        self.last = None

    def _topics(self, keys):
        by_topic = {}
        for t, p in keys:
            by_topic.setdefault(t, []).append((p, self.offsets[(t, p)]))
        return list(by_topic.items())

    def fetch(self):
        """One fetch -> {(topic, partition): [(offset, value)]} of what came back with records."""
        if self.sessions and self.session_id:
            changed = [k for k, off in self.offsets.items() if self.sent.get(k) != off]
            body = fetch_body(self.version, self._topics(changed), self.session_id, self.epoch,
                              max_wait_ms=self.max_wait_ms)
        else:
            changed = list(self.offsets)
            body = fetch_body(self.version, self._topics(changed), 0, 0 if self.sessions else -1,
                              max_wait_ms=self.max_wait_ms)
        self.corr += 1
        resp = parse_fetch(self.conn.request(fetch_frame(self.version, self.corr, body)), self.version)
        self.last = resp
        assert resp["error"] == 0, f"fetch session error {resp['error']}"
        if self.sessions:
            if not self.session_id:
                assert resp["session_id"] != 0, "the broker opened no session"
                self.session_id = resp["session_id"]
            else:
                assert resp["session_id"] == self.session_id
            self.epoch = 1 if self.epoch == 0x7FFFFFFF else self.epoch + 1
            for k in changed:
                self.sent[k] = self.offsets[k]
        got = {}
        for key, p in partitions_of(resp).items():
            assert p["error"] == 0, f"partition {key[1]} error {p['error']}"
            recs = [(o, v) for o, v in records_of(p["records"]) if o >= self.offsets[key]]
            if recs:
                got[key] = recs
                self.offsets[key] = recs[-1][0] + 1
        return got

    def close(self):
        """Closes the session (epoch -1 with its id): a full sessionless fetch of nothing."""
        if self.sessions and self.session_id:
            body = fetch_body(self.version, [], self.session_id, -1)
            self.corr += 1
            parse_fetch(self.conn.request(fetch_frame(self.version, self.corr, body)), self.version)
            self.session_id = 0
