"""Transactions v2 and partition verification (KIP-890, issue 17), spoken in raw requests because
no client on this machine speaks transactions v2 yet (Debian's librdkafka 2.0.2 and the npm
clients' bundled ones stop at v1).

- A new cluster finalizes transaction.version 2 (ApiVersions v4 lists it; v3 leaves out a
  supported feature whose minimum is 0); `storage format --feature transaction.version=1` picks 1.
- A v2 producer never sends AddPartitionsToTxn or AddOffsetsToTxn: Produce v12 and TxnOffsetCommit
  v5 add their partitions; EndTxn v5 bumps the epoch (the markers carry it, so the partition's
  producer state moves to it) and answers the id and epoch to go on with; its retry with the old
  epoch is answered the same; the old epoch is fenced afterwards.
- A v1 producer's transactional write to a partition it did not add is refused before it lands
  (TRANSACTION_ABORTABLE for Produce v11, INVALID_TXN_STATE before), unless
  transaction.partition.verification.enable is turned off.
- AddPartitionsToTxn v4/v5 (the brokers' batched form) verifies or adds several transactions.
- Across brokers: the partition's leader asks the coordinator on another broker.
- `samsa features` (kafka-features.sh): describe, upgrade, downgrade, disable, --dry-run, Kafka's
  refusals; UpdateFeatures sent to a node that is not the controller is relayed.
- Golden bytes of AddPartitionsToTxn v4 and EndTxn v5.
"""

import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

import rawkafka as rk
from conftest import SAMSA_BIN, Broker
from helpers import create_topic, storage_formatter, unique_topic

BOUND_S = 30.0

# Error codes.
NONE = 0
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
UNKNOWN_TOPIC_OR_PARTITION = 3
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90
TRANSACTION_ABORTABLE = 120

TRANSACTIONAL = 0x10  # record batch attribute


# ---- flexible encodings ------------------------------------------------------------------------

def carray(items):
    return rk.uvarint(len(items) + 1) + b"".join(items)


def cstr(s):
    return rk.compact_string(s)


def cbytes(b):
    return rk.uvarint(len(b) + 1) + b


TAGS = rk.uvarint(0)


def flexible_request(api_key, version, body, corr=1):
    return rk.frame(rk.request_header(api_key, version, corr, flexible=True) + body)


class R(rk.Reader):
    def cstr(self):
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n).decode()

    def count(self):
        return self.uvarint() - 1

    def boolean(self):
        return self.take(1)[0] != 0


def call(conn, api_key, version, body):
    """Sends one flexible request; returns a Reader past the response header (correlation id and
    its tagged fields)."""
    r = R(conn.request(flexible_request(api_key, version, body)))
    r.i32()
    r.skip_tags()
    return r


# ---- requests ----------------------------------------------------------------------------------

def init_producer_id(conn, txn_id, version=5, timeout_ms=60000):
    """-> (error, producer id, epoch)"""
    r = call(conn, 22, version, cstr(txn_id) + rk.i32(timeout_ms) + rk.i64(-1) + rk.i16(-1) + TAGS)
    r.i32()
    return r.i16(), r.i64(), r.i16()


def txn_batch(pid, epoch, seq, values):
    return rk.record_batch([(None, v.encode()) for v in values], attributes=TRANSACTIONAL,
                           producer=(pid, epoch, seq))


def produce(conn, version, txn_id, topic, batches):
    """Produce (v9+) of {partition: batch} to one topic, acks=all -> {partition: error}."""
    parts = [rk.i32(p) + cbytes(b) + TAGS for p, b in sorted(batches.items())]
    body = (cstr(txn_id) + rk.i16(-1) + rk.i32(10000)
            + carray([cstr(topic) + carray(parts) + TAGS]) + TAGS)
    r = call(conn, 0, version, body)
    out = {}
    for _ in range(r.count()):
        r.cstr()
        for _ in range(r.count()):
            p, err = r.i32(), r.i16()
            r.i64(), r.i64(), r.i64()  # base offset, log append time, log start
            for _ in range(r.count()):  # record errors
                r.i32(), r.cstr(), r.skip_tags()
            r.cstr()  # error message
            r.skip_tags()
            out[p] = err
        r.skip_tags()
    return out


