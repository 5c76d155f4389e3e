"""Log dirs under failure, seen from clients:

* topic deletion renames `<topic>-<partition>` to `<topic>-<partition>.<uuid>-delete` at once (the
  name can be re-created immediately) and removes it in the background after file.delete.delay.ms;
* a log dir whose I/O fails goes offline (Kafka's JBOD behaviour) while the other dir keeps
  serving. The failure is real: the partition directory is moved away and a regular file put in
  its place, so the broker's next roll cannot create its segment files (ENOTDIR);
* a full disk (ENOSPC, a 2 MiB tmpfs mounted as one log dir; skipped where mount is not
  permitted): Produce fails with KAFKA_STORAGE_ERROR, a consumer reads only whole, acknowledged
  records at dense offsets, and writes resume once space is freed.
"""

import os
import subprocess

import pytest
import rawkafka as rk
from helpers import (Msg, admin_client, assert_delivered, consume_all, create_topic, produce,
                     unique_topic, watermarks)
from test_storage import describe_log_dirs, wait_until

KAFKA_STORAGE_ERROR = 56


@pytest.fixture(scope="module")
def broker_config():
    return 1, {"log.retention.check.interval.ms": "300"}


def raw_produce(broker, topic, partition, value, n=1, acks=-1):
    """One batch of `n` records -> (error_code, base_offset)."""
    batch = rk.record_batch([(f"k{i}".encode(), value) for i in range(n)])
    with rk.Conn(broker.port, timeout=15.0) as c:
        body = c.request(rk.produce_request(7, 11, topic, partition, batch, acks=acks, timeout_ms=10000))
    return rk.parse_produce_partition(body[4:], 7)


def where(dirs, topic, partition):
    """The log dir holding topic-partition."""
    for d in dirs:
        if os.path.isdir(os.path.join(d, f"{topic}-{partition}")):
            return d
    return None


def topic_metadata(broker, topic):
    md = admin_client(broker.bootstrap).list_topics(topic, timeout=10)
    return md.topics[topic]


# ---- topic deletion ---------------------------------------------------------------------------

def test_deleted_topic_is_renamed_then_removed_and_the_name_is_free_at_once(broker):
    topic = unique_topic("del-recreate")
    create_topic(broker.bootstrap, topic, 2, config={"file.delete.delay.ms": "3000"})
    old = [Msg(key=b"k", value=f"old-{i}".encode(), partition=i % 2) for i in range(10)]
    assert_delivered(produce(broker.bootstrap, topic, old), old)
    admin = admin_client(broker.bootstrap)
    admin.delete_topics([topic])[topic].result(timeout=15)
    data = str(broker.log_dirs)

    def renamed():
        names = os.listdir(data)
        live = [n for n in names if n in (f"{topic}-0", f"{topic}-1")]
        deleted = [n for n in names if n.startswith(f"{topic}-") and n.endswith("-delete")]
        return not live and len(deleted) == 2 and deleted

    deleted = wait_until(renamed, timeout=10, step=0.05)
    assert deleted, os.listdir(data)
    for n in deleted:  # <topic>-<partition>.<32 hex digits>-delete
        stem, suffix = n[:-len("-delete")].rsplit(".", 1)
        assert stem in (f"{topic}-0", f"{topic}-1") and len(suffix) == 32, n
        int(suffix, 16)

    # The same name again, at once: a new, empty topic.
    create_topic(broker.bootstrap, topic, 2, config={"file.delete.delay.ms": "3000"})
    assert watermarks(broker.bootstrap, topic, [0, 1]) == {0: (0, 0), 1: (0, 0)}
    new = [Msg(key=b"k", value=f"new-{i}".encode(), partition=i % 2) for i in range(4)]
    assert_delivered(produce(broker.bootstrap, topic, new), new)
    recs = consume_all(broker.bootstrap, topic, [0, 1])
    values = sorted(r.value for rs in recs.values() for r in rs)
    assert values == sorted(m.value for m in new)
    assert any(n.startswith(f"{topic}-") and n.endswith("-delete") for n in os.listdir(data)), \
        "removed before file.delete.delay.ms"

    # Removed in the background after file.delete.delay.ms (and a retention check).
    gone = wait_until(lambda: not any(n.endswith("-delete") and n.startswith(f"{topic}-")
                                      for n in os.listdir(data)), timeout=15)
    assert gone, os.listdir(data)
    assert os.path.isdir(os.path.join(data, f"{topic}-0"))


# ---- a failing log dir ------------------------------------------------------------------------

