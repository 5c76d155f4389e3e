"""Raw encoders and decoders for the abuse tests (what a hostile or broken client sends), on top
of rawkafka.py: group APIs with static membership (JoinGroup v5, SyncGroup v3, Heartbeat v3,
LeaveGroup v3, OffsetCommit v7, TxnOffsetCommit v3), admin requests (CreateTopics v4,
DeleteTopics v3), Fetch v3, ApiVersions v3 with any client name, and CRC-valid record batches
whose records are malformed. Written from the protocol documentation; every socket operation has
a timeout (rawkafka.Conn)."""

import os
import struct
import time

import rawkafka as rk

# Kafka error codes used by the abuse tests.
NONE = 0
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
TOPIC_AUTHORIZATION_FAILED = 29
UNSUPPORTED_VERSION = 35
INVALID_PARTITIONS = 37
INVALID_REQUEST = 42
POLICY_VIOLATION = 44
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
INVALID_RECORD = 87

# ConsumerProtocol v0 subscription with no topics and null user data: enough for a group whose
# members are all raw clients.
EMPTY_SUBSCRIPTION = rk.i16(0) + rk.i32(0) + rk.i32(-1)


def nullable_string(s):
    return rk.string(s)  # rk.string already writes -1 for None


def compact_nullable_string(s):
    return rk.compact_string(s)  # 0 = null


def compact_array(items):
    return rk.uvarint(len(items) + 1) + b"".join(items)


TAGS = b"\x00"  # an empty tagged-field section