def add_partitions_v3(conn, txn_id, pid, epoch, topic, partitions):
    """The client form -> {partition: error}."""
    body = (cstr(txn_id) + rk.i64(pid) + rk.i16(epoch)
            + carray([cstr(topic) + carray([rk.i32(p) for p in partitions]) + TAGS]) + TAGS)
    r = call(conn, 24, 3, body)
    r.i32()
    out = {}
    for _ in range(r.count()):
        r.cstr()
        for _ in range(r.count()):
            p, err = r.i32(), r.i16()
            r.skip_tags()
            out[p] = err
        r.skip_tags()
    return out


def add_partitions_batched(conn, version, transactions):
    """The brokers' form (v4/v5): transactions = [(id, pid, epoch, verify_only, {topic: [p]})]
    -> (top-level error, {id: {(topic, p): error}})."""
    txns = []
    for txn_id, pid, epoch, verify_only, topics in transactions:
        ts = [cstr(t) + carray([rk.i32(p) for p in ps]) + TAGS for t, ps in topics.items()]
        txns.append(cstr(txn_id) + rk.i64(pid) + rk.i16(epoch) + rk.i8(1 if verify_only else 0)
                    + carray(ts) + TAGS)
    r = call(conn, 24, version, carray(txns) + TAGS)
    r.i32()
    top = r.i16()
    out = {}
    for _ in range(r.count()):
        txn_id = r.cstr()
        res = out.setdefault(txn_id, {})
        for _ in range(r.count()):
            t = r.cstr()
            for _ in range(r.count()):
                p, err = r.i32(), r.i16()
                r.skip_tags()
                res[(t, p)] = err
            r.skip_tags()
        r.skip_tags()
    return top, out


def end_txn(conn, txn_id, pid, epoch, commit, version=5):
    """-> (error, producer id, epoch); v3/v4 answer no id or epoch (None)."""
    r = call(conn, 26, version, cstr(txn_id) + rk.i64(pid) + rk.i16(epoch) + rk.i8(1 if commit else 0) + TAGS)
    r.i32()
    err = r.i16()
    if version >= 5:
        return err, r.i64(), r.i16()
    return err, None, None


def txn_offset_commit(conn, version, txn_id, group, pid, epoch, topic, partition, offset):
    part = rk.i32(partition) + rk.i64(offset) + rk.i32(-1) + cstr(None) + TAGS
    body = (cstr(txn_id) + cstr(group) + rk.i64(pid) + rk.i16(epoch) + rk.i32(-1) + cstr("") + cstr(None)
            + carray([cstr(topic) + carray([part]) + TAGS]) + TAGS)
    r = call(conn, 28, version, body)
    r.i32()
    errs = []
    for _ in range(r.count()):
        r.cstr()
        for _ in range(r.count()):
            r.i32()
            errs.append(r.i16())
            r.skip_tags()
        r.skip_tags()
    return errs


def describe_transaction(conn, txn_id):
    """-> (error, state, producer id, epoch, {(topic, p)})"""
    r = call(conn, 65, 0, carray([cstr(txn_id)]) + TAGS)
    r.i32()
    assert r.count() == 1
    err, _, state = r.i16(), r.cstr(), r.cstr()
    r.i32(), r.i64()
    pid, epoch = r.i64(), r.i16()
    parts = set()
    for _ in range(r.count()):
        t = r.cstr()
        for _ in range(r.count()):
            parts.add((t, r.i32()))
        r.skip_tags()
    return err, state, pid, epoch, parts


def producer_epochs(conn, topic, partition):
    """DescribeProducers: {producer id: epoch} of a partition's producer state."""
    r = call(conn, 61, 0, carray([cstr(topic) + carray([rk.i32(partition)]) + TAGS]) + TAGS)
    r.i32()
    out = {}
    for _ in range(r.count()):
        r.cstr()
        for _ in range(r.count()):
            r.i32()
            assert r.i16() == NONE
            r.cstr()
            for _ in range(r.count()):
                pid, epoch = r.i64(), r.i32()
                r.i32(), r.i64(), r.i32(), r.i64()
                r.skip_tags()
                out[pid] = epoch
            r.skip_tags()
        r.skip_tags()
    return out


