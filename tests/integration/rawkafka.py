"""A deliberately tiny Kafka wire-protocol toolkit for the raw-socket tests: enough to build
request headers, ApiVersions/Produce requests and record batches (magic 2), and to read the
answers. Written from the protocol documentation; no client library involved, so the tests can
also send what no well-behaved client would."""

import socket
import struct
import time

# ---- encoding ---------------------------------------------------------------------------------


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def u32(v):
    return struct.pack(">I", v)


def i64(v):
    return struct.pack(">q", v)


def uvarint(v):
    assert v >= 0
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(v):
    """Zigzag signed varint, as used inside records."""
    return uvarint((v << 1) ^ (v >> 63))


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def request_header(api_key, version, correlation_id, client_id="samsa-it", flexible=False):
    """Request header v1 (v2 when flexible: an empty tagged-field section after client_id,
    whose int16 length prefix stays as in v1)."""
    h = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id)
    return h + b"\x00" if flexible else h


def frame(payload):
    return i32(len(payload)) + payload


def api_versions_request(version, correlation_id):
    flexible = version >= 3
    body = b""
    if flexible:
        body = compact_string("samsa-it") + compact_string("0.1") + b"\x00"
    return frame(request_header(18, version, correlation_id, flexible=flexible) + body)


# ---- CRC32C (Castagnoli), for record batches ----------------------------------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


# ---- record batch v2 --------------------------------------------------------------------------

def record(offset_delta, key, value, timestamp_delta=0):
    body = (i8(0) + varint(timestamp_delta) + varint(offset_delta)
            + (varint(-1) if key is None else varint(len(key)) + key)
            + (varint(-1) if value is None else varint(len(value)) + value)
            + varint(0))
    return varint(len(body)) + body


def record_batch(kvs, base_timestamp=None, magic=2, count=None, crc=None, attributes=0,
                 producer=(-1, -1, -1)):
    """A record batch holding `kvs` [(key, value)]. `magic`, `count` and `crc` can be forced to
    wrong values to build corrupt batches; `producer` = (id, epoch, base sequence)."""
    ts = int(time.time() * 1000) if base_timestamp is None else base_timestamp
    records = b"".join(record(i, k, v) for i, (k, v) in enumerate(kvs))
    pid, epoch, seq = producer
    after_crc = (i16(attributes) + i32(len(kvs) - 1) + i64(ts) + i64(ts)
                 + i64(pid) + i16(epoch) + i32(seq)
                 + i32(len(kvs) if count is None else count) + records)
    crc_value = crc32c(after_crc) if crc is None else crc
    after_length = i32(-1) + i8(magic) + u32(crc_value) + after_crc
    return i64(0) + i32(len(after_length)) + after_length


def record_batch_from_payload(payload, count, attributes=0, last_offset_delta=None, base_timestamp=None):
    """A v2 batch around `payload` (the records as bytes, already compressed when `attributes`
    names a codec), with a correct CRC: for batches whose records are malformed on purpose."""
    ts = int(time.time() * 1000) if base_timestamp is None else base_timestamp
    lod = count - 1 if last_offset_delta is None else last_offset_delta
    after_crc = (i16(attributes) + i32(lod) + i64(ts) + i64(ts) + i64(-1) + i16(-1) + i32(-1)
                 + i32(count) + payload)
    after_length = i32(-1) + i8(2) + u32(crc32c(after_crc)) + after_crc
    return i64(0) + i32(len(after_length)) + after_length


def fetch_request(version, correlation_id, topic, partition, offset, max_bytes=1 << 20,
                  max_wait_ms=0, min_bytes=0):
    """Fetch v0..v3 with one topic and one partition (max_bytes is also the response limit in v3)."""
    assert 0 <= version <= 3
    body = i32(-1) + i32(max_wait_ms) + i32(min_bytes)
    if version >= 3:
        body += i32(max_bytes)
    body += i32(1) + string(topic) + i32(1) + i32(partition) + i64(offset) + i32(max_bytes)
    return frame(request_header(1, version, correlation_id) + body)