class Client:
    """One connection sending requests with increasing correlation ids; `call` returns a
    Reader positioned after the response header."""

    def __init__(self, port, timeout=10.0, client_id="samsa-abuse"):
        self.conn = rk.Conn(port, timeout=timeout)
        self.cid = 0
        self.client_id = client_id

    def frame(self, api_key, version, body, flexible=False):
        self.cid += 1
        return rk.frame(rk.request_header(api_key, version, self.cid, client_id=self.client_id,
                                          flexible=flexible) + body)

    def call(self, api_key, version, body, flexible=False):
        r = rk.Reader(self.conn.request(self.frame(api_key, version, body, flexible)))
        assert r.i32() == self.cid, "correlation id mismatch"
        if flexible:
            r.skip_tags()  # response header v1
        return r

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- groups ---------------------------------------------------------------------------

    def find_coordinator(self, group):
        return self.call(10, 0, rk.string(group)).i16()

    def wait_coordinator(self, group, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.find_coordinator(group) == NONE:
                return
            time.sleep(0.2)
        raise AssertionError(f"no coordinator for {group} in {timeout}s")

    def join_group(self, group, member_id="", instance_id=None, session_timeout_ms=10000,
                   rebalance_timeout_ms=10000, protocols=(("range", EMPTY_SUBSCRIPTION),)):
        """JoinGroup v5 -> dict(error, generation, protocol, leader, member_id, members)."""
        body = (rk.string(group) + rk.i32(session_timeout_ms) + rk.i32(rebalance_timeout_ms)
                + rk.string(member_id) + nullable_string(instance_id) + rk.string("consumer")
                + rk.i32(len(protocols)))
        for name, meta in protocols:
            body += rk.string(name) + rk.i32(len(meta)) + meta
        r = self.call(11, 5, body)
        r.i32()  # throttle
        out = dict(error=r.i16(), generation=r.i32(), protocol=r.string(), leader=r.string(),
                   member_id=r.string(), members=[])
        for _ in range(r.i32()):
            mid, iid, n = r.string(), r.string(), r.i32()
            out["members"].append((mid, iid, r.take(n)))
        return out

    def sync_group(self, group, generation, member_id, instance_id=None, assignments=None):
        """SyncGroup v3 -> (error, assignment bytes)."""
        assignments = assignments or {}
        body = (rk.string(group) + rk.i32(generation) + rk.string(member_id)
                + nullable_string(instance_id) + rk.i32(len(assignments)))
        for mid, a in assignments.items():
            body += rk.string(mid) + rk.i32(len(a)) + a
        r = self.call(14, 3, body)
        r.i32()
        err, n = r.i16(), r.i32()
        return err, (r.take(n) if n >= 0 else None)

    def heartbeat(self, group, generation, member_id, instance_id=None):
        """Heartbeat v3 -> error."""
        r = self.call(12, 3, rk.string(group) + rk.i32(generation) + rk.string(member_id)
                      + nullable_string(instance_id))
        r.i32()
        return r.i16()

    def leave_group(self, group, members):
        """LeaveGroup v3 with members [(member_id, instance_id)] -> (error, [(member_id,
        instance_id, error)])."""
        body = rk.string(group) + rk.i32(len(members))
        for mid, iid in members:
            body += rk.string(mid) + nullable_string(iid)
        r = self.call(13, 3, body)
        r.i32()
        err = r.i16()
        return err, [(r.string(), r.string(), r.i16()) for _ in range(r.i32())]

    def offset_commit(self, group, generation, member_id, instance_id, topic, offsets):
        """OffsetCommit v7, {partition: offset} -> {partition: error}."""
        body = (rk.string(group) + rk.i32(generation) + rk.string(member_id)
                + nullable_string(instance_id) + rk.i32(1) + rk.string(topic) + rk.i32(len(offsets)))
        for p, o in offsets.items():
            body += rk.i32(p) + rk.i64(o) + rk.i32(-1) + rk.string("")
        return _commit_errors(self.call(8, 7, body), flexible=False)

    def txn_offset_commit(self, transactional_id, group, producer_id, producer_epoch, generation,
                          member_id, instance_id, topic, offsets):
        """TxnOffsetCommit v3 (flexible), {partition: offset} -> {partition: error}."""
        parts = [rk.i32(p) + rk.i64(o) + rk.i32(-1) + compact_nullable_string("") + TAGS
                 for p, o in offsets.items()]
        body = (rk.compact_string(transactional_id) + rk.compact_string(group) + rk.i64(producer_id)
                + rk.i16(producer_epoch) + rk.i32(generation) + rk.compact_string(member_id)
                + compact_nullable_string(instance_id)
                + compact_array([rk.compact_string(topic) + compact_array(parts) + TAGS]) + TAGS)
        return _commit_errors(self.call(28, 3, body, flexible=True), flexible=True)

    def offset_fetch(self, group, topic, partitions):
        """OffsetFetch v1 -> {partition: committed offset}."""
        body = rk.string(group) + rk.i32(1) + rk.string(topic) + rk.i32(len(partitions))
        for p in partitions:
            body += rk.i32(p)
        r = self.call(9, 1, body)
        out = {}
        for _ in range(r.i32()):
            r.string()
            for _ in range(r.i32()):
                p, o = r.i32(), r.i64()
                r.string()
                r.i16()
                out[p] = o
        return out

    # ---- transactions (just enough to hold a transactional producer id) --------------------

    def init_producer_id(self, transactional_id, timeout_ms=60000):
        """InitProducerId v1 -> (error, producer id, epoch)."""
        r = self.call(22, 1, rk.string(transactional_id) + rk.i32(timeout_ms))
        r.i32()
        err = r.i16()
        return err, r.i64(), r.i16()

    def add_offsets_to_txn(self, transactional_id, producer_id, epoch, group):
        """AddOffsetsToTxn v1 -> error."""
        r = self.call(25, 1, rk.string(transactional_id) + rk.i64(producer_id) + rk.i16(epoch)
                      + rk.string(group))
        r.i32()
        return r.i16()

    def end_txn(self, transactional_id, producer_id, epoch, commit):
        """EndTxn v1 -> error."""
        r = self.call(26, 1, rk.string(transactional_id) + rk.i64(producer_id) + rk.i16(epoch)
                      + rk.i8(1 if commit else 0))
        r.i32()
        return r.i16()

    # ---- admin ----------------------------------------------------------------------------

    def create_topics(self, topics, validate_only=False, timeout_ms=10000):
        """CreateTopics v4, topics [(name, num_partitions, replication_factor)] ->
        {name: (error, message)}."""
        body = rk.i32(len(topics))
        for name, n, rf in topics:
            body += rk.string(name) + rk.i32(n) + rk.i16(rf) + rk.i32(0) + rk.i32(0)
        body += rk.i32(timeout_ms) + rk.i8(1 if validate_only else 0)
        r = self.call(19, 4, body)
        r.i32()
        out = {}
        for _ in range(r.i32()):
            name, err, msg = r.string(), r.i16(), r.string()
            out[name] = (err, msg)
        return out

    def delete_topics(self, names, timeout_ms=10000):
        """DeleteTopics v3 -> {name: error}."""
        body = rk.i32(len(names)) + b"".join(rk.string(n) for n in names) + rk.i32(timeout_ms)
        r = self.call(20, 3, body)
        r.i32()
        return {r.string(): r.i16() for _ in range(r.i32())}

    def metadata_topics(self, names):
        """Metadata v1 for `names` -> {name: (error, partition count)}."""
        body = rk.i32(len(names)) + b"".join(rk.string(n) for n in names)
        r = self.call(3, 1, body)
        for _ in range(r.i32()):  # brokers: node, host, port, rack
            r.i32(), r.string(), r.i32(), r.string()
        r.i32()  # controller
        out = {}
        for _ in range(r.i32()):
            err, name = r.i16(), r.string()
            r.take(1)  # is_internal
            n = r.i32()
            for _ in range(n):
                r.i16(), r.i32(), r.i32()
                for _ in range(r.i32()):
                    r.i32()
                for _ in range(r.i32()):
                    r.i32()
            out[name] = (err, n)
        return out

    def produce(self, topic, partition, batch, acks=-1, version=7):
        """Produce -> (error, base offset)."""
        self.cid += 1
        body = self.conn.request(rk.produce_request(version, self.cid, topic, partition, batch,
                                                    acks=acks))
        assert struct.unpack(">i", body[:4])[0] == self.cid
        return rk.parse_produce_partition(body[4:], version)


def _commit_errors(r, flexible):
    r.i32()  # throttle
    out = {}
    n = r.uvarint() - 1 if flexible else r.i32()
    for _ in range(n):
        r.take(r.uvarint() - 1) if flexible else r.string()
        m = r.uvarint() - 1 if flexible else r.i32()
        for _ in range(m):
            p, err = r.i32(), r.i16()
            if flexible:
                r.skip_tags()
            out[p] = err
        if flexible:
            r.skip_tags()
    return out


# ---- request frames sent without waiting for the answer ---------------------------------------

def fetch_v3_request(correlation_id, topic, partition, offset, max_bytes=64 << 20,
                     partition_max_bytes=16 << 20, max_wait_ms=0):
    """Fetch v3: the broker answers with magic-1 message sets, down-converting v2 batches."""
    body = (rk.i32(-1) + rk.i32(max_wait_ms) + rk.i32(1) + rk.i32(max_bytes) + rk.i32(1)
            + rk.string(topic) + rk.i32(1) + rk.i32(partition) + rk.i64(offset)
            + rk.i32(partition_max_bytes))
    return rk.frame(rk.request_header(1, 3, correlation_id) + body)


def api_versions_v3_request(correlation_id, software_name, software_version="1.0"):
    """ApiVersions v3 with any client_software_name (KIP-511 allows [a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*
    [a-zA-Z0-9])?)."""
    body = rk.compact_string(software_name) + rk.compact_string(software_version) + TAGS
    return rk.frame(rk.request_header(18, 3, correlation_id, flexible=True) + body)


def offset_commit_v2_request(correlation_id, group, topic, partition, offset):
    """A simple (generation -1) OffsetCommit v2 of one partition."""
    body = (rk.string(group) + rk.i32(-1) + rk.string("") + rk.i64(-1) + rk.i32(1) + rk.string(topic)
            + rk.i32(1) + rk.i32(partition) + rk.i64(offset) + rk.string(""))
    return rk.frame(rk.request_header(8, 2, correlation_id) + body)


# ---- CRC-valid record batches with malformed records -------------------------------------------

def batch_of(records_bytes, count, attributes=0, last_offset_delta=None):
    """A magic-2 batch around `records_bytes` (already encoded, maybe compressed) declaring
    `count` records, with a correct CRC: only record-level validation can refuse it."""
    ts = int(time.time() * 1000)
    lod = count - 1 if last_offset_delta is None else last_offset_delta
    after_crc = (rk.i16(attributes) + rk.i32(lod) + rk.i64(ts) + rk.i64(ts) + rk.i64(-1)
                 + rk.i16(-1) + rk.i32(-1) + rk.i32(count) + records_bytes)
    after_length = rk.i32(-1) + rk.i8(2) + rk.u32(rk.crc32c(after_crc)) + after_crc
    return rk.i64(0) + rk.i32(len(after_length)) + after_length


def _record_body(key=b"k", value=b"v", headers=b"\x00", offset_delta=0):
    return (rk.i8(0) + rk.varint(0) + rk.varint(offset_delta) + rk.varint(len(key)) + key
            + rk.varint(len(value)) + value + headers)


def malformed_batches():
    """{name: batch}: each is CRC-valid and structurally a batch, but its records are not."""
    good = rk.record(0, b"k", b"v")
    header_bomb = _record_body(headers=rk.varint(2 ** 31 - 1))
    return {
        # a record length varint of 10 continuation bytes: overflows 64 bits
        "varint_overflow": batch_of(b"\xff" * 10 + b"\x01" + b"\x00" * 8, 1),
        # header count 2^31-1 with no header bytes after it
        "header_count_huge": batch_of(rk.varint(len(header_bomb)) + header_bomb, 1),
        # declares 5 records, holds 2
        "count_too_high": batch_of(good + rk.record(1, b"k", b"v"), 5),
        # declares 1 record, holds 3
        "count_too_low": batch_of(good + rk.record(1, b"k", b"v") + rk.record(2, b"k", b"v"), 1,
                                  last_offset_delta=0),
        # a key length of -7
        "negative_key_length": batch_of(
            rk.varint(9) + rk.i8(0) + rk.varint(0) + rk.varint(0) + rk.varint(-7) + b"kkkkk", 1),
        # a record length beyond the batch
        "record_length_past_end": batch_of(rk.varint(1 << 20) + _record_body(), 1),
        # gzip (1) and zstd (4) attributes over bytes that are not a compressed stream
        "bad_gzip_payload": batch_of(b"\x1f\x8b" + b"not gzip at all" * 4, 1, attributes=1),
        "bad_zstd_payload": batch_of(b"\x28\xb5\x2f\xfd" + b"\xff" * 40, 1, attributes=4),
    }


def rss_bytes(pid):
    """Resident set size of process `pid` from /proc (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
