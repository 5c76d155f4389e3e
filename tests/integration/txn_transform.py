"""A consume-transform-produce loop with confluent-kafka transactions, run as a process of its
own by test_transactions.py so that it can be killed in the middle of a transaction.

    txn_transform.py BOOTSTRAP IN_TOPIC OUT_TOPIC PARTITIONS GROUP TXN_ID PAUSE_AT

Reads IN_TOPIC (read_committed, partitions assigned by hand, starting at the group's committed
offsets), writes "out:" + value to the same partition of OUT_TOPIC and commits the input offsets
with send_offsets_to_transaction, one transaction per batch. Every third transaction is aborted
and the input re-read from the committed offsets. With PAUSE_AT = n > 0 the n-th transaction is
left open after its records and offsets were sent: the process prints PAUSED and sleeps (to be
killed). Exits 0 once every input partition is at its end and the last batch is committed;
prints "DONE committed=C aborted=A".
"""

import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

BATCH = 1000
ABORT_EVERY = 3


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
        for m in data:
            producer.produce(out_topic, key=m.key(), value=b"out:" + m.value(), partition=m.partition())
        positions = [tp for tp in consumer.position(tps) if tp.offset >= 0]
        producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 60)
        txns += 1
        if txns == pause_at:
            producer.flush(30)
            print("PAUSED", flush=True)
            time.sleep(3600)
        if txns % ABORT_EVERY == 0:
            producer.abort_transaction(60)
            aborted += 1
            # The aborted batch is processed again, from the committed offsets.
            for tp in consumer.committed(tps, timeout=30):
                offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
                consumer.seek(TopicPartition(in_topic, tp.partition, offset))
            at_end.clear()
        else:
            producer.commit_transaction(60)
            committed += 1
    print(f"DONE committed={committed} aborted={aborted}", flush=True)
    consumer.close()


if __name__ == "__main__":
    main()