def produce_request(version, correlation_id, topic, partition, records_bytes, acks=1,
                    timeout_ms=5000):
    """Produce v3..v8 (non-flexible) with one topic and one partition."""
    assert 3 <= version <= 8
    body = (string(None) + i16(acks) + i32(timeout_ms) + i32(1) + string(topic) + i32(1)
            + i32(partition) + (i32(-1) if records_bytes is None
                                else i32(len(records_bytes)) + records_bytes))
    return frame(request_header(0, version, correlation_id) + body)


def init_producer_id_request(correlation_id, transactional_id=None, timeout_ms=60000):
    """InitProducerId v1 (non-flexible)."""
    return frame(request_header(22, 1, correlation_id) + string(transactional_id) + i32(timeout_ms))


# ---- decoding ---------------------------------------------------------------------------------

class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        assert self.pos + n <= len(self.data), \
            f"response truncated: need {n} bytes at {self.pos} of {len(self.data)}"
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            assert shift < 64, "varint too long"

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def remaining(self):
        return len(self.data) - self.pos


def parse_api_versions(body, version):
    """ApiVersions response body (after the v0 response header) -> (error, {key: (min, max)}).
    The whole body must be consumed."""
    r = Reader(body)
    error = r.i16()
    n = r.uvarint() - 1 if version >= 3 else r.i32()
    assert 0 <= n < 1000, f"implausible api count {n}"
    apis = {}
    for _ in range(n):
        key, lo, hi = r.i16(), r.i16(), r.i16()
        if version >= 3:
            r.skip_tags()
        assert key not in apis, f"api key {key} listed twice"
        apis[key] = (lo, hi)
    if version >= 1:
        r.i32()  # throttle_time_ms
    if version >= 3:
        r.skip_tags()
    assert r.remaining() == 0, f"{r.remaining()} unexpected bytes after ApiVersions v{version} body"
    return error, apis


def parse_produce_partition(body, version):
    """First partition of a Produce v3..v8 response -> (error_code, base_offset)."""
    r = Reader(body)
    assert r.i32() == 1, "one topic expected"
    r.string()
    assert r.i32() == 1, "one partition expected"
    r.i32()
    return r.i16(), r.i64()


def parse_fetch_partition(body, version):
    """First partition of a Fetch v1..v3 response body (after the correlation id)
    -> (error_code, high_watermark, records bytes)."""
    assert 1 <= version <= 3
    r = Reader(body)
    r.i32()  # throttle_time_ms
    assert r.i32() == 1, "one topic expected"
    r.string()
    assert r.i32() == 1, "one partition expected"
    r.i32()
    err, hw = r.i16(), r.i64()
    n = r.i32()
    return err, hw, (r.take(n) if n > 0 else b"")


# ---- connections ------------------------------------------------------------------------------

class Closed(Exception):
    """The broker closed the connection (EOF or reset)."""


class Conn:
    """One TCP connection with a timeout on every operation; never blocks forever."""

    def __init__(self, port, timeout=5.0, host="127.0.0.1", source=None):
        """`source`: the local address to connect from (another loopback address is another
        client IP to the broker)."""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e))

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError as e:
                raise Closed(str(e))
            if not chunk:
                raise Closed("EOF")
            buf += chunk
        return bytes(buf)

    def recv_frame(self, max_size=64 << 20):
        """One response frame (without its size prefix). Raises Closed on EOF/reset and
        socket.timeout if nothing arrives in time."""
        size = struct.unpack(">i", self._read_exact(4))[0]
        assert 0 <= size <= max_size, f"response size prefix {size} out of range"
        return self._read_exact(size)

    def request(self, data):
        self.send(data)
        return self.recv_frame()

    def init_producer_id(self, transactional_id=None):
        """-> (producer_id, epoch, error_code)"""
        r = Reader(self.request(init_producer_id_request(7, transactional_id)))
        r.i32()  # correlation id
        r.i32()  # throttle
        err = r.i16()
        return r.i64(), r.i16(), err

    def produce_idempotent(self, topic, partition, pid, epoch, seq, count, acks=-1):
        """One batch of `count` records with producer fields -> (error_code, base_offset)."""
        batch = record_batch([(None, f"s{seq + i}".encode()) for i in range(count)],
                             producer=(pid, epoch, seq))
        body = self.request(produce_request(7, 9, topic, partition, batch, acks=acks))
        return parse_produce_partition(body[4:], 7)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
