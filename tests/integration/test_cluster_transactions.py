"""Transactions across brokers (issue 13): a transaction whose partitions are led by different
brokers ends with its markers written at every leader — the coordinator sends WriteTxnMarkers to
the partitions it does not lead. A read_committed consumer then sees exactly the committed records
and reads past an aborted transaction on every partition (its last stable offset moved)."""

import time

from confluent_kafka import Consumer, Producer, TopicPartition

from test_replication import cluster, create_replicated  # noqa: F401 (fixture)

PARTITIONS = 3


def read_committed(bootstrap, topic, want, bound_s=60):
    """Reads every partition from the start with isolation.level=read_committed until `want`
    values were seen or the bound passes; returns {partition: [values]}."""

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "txn-reader", "enable.auto.commit": False,
                  "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    out = {p: [] for p in range(PARTITIONS)}
    deadline = time.monotonic() + bound_s
    try:
        while time.monotonic() < deadline and sum(len(v) for v in out.values()) < want:
            for m in c.consume(num_messages=100, timeout=0.5):
                if m.error() is None:
                    out[m.partition()].append(m.value().decode())
    finally:
        c.close()
    return out


def test_a_transaction_over_partitions_led_by_three_brokers_commits_and_aborts_everywhere(cluster):
    topic = "txn-spread"
    create_replicated(cluster, topic, partitions=PARTITIONS, min_isr=2)
    leaders = {p: cluster.wait_partition(topic, lambda l, r, i: l > 0, partition=p, what="a leader")[0]
               for p in range(PARTITIONS)}
    assert len(set(leaders.values())) >= 2, f"placement put every leader on one broker: {leaders}"

    p = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": "spread-1",
                  "transaction.timeout.ms": 60000})
    p.init_transactions(30)
    p.begin_transaction()
    for part in range(PARTITIONS):
        for k in range(5):
            p.produce(topic, value=f"aborted-{part}-{k}".encode(), partition=part)
    p.abort_transaction(60)
    p.begin_transaction()
    for part in range(PARTITIONS):
        for k in range(5):
            p.produce(topic, value=f"committed-{part}-{k}".encode(), partition=part)
    p.commit_transaction(60)  # times out if a leader never gets its marker
    # A transaction after both: its partitions must not be held by the ones before.
    p.begin_transaction()
    for part in range(PARTITIONS):
        p.produce(topic, value=f"last-{part}".encode(), partition=part)
    p.commit_transaction(60)

    seen = read_committed(cluster.bootstrap, topic, want=PARTITIONS * 6)
    for part in range(PARTITIONS):
        assert seen[part] == [f"committed-{part}-{k}" for k in range(5)] + [f"last-{part}"], \
            f"partition {part} (led by broker {leaders[part]}): {seen[part]}\n{cluster.logs()}"