def api_versions_features(conn, version):
    """ApiVersions v3/v4 -> ({key: (min, max)}, {feature: (min, max)} supported,
    {feature: (min level, max level)} finalized, finalized epoch)."""
    body = cstr("samsa-it") + cstr("1.0") + TAGS
    r = R(conn.request(rk.frame(rk.request_header(18, version, 3, flexible=True) + body)))
    r.i32()  # correlation id (an ApiVersions response header has no tagged fields)
    assert r.i16() == NONE
    apis = {}
    for _ in range(r.count()):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        r.skip_tags()
        apis[k] = (lo, hi)
    r.i32()
    supported, finalized, epoch = {}, {}, -1
    for _ in range(r.uvarint()):
        tag, size = r.uvarint(), r.uvarint()
        field = R(r.take(size))
        if tag == 0:
            for _ in range(field.count()):
                name = field.cstr()
                supported[name] = (field.i16(), field.i16())
                field.skip_tags()
        elif tag == 1:
            epoch = field.i64()
        elif tag == 2:
            for _ in range(field.count()):
                name = field.cstr()
                hi, lo = field.i16(), field.i16()
                finalized[name] = (lo, hi)
                field.skip_tags()
    return apis, supported, finalized, epoch


def find_coordinator(conn, key, key_type):
    """FindCoordinator v1 -> the coordinator's node id, or None (the first call creates the
    internal topic, so callers ask until it answers)."""
    r = R(conn.request(rk.frame(rk.request_header(10, 1, 5) + rk.string(key) + rk.i8(key_type))))
    r.i32(), r.i32()
    if r.i16() != NONE:
        return None
    r.string()
    return r.i32()


def read_committed(bootstrap, topic, partitions, want, bound_s=BOUND_S):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tv2-reader", "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen = []
    deadline = time.monotonic() + bound_s
    try:
        while time.monotonic() < deadline and len(seen) < want:
            for m in c.consume(num_messages=100, timeout=0.3):
                if m.error() is None:
                    seen.append(m.value().decode())
        # Anything past `want` would be records that must not be visible.
        for m in c.consume(num_messages=100, timeout=1.0):
            if m.error() is None:
                seen.append(m.value().decode())
    finally:
        c.close()
    return sorted(seen)


def committed_offset(bootstrap, group, topic, partition):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, partition)], timeout=10)[0].offset
    finally:
        c.close()


def wait_for(what, check, bound_s=BOUND_S):
    deadline = time.monotonic() + bound_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"{what}: not reached within {bound_s} s (last {last!r})")


# ---- tests -------------------------------------------------------------------------------------

def test_a_new_cluster_finalizes_transaction_version_2(broker):
    with rk.Conn(broker.port) as conn:
        # The first transactional request creates __transaction_state; the feature is there before.
        apis, supported, finalized, epoch = api_versions_features(conn, 4)
        assert supported == {"transaction.version": (0, 2)}
        assert finalized.get("transaction.version") == (2, 2)
        assert epoch >= 0
        assert apis[0][1] == 12 and apis[24] == (0, 5) and apis[26] == (0, 5) and apis[28] == (0, 5)
        # v3 leaves out a supported feature whose minimum is 0 (KAFKA-17492); finalized ones stay.
        _, supported3, finalized3, _ = api_versions_features(conn, 3)
        assert supported3 == {}
        assert finalized3.get("transaction.version") == (2, 2)


