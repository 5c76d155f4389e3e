"""A consume-transform-produce loop with confluent-kafka transactions, run as a process of its
own by test_transactions.py so that it can be killed in the middle of a transaction.

    txn_transform.py BOOTSTRAP IN_TOPIC OUT_TOPIC PARTITIONS GROUP TXN_ID PAUSE_AT

Reads IN_TOPIC (read_committed, partitions assigned by hand, starting at the group's committed
offsets), writes "out:" + value to the same partition of OUT_TOPIC and commits the input offsets
with send_offsets_to_transaction, one transaction per batch. Every third transaction is aborted
and the input re-read from the committed offsets. With PAUSE_AT = n > 0 the n-th transaction is
left open after its records and offsets were sent: the process prints PAUSED and sleeps (to be
killed). Exits 0 once every input partition is at its end and the last batch is committed;
prints "COMMITTED n" after each commit and "DONE committed=C aborted=A" at the end.

Errors are handled as an exactly-once application must (librdkafka's transactional API): a
retriable error is retried (bounded), an abortable one aborts the transaction and rewinds the
input to the committed offsets, a fatal one ends the process. So the loop survives the loss of the
broker that coordinates its transaction or its group (test_cluster_transactions.py).
"""

import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

BATCH = 1000
ABORT_EVERY = 3
RETRIES = 20  # of one transactional call that fails with a retriable error


class Abortable(Exception):
    """The transaction must be aborted (and the input re-read from the committed offsets)."""


def retried(call):
    """Runs a transactional call, retrying retriable errors; Abortable when it asks for an abort."""
    for attempt in range(RETRIES):
        try:
            return call()
        except KafkaException as e:
            err = e.args[0]
            if err.txn_requires_abort():
                raise Abortable(str(err)) from e
            if not err.retriable() or attempt + 1 == RETRIES:
                raise
            print(f"retrying after {err}", file=sys.stderr, flush=True)
            time.sleep(0.5)
    raise AssertionError("unreachable")


def rewind(consumer, in_topic, tps):
    """Seeks every input partition back to the group's committed offset (bounded retries)."""
    committed = retried(lambda: consumer.committed(tps, timeout=30))
    for tp in committed:
        offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
        consumer.seek(TopicPartition(in_topic, tp.partition, offset))


def produce_one(producer, out_topic, m):
    """Queues one output record, serving delivery reports while the local queue is full."""
    for _ in range(RETRIES * 10):
        try:
            producer.produce(out_topic, key=m.key(), value=b"out:" + m.value(), partition=m.partition())
            return
        except BufferError:
            producer.poll(0.1)
    raise SystemExit("the producer's queue stayed full")


def main():
    bootstrap, in_topic, out_topic, partitions, group, txn_id, pause_at = sys.argv[1:8]
    partitions, pause_at = int(partitions), int(pause_at)
    common = {"bootstrap.servers": bootstrap, "broker.address.family": "v4", "socket.timeout.ms": 10000}
    consumer = Consumer({**common, "group.id": group, "enable.auto.commit": False,
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.partition.eof": True, "fetch.wait.max.ms": 50})
    producer = Producer({**common, "transactional.id": txn_id, "transaction.timeout.ms": 60000,
                         "linger.ms": 5})
    producer.init_transactions(60)
    tps = [TopicPartition(in_topic, p) for p in range(partitions)]
    consumer.assign(tps)
    txns = committed = aborted = 0
    at_end = set()
    while True:
        msgs = consumer.consume(BATCH, timeout=1.0)
        data = []
        for m in msgs:
            err = m.error()
            if err is None:
                data.append(m)
                at_end.discard(m.partition())
            elif err.code() == KafkaError._PARTITION_EOF:
                at_end.add(m.partition())
            elif not err.retriable() and err.fatal():
                raise SystemExit(f"consumer error: {err}")
        if not data:
            if len(at_end) == partitions:
                break
            continue
        producer.begin_transaction()
        try:
            for m in data:
                produce_one(producer, out_topic, m)
            positions = [tp for tp in consumer.position(tps) if tp.offset >= 0]
            retried(lambda: producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 60))
            txns += 1
            if txns == pause_at:
                producer.flush(30)
                print("PAUSED", flush=True)
                time.sleep(3600)
            if txns % ABORT_EVERY == 0:
                raise Abortable("every third transaction is aborted on purpose")
            retried(lambda: producer.commit_transaction(60))
            committed += 1
            print(f"COMMITTED {committed}", flush=True)
        except Abortable as why:
            retried(lambda: producer.abort_transaction(60))
            aborted += 1
            if "on purpose" not in str(why):
                print(f"aborted: {why}", file=sys.stderr, flush=True)
            # The aborted batch is processed again, from the committed offsets.
            rewind(consumer, in_topic, tps)
            at_end.clear()
    print(f"DONE committed={committed} aborted={aborted}", flush=True)
    consumer.close()


if __name__ == "__main__":
    main()