def test_failed_log_dir_goes_offline_and_the_other_dir_keeps_working(make_broker, tmp_path):
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    b = make_broker(overrides={"log.dirs": f"{dir_a},{dir_b}", "log.retention.check.interval.ms": "300"})
    topic = unique_topic("jbod")
    create_topic(b.bootstrap, topic, 2, config={"segment.bytes": "4096"})
    assert raw_produce(b, topic, 0, b"x" * 100)[0] == 0
    assert raw_produce(b, topic, 1, b"x" * 100)[0] == 0
    dirs = [str(dir_a), str(dir_b)]
    homes = {p: where(dirs, topic, p) for p in (0, 1)}
    assert set(homes.values()) == set(dirs), homes  # one partition per dir
    bad_p = next(p for p in (0, 1) if homes[p] == str(dir_b))
    good_p = 1 - bad_p

    # Break dir b under the broker: its partition directory is replaced by a regular file.
    pdir = dir_b / f"{topic}-{bad_p}"
    os.rename(pdir, dir_b / "moved-away")
    pdir.write_bytes(b"not a directory")

    # Appends go to the open segment until it has to roll: creating the next segment fails.
    errors = []
    for i in range(100):
        err, _ = raw_produce(b, topic, bad_p, b"y" * 500)
        errors.append(err)
        if err != 0:
            break
    assert errors[-1] == KAFKA_STORAGE_ERROR, errors
    assert "is offline after an I/O error" in b.log_tail(20000)
    # From now on every request to that partition fails, the other dir keeps working.
    assert raw_produce(b, topic, bad_p, b"z")[0] == KAFKA_STORAGE_ERROR
    for i in range(20):
        err, off = raw_produce(b, topic, good_p, b"g" * 500)
        assert err == 0, (i, err)
    logdirs = describe_log_dirs(b)
    assert logdirs[str(dir_b)][0] == KAFKA_STORAGE_ERROR
    assert logdirs[str(dir_a)][0] == 0
    assert (topic, good_p) in logdirs[str(dir_a)][1]
    # Metadata: no leader for the offline replica (as Kafka), the other partition is fine.
    t = topic_metadata(b, topic)
    assert t.partitions[bad_p].leader == -1
    assert t.partitions[good_p].leader == 1
    # New partitions only go to the online dir.
    topic2 = unique_topic("jbod-new")
    create_topic(b.bootstrap, topic2, 3)
    for p in range(3):
        assert where(dirs, topic2, p) == str(dir_a), p
        assert raw_produce(b, topic2, p, b"n")[0] == 0
    # The healthy partition is readable end to end.
    recs = consume_all(b.bootstrap, topic, [good_p])
    assert len(recs[good_p]) == 21
    # A clean stop still works; the failed dir gets no clean-shutdown marker.
    assert b.stop() == 0
    assert (dir_a / ".kafka_cleanshutdown").exists()
    assert not (dir_b / ".kafka_cleanshutdown").exists()
    # Repaired by the operator, the dir is back after a restart (recovered as after a crash),
    # with every acknowledged record.
    acked = 1 + errors.count(0)
    pdir.unlink()
    os.rename(dir_b / "moved-away", pdir)
    b.start()
    assert watermarks(b.bootstrap, topic, [bad_p])[bad_p] == (0, acked)
    assert raw_produce(b, topic, bad_p, b"again") == (0, acked)
    assert len(consume_all(b.bootstrap, topic, [bad_p])[bad_p]) == acked + 1


# ---- a full disk -------------------------------------------------------------------------------

@pytest.fixture
def tiny_fs(tmp_path):
    """A 2 MiB tmpfs; skipped where mounting is not permitted."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_fails_produce_then_resumes(make_broker, tmp_path, tiny_fs):
    normal = tmp_path / "normal"
    # Small segments: rolls happen while the disk fills (a roll that cannot write its files
    # is refused like the append). __consumer_offsets (50 partitions, half of them on the
    # tmpfs) is created below while there is space.
    b = make_broker(overrides={"log.dirs": f"{normal},{tiny_fs}"})
    topic = unique_topic("enospc")
    create_topic(b.bootstrap, topic, 2, config={"segment.bytes": str(128 << 10)})
    dirs = [str(normal), str(tiny_fs)]
    for p in (0, 1):
        assert raw_produce(b, topic, p, b"first")[0] == 0
    # The consumers below need __consumer_offsets (created on first use, spread over both dirs):
    # create it while there is space.
    assert watermarks(b.bootstrap, topic, [0, 1]) == {0: (0, 1), 1: (0, 1)}
    consume_all(b.bootstrap, topic, [0, 1])
    homes = {p: where(dirs, topic, p) for p in (0, 1)}
    full_p = next(p for p in (0, 1) if homes[p] == str(tiny_fs))
    other_p = 1 - full_p
    ballast = tiny_fs / "ballast"
    ballast.write_bytes(b"\0" * (512 << 10))

    acked = [(0, 1)]  # (base offset, records) of acknowledged batches: "first" at offset 0
    value = os.urandom(16) * 2048  # 32 KiB
    err = 0
    for i in range(200):
        err, off = raw_produce(b, topic, full_p, value, n=2)
        if err != 0:
            break
        acked.append((off, 2))
    assert err == KAFKA_STORAGE_ERROR, err
    assert len(acked) > 5
    # Still full: refused again; the other dir is unaffected; the full dir stays online.
    assert raw_produce(b, topic, full_p, value, n=2)[0] == KAFKA_STORAGE_ERROR
    assert raw_produce(b, topic, other_p, b"fine")[0] == 0
    assert describe_log_dirs(b)[str(tiny_fs)][0] == 0

    # Only whole, acknowledged records are visible, at dense offsets.
    end = acked[-1][0] + acked[-1][1]
    assert watermarks(b.bootstrap, topic, [full_p])[full_p] == (0, end)
    recs = consume_all(b.bootstrap, topic, [full_p])[full_p]
    assert [r.offset for r in recs] == list(range(end))
    assert all(r.value == value for r in recs[1:])

    # Space is back: writes resume at the next offset.
    ballast.unlink()
    err, off = raw_produce(b, topic, full_p, value, n=2)
    assert (err, off) == (0, end)
    recs = consume_all(b.bootstrap, topic, [full_p])[full_p]
    assert [r.offset for r in recs] == list(range(end + 2))
    # A restart recovers the same log (nothing partial was left behind).
    b.restart()
    assert watermarks(b.bootstrap, topic, [full_p])[full_p] == (0, end + 2)