def test_a_v2_producer_adds_partitions_by_writing_and_bumps_its_epoch_per_transaction(broker):
    topic = unique_topic("tv2")
    create_topic(broker.bootstrap, topic, partitions=2)
    txn, group = "tv2-writer", "tv2-group"
    with rk.Conn(broker.port, timeout=15) as conn:
        err, pid, e = wait_for("InitProducerId", lambda: (lambda r: r if r[0] == NONE else None)(
            init_producer_id(conn, txn)))
        assert pid >= 0 and e == 0

        # No AddPartitionsToTxn: Produce v12 puts both partitions in the transaction.
        assert produce(conn, 12, txn, topic, {0: txn_batch(pid, e, 0, ["c0"]),
                                              1: txn_batch(pid, e, 0, ["c1"])}) == {0: NONE, 1: NONE}
        err, state, dpid, depoch, parts = describe_transaction(conn, txn)
        assert (err, state, dpid, depoch) == (NONE, "Ongoing", pid, e)
        assert parts == {(topic, 0), (topic, 1)}

        # No AddOffsetsToTxn: TxnOffsetCommit v5 puts the group's offsets partition in it.
        wait_for("the group coordinator", lambda: find_coordinator(conn, group, 0) is not None)
        assert txn_offset_commit(conn, 5, txn, group, pid, e, topic, 0, 1) == [NONE]
        _, _, _, _, parts = describe_transaction(conn, txn)
        offsets_parts = {p for p in parts if p[0] == "__consumer_offsets"}
        assert len(offsets_parts) == 1, parts

        # EndTxn v5: the epoch goes up by one, the producer id stays.
        assert end_txn(conn, txn, pid, e, True) == (NONE, pid, e + 1)
        # The markers carry the new epoch: the partitions' producer state moved to it.
        for p in (0, 1):
            assert producer_epochs(conn, topic, p).get(pid) == e + 1
        # A retry of that EndTxn (the old epoch) is answered as done, with the same answer.
        assert end_txn(conn, txn, pid, e, True) == (NONE, pid, e + 1)
        _, state, _, depoch, parts = describe_transaction(conn, txn)
        assert (state, depoch, parts) == ("CompleteCommit", e + 1, set())

        # The old epoch is fenced at the partition (by the marker's epoch), the new one writes.
        assert produce(conn, 12, txn, topic, {0: txn_batch(pid, e, 1, ["late"])})[0] == INVALID_PRODUCER_EPOCH
        assert produce(conn, 12, txn, topic, {0: txn_batch(pid, e + 1, 0, ["aborted"])}) == {0: NONE}
        assert end_txn(conn, txn, pid, e + 1, False) == (NONE, pid, e + 2)
        # Now the first epoch is neither the current one nor a retry.
        assert end_txn(conn, txn, pid, e, True)[0] == PRODUCER_FENCED

    assert read_committed(broker.bootstrap, topic, 2, want=2) == ["c0", "c1"]
    assert committed_offset(broker.bootstrap, group, topic, 0) == 1


def test_a_write_to_a_partition_the_producer_did_not_add_is_refused(broker):
    topic = unique_topic("tv1-verify")
    create_topic(broker.bootstrap, topic, partitions=2)
    txn = "tv1-verified"
    with rk.Conn(broker.port, timeout=15) as conn:
        err, pid, e = wait_for("InitProducerId", lambda: (lambda r: r if r[0] == NONE else None)(
            init_producer_id(conn, txn, version=4)))
        assert add_partitions_v3(conn, txn, pid, e, topic, [0]) == {0: NONE}
        # Partition 1 was not added: v11 knows TRANSACTION_ABORTABLE, v10 gets INVALID_TXN_STATE.
        assert produce(conn, 11, txn, topic, {1: txn_batch(pid, e, 0, ["stray"])}) == {1: TRANSACTION_ABORTABLE}
        assert produce(conn, 10, txn, topic, {1: txn_batch(pid, e, 0, ["stray"])}) == {1: INVALID_TXN_STATE}
        assert pid not in producer_epochs(conn, topic, 1)  # nothing landed
        # The added one is written; a second batch needs no check and is written too.
        assert produce(conn, 11, txn, topic, {0: txn_batch(pid, e, 0, ["kept"])}) == {0: NONE}
        assert produce(conn, 11, txn, topic, {0: txn_batch(pid, e, 1, ["kept2"])}) == {0: NONE}
        # TxnOffsetCommit v4 of a group whose partition was never added (no AddOffsetsToTxn).
        wait_for("the group coordinator", lambda: find_coordinator(conn, "tv1-group", 0) is not None)
        assert txn_offset_commit(conn, 4, txn, "tv1-group", pid, e, topic, 0, 1) == [TRANSACTION_ABORTABLE]
        assert txn_offset_commit(conn, 3, txn, "tv1-group", pid, e, topic, 0, 1) == [INVALID_TXN_STATE]
        # A v1 EndTxn keeps the epoch and answers no producer fields.
        assert end_txn(conn, txn, pid, e, True, version=3) == (NONE, None, None)
        _, state, _, depoch, _ = describe_transaction(conn, txn)
        assert (state, depoch) == ("CompleteCommit", e)
    assert read_committed(broker.bootstrap, topic, 2, want=2) == ["kept", "kept2"]


def test_verification_can_be_turned_off(broker):
    topic = unique_topic("tv1-off")
    create_topic(broker.bootstrap, topic, partitions=1)
    key = "transaction.partition.verification.enable"
    node = str(next(iter(AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10).brokers)))

    def configs(*args):
        r = subprocess.run([str(SAMSA_BIN), "configs", "--bootstrap-server", broker.bootstrap, "--entity-type",
                            "brokers", "--entity-name", node, "--alter", *args], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr

    configs("--add-config", f"{key}=false")
    try:
        with rk.Conn(broker.port, timeout=15) as conn:
            err, pid, e = wait_for("InitProducerId", lambda: (lambda r: r if r[0] == NONE else None)(
                init_producer_id(conn, "tv1-unverified", version=4)))
            # Kafka's behaviour without verification: the write lands although it was never added.
            wait_for("the unverified write", lambda: produce(
                conn, 11, "tv1-unverified", topic, {0: txn_batch(pid, e, 0, ["x"])}) == {0: NONE})
            assert producer_epochs(conn, topic, 0).get(pid) == e
    finally:
        configs("--delete-config", key)


def test_the_brokers_batched_form_verifies_and_adds_several_transactions(broker):
    topic = unique_topic("tv-batched")
    create_topic(broker.bootstrap, topic, partitions=2)
    with rk.Conn(broker.port, timeout=15) as conn:
        _, pa, ea = wait_for("InitProducerId", lambda: (lambda r: r if r[0] == NONE else None)(
            init_producer_id(conn, "batched-a")))
        _, pb, eb = init_producer_id(conn, "batched-b")
        assert add_partitions_v3(conn, "batched-a", pa, ea, topic, [0]) == {0: NONE}
        top, res = add_partitions_batched(conn, 4, [
            ("batched-a", pa, ea, True, {topic: [0, 1]}),
            ("batched-b", pb, eb, True, {topic: [0]}),
        ])
        assert top == NONE
        assert res == {"batched-a": {(topic, 0): NONE, (topic, 1): TRANSACTION_ABORTABLE},
                       "batched-b": {(topic, 0): TRANSACTION_ABORTABLE}}
        # A stale epoch is told so; nothing is added by a verification.
        _, res = add_partitions_batched(conn, 4, [("batched-a", pa, ea + 1, True, {topic: [0]})])
        assert res["batched-a"][(topic, 0)] == PRODUCER_FENCED
        assert describe_transaction(conn, "batched-b")[1] == "Empty"
        # v5 adds (as a v2 producer's leader does); an unknown partition fails its transaction only.
        top, res = add_partitions_batched(conn, 5, [
            ("batched-b", pb, eb, False, {topic: [1]}),
            ("batched-a", pa, ea, False, {topic: [1, 7]}),
        ])
        assert top == NONE
        assert res["batched-b"] == {(topic, 1): NONE}
        assert res["batched-a"] == {(topic, 1): OPERATION_NOT_ATTEMPTED, (topic, 7): UNKNOWN_TOPIC_OR_PARTITION}
        _, state, _, _, parts = describe_transaction(conn, "batched-b")
        assert (state, parts) == ("Ongoing", {(topic, 1)})
        assert describe_transaction(conn, "batched-a")[4] == {(topic, 0)}
        # Its EndTxn v5 then ends it with a bumped epoch (the transaction took version 2).
        assert end_txn(conn, "batched-b", pb, eb, False) == (NONE, pb, eb + 1)


def test_storage_format_feature_picks_the_transaction_version(tmp_path):
    b = Broker(tmp_path / "b")
    fmt = storage_formatter(b, tmp_path)
    bad = fmt("--feature", "transaction.version=3")
    assert bad.returncode != 0 and "No feature:transaction.version with feature level 3" in bad.stderr, bad.stderr
    bad = fmt("--feature", "group.versions=1")
    assert bad.returncode != 0 and "Unsupported feature: group.versions" in bad.stderr, bad.stderr
    ok = fmt("--feature", "transaction.version=1")
    assert ok.returncode == 0, ok.stderr
    b.start()
    try:
        with rk.Conn(b.port) as conn:
            _, supported, finalized, _ = wait_for("the finalized level", lambda: (lambda r: r if r[2] else None)(
                api_versions_features(conn, 4)))
            assert supported == {"transaction.version": (0, 2)}
            assert finalized == {"transaction.version": (1, 1)}

        # kafka-features.sh's commands move it (UpdateFeatures through the controller).
        def features(*args):
            return subprocess.run([str(SAMSA_BIN), "features", "--bootstrap-server", b.bootstrap, *args],
                                  capture_output=True, text=True, timeout=30)

        def finalized_now():
            with rk.Conn(b.port) as conn:
                return api_versions_features(conn, 4)[2].get("transaction.version")

        out = features("describe")
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("Feature: transaction.version\tSupportedMinVersion: 0\tSupportedMaxVersion: 2\t"
                                     "FinalizedVersionLevel: 1\tEpoch: "), out.stdout
        refused = {
            ("upgrade", "--feature", "transaction.version=3"):
                "Could not upgrade transaction.version to 3. Invalid update version 3 for feature transaction.version.",
            ("upgrade", "--feature", "transaction.version=0"):
                "Could not upgrade transaction.version to 0. Can't downgrade the version of this feature without "
                "setting the upgrade type to either safe or unsafe downgrade.",
            ("downgrade", "--feature", "transaction.version=2"):
                "Could not downgrade transaction.version to 2. Can't downgrade to a newer version.",
            ("upgrade", "--feature", "group.version=1"):
                "Could not upgrade group.version to 1. The controller does not support the given feature.",
        }
        for args, said in refused.items():
            r = features(*args)
            assert r.returncode == 1 and r.stdout.startswith(said), (args, r.stdout, r.stderr)
        dry = features("upgrade", "--feature", "transaction.version=2", "--dry-run")
        assert (dry.returncode, dry.stdout) == (0, "transaction.version can be upgraded to 2.\n"), dry.stderr
        assert finalized_now() == (1, 1)
        up = features("upgrade", "--feature", "transaction.version=2")
        assert (up.returncode, up.stdout) == (0, "transaction.version was upgraded to 2.\n"), up.stderr
        wait_for("level 2", lambda: finalized_now() == (2, 2))
        off = features("disable", "--feature", "transaction.version")
        assert (off.returncode, off.stdout) == (0, "transaction.version was disabled.\n"), off.stderr
        wait_for("no finalized level", lambda: finalized_now() is None)
        # The level lives in the metadata log.
        b.restart()
        assert finalized_now() is None
        down = features("upgrade", "--feature", "transaction.version=1")
        assert down.returncode == 0, down.stdout + down.stderr
        wait_for("level 1", lambda: finalized_now() == (1, 1))
    finally:
        b.stop()


def test_a_v2_write_adds_its_partition_at_a_coordinator_on_another_broker(tmp_path):
    from test_replication import Cluster, create_replicated

    c = Cluster(tmp_path)
    for n in c.nodes:
        n.start()
    try:
        topic = "tv2-spread"
        create_replicated(c, topic, partitions=3, min_isr=1)
        # UpdateFeatures sent to a node that is not the active controller is relayed to it.
        other = next(n for n in c.nodes if n.id != c.controller())
        for level in (1, 2):
            verb = "downgrade" if level == 1 else "upgrade"
            r = subprocess.run([str(SAMSA_BIN), "features", "--bootstrap-server", other.bootstrap, verb,
                                "--feature", f"transaction.version={level}"], capture_output=True, text=True, timeout=30)
            assert (r.returncode, r.stdout) == (0, f"transaction.version was {verb}d to {level}.\n"), r.stderr

            def everywhere():
                for n in c.nodes:
                    with rk.Conn(n.port) as conn:
                        if api_versions_features(conn, 4)[2].get("transaction.version") != (level, level):
                            return False
                return True
            wait_for(f"transaction.version {level} on every node", everywhere)
        leaders = {p: c.wait_partition(topic, lambda l, r, i: l > 0, partition=p, what="a leader")[0]
                   for p in range(3)}
        txn = "tv2-remote"
        # The coordinator (the first FindCoordinator creates __transaction_state).
        def find():
            with rk.Conn(c.nodes[0].port, timeout=15) as conn:
                return find_coordinator(conn, txn, 1)
        coordinator = wait_for("the transaction coordinator", find)
        remote = [p for p, leader in leaders.items() if leader != coordinator]
        assert remote, f"every partition is led by the coordinator {coordinator}: {leaders}"
        p = remote[0]
        with rk.Conn(c.node(coordinator).port, timeout=15) as coord:
            _, pid, e = wait_for("InitProducerId", lambda: (lambda r: r if r[0] == NONE else None)(
                init_producer_id(coord, txn)))
            with rk.Conn(c.node(leaders[p]).port, timeout=15) as leader:
                assert produce(leader, 12, txn, topic, {p: txn_batch(pid, e, 0, ["remote"])}) == {p: NONE}
                _, state, _, _, parts = describe_transaction(coord, txn)
                assert (state, parts) == ("Ongoing", {(topic, p)})
                assert end_txn(coord, txn, pid, e, True) == (NONE, pid, e + 1)
                wait_for("the marker at the leader", lambda: producer_epochs(leader, topic, p).get(pid) == e + 1)
        assert read_committed(c.bootstrap, topic, 3, want=1) == ["remote"]
    finally:
        for n in c.nodes:
            n.stop()


def test_golden_bytes_of_add_partitions_v4_and_end_txn_v5(broker):
    from test_new_versions import call as call_raw, hexb
    topic = "tv2-gold"
    create_topic(broker.bootstrap, topic, partitions=1)
    with rk.Conn(broker.port, timeout=15) as conn:
        _, pid, e = wait_for("InitProducerId", lambda: (lambda r: r if r[0] == NONE else None)(
            init_producer_id(conn, "gold")))
        assert e == 0
        body = carray([cstr("gold") + rk.i64(pid) + rk.i16(0) + rk.i8(1)
                       + carray([cstr(topic) + carray([rk.i32(0)]) + TAGS]) + TAGS]) + TAGS
        assert body == hexb("""
            02                          # one transaction
            05 676f6c64                 # transactional id "gold"
            """) + rk.i64(pid) + hexb("""
            0000 01                     # epoch 0, verify_only
            02 09 7476322d676f6c64      # one topic, "tv2-gold"
            02 00000000                 # partition 0
            00 00 00                    # tags: topic, transaction, request""")
        assert call_raw(conn, 24, 4, 11, body) == hexb("""
            00000000 0000               # throttle, top-level error
            02 05 676f6c64              # one transaction result, "gold"
            02 09 7476322d676f6c64      # one topic
            02 00000000 0078            # partition 0: TRANSACTION_ABORTABLE (not in the transaction)
            00 00 00 00                 # tags: partition, topic, transaction, response""")
        # EndTxn v5 of a transaction with nothing in it: INVALID_TXN_STATE, no id or epoch.
        end = cstr("gold") + rk.i64(pid) + rk.i16(0) + rk.i8(1) + TAGS
        assert call_raw(conn, 26, 5, 12, end) == hexb("00000000 0030 ffffffffffffffff ffff 00")
        assert produce(conn, 12, "gold", topic, {0: txn_batch(pid, 0, 0, ["g"])}) == {0: NONE}
        assert call_raw(conn, 26, 5, 13, end) == hexb("00000000 0000") + rk.i64(pid) + hexb("0001 00")
